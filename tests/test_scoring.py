from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from urlink.errors import InputError
from urlink.registry import RegistrationError
from urlink.scoring import (
    SCORING_METHODS,
    STAKEHOLDER_GROUPS,
    ahp_from_csv,
    ahp_weights,
    normalise,
    pooled_weights,
    rank,
    register_method,
    robustness,
    sample_weights,
    score,
    smaa,
    topsis,
    weighted_sum,
    weights_from_points,
    weights_template,
)

# Hand-worked 3 x 3 case. Columns chosen so that the vector norms are whole numbers:
#   access_pct (max): 60, 90, 20  -> sqrt(3600 + 8100 + 400) = 110
#   co2_kt     (min):  4,  1,  8  -> sqrt(16 + 1 + 64)       = 9
#   cost_myuan (min):  2,  6,  3  -> sqrt(4 + 36 + 9)        = 7
TABLE = pd.DataFrame(
    {"access_pct": [60.0, 90.0, 20.0], "co2_kt": [4.0, 1.0, 8.0], "cost_myuan": [2.0, 6.0, 3.0]},
    index=pd.Index(["bus", "rail", "road"], name="strategy"),
)
DIRECTIONS = {"access_pct": "max", "co2_kt": "min", "cost_myuan": "min"}
WEIGHTS = pd.Series({"access_pct": 0.5, "co2_kt": 0.3, "cost_myuan": 0.2})


# ------------------------------------------------------------------------ normalise


def test_minmax_normalisation_directions():
    got = normalise(TABLE, DIRECTIONS)
    # access (max): (x - 20) / (90 - 20); co2 (min): (8 - x) / (8 - 1); cost (min): (6 - x) / 4
    expected = pd.DataFrame(
        {
            "access_pct": [40 / 70, 1.0, 0.0],
            "co2_kt": [4 / 7, 1.0, 0.0],
            "cost_myuan": [1.0, 0.0, 3 / 4],
        },
        index=TABLE.index,
    )
    pd.testing.assert_frame_equal(got, expected)
    flipped = normalise(TABLE, {**DIRECTIONS, "access_pct": "min"})
    assert flipped["access_pct"].tolist() == pytest.approx([30 / 70, 0.0, 1.0])


def test_minmax_constant_column_is_one():
    table = TABLE.assign(co2_kt=5.0)
    assert normalise(table, DIRECTIONS)["co2_kt"].tolist() == [1.0, 1.0, 1.0]


def test_vector_normalisation_ignores_direction():
    got = normalise(TABLE, DIRECTIONS, method="vector")
    assert got["access_pct"].tolist() == pytest.approx([6 / 11, 9 / 11, 2 / 11])
    assert got["co2_kt"].tolist() == pytest.approx([4 / 9, 1 / 9, 8 / 9])
    assert got["cost_myuan"].tolist() == pytest.approx([2 / 7, 6 / 7, 3 / 7])
    zero = normalise(TABLE.assign(co2_kt=0.0), DIRECTIONS, method="vector")
    assert zero["co2_kt"].tolist() == [0.0, 0.0, 0.0]


def test_normalise_rejects_unknown_method():
    with pytest.raises(InputError, match=r"method='zscore'.*'minmax', 'vector'"):
        normalise(TABLE, DIRECTIONS, method="zscore")  # type: ignore[arg-type]


# -------------------------------------------------------------------------- methods


def test_weighted_sum_by_hand():
    # bus  = 0.5 * 4/7 + 0.3 * 4/7 + 0.2 * 1   = 3.2/7 + 0.2 = 0.657142...
    # rail = 0.5 * 1   + 0.3 * 1   + 0.2 * 0   = 0.8
    # road = 0.5 * 0   + 0.3 * 0   + 0.2 * 3/4 = 0.15
    got = weighted_sum(TABLE, WEIGHTS, DIRECTIONS)
    assert got.tolist() == pytest.approx([3.2 / 7 + 0.2, 0.8, 0.15])
    assert got.name == "weighted_sum"
    assert rank(got).to_dict() == {"rail": 1, "bus": 2, "road": 3}


def test_topsis_by_hand():
    # v = w * r:
    #   access: 0.5 * (6, 9, 2)/11 -> ideal (max) 4.5/11, anti 1/11
    #   co2:    0.3 * (4, 1, 8)/9  -> ideal (min) 0.3/9,  anti 2.4/9
    #   cost:   0.2 * (2, 6, 3)/7  -> ideal (min) 0.4/7,  anti 1.2/7
    s_plus = {
        "bus": math.sqrt((1.5 / 11) ** 2 + (0.9 / 9) ** 2 + 0.0),  # 0.16910
        "rail": math.sqrt(0.0 + 0.0 + (0.8 / 7) ** 2),  # 0.11429
        "road": math.sqrt((3.5 / 11) ** 2 + (2.1 / 9) ** 2 + (0.2 / 7) ** 2),  # 0.39560
    }
    s_minus = {
        "bus": math.sqrt((2 / 11) ** 2 + (1.2 / 9) ** 2 + (0.8 / 7) ** 2),  # 0.25278
        "rail": math.sqrt((3.5 / 11) ** 2 + (2.1 / 9) ** 2 + 0.0),  # 0.39457
        "road": math.sqrt(0.0 + 0.0 + (0.6 / 7) ** 2),  # 0.08571
    }
    expected = [s_minus[k] / (s_plus[k] + s_minus[k]) for k in ("bus", "rail", "road")]
    got = topsis(TABLE, WEIGHTS, DIRECTIONS)
    assert got.tolist() == pytest.approx(expected, abs=1e-12)
    assert got.tolist() == pytest.approx([0.59917, 0.77541, 0.17808], abs=1e-5)
    assert score(TABLE, WEIGHTS, DIRECTIONS, method="topsis").equals(got)


def test_topsis_all_constant_is_one():
    table = pd.DataFrame({"a": [2.0, 2.0], "b": [1.0, 1.0]}, index=["x", "y"])
    got = topsis(table, pd.Series({"a": 0.5, "b": 0.5}), {"a": "max", "b": "min"})
    assert got.tolist() == [1.0, 1.0]


def test_weights_are_divided_by_their_sum():
    points = WEIGHTS * 100  # 50 / 30 / 20 points
    for method in ("weighted_sum", "topsis"):
        a = score(TABLE, points, DIRECTIONS, method=method)
        b = score(TABLE, WEIGHTS, DIRECTIONS, method=method)
        pd.testing.assert_series_equal(a, b)


def test_rank_ties_share_min_rank_in_input_order():
    got = rank(pd.Series({"a": 0.5, "b": 0.8, "c": 0.5, "d": 0.1}))
    assert list(got.items()) == [("b", 1), ("a", 2), ("c", 2), ("d", 4)]
    # mirror-image strategies with equal weights tie exactly, also after float noise
    table = pd.DataFrame({"x": [1.0, 0.0, 0.5], "y": [0.0, 1.0, 0.5]}, index=["p", "q", "r"])
    scores = weighted_sum(table, pd.Series({"x": 0.1, "y": 0.1}), {"x": "max", "y": "max"})
    assert rank(scores).to_dict() == {"p": 1, "q": 1, "r": 1}
    assert rank(pd.Series({"u": 0.3, "v": 0.1 + 0.2})).to_dict() == {"u": 1, "v": 1}


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda t: t.assign(co2_kt=[4.0, math.nan, 8.0]), r"strategy 'rail' / indicator 'co2_kt'"),
        (lambda t: t.assign(co2_kt=["4", "1", "8"]), r"\['co2_kt'\] are not numeric"),
        (lambda t: t.rename(index={"road": "bus"}), r"duplicate strategy names.*\['bus'\]"),
    ],
)
def test_bad_tables_are_named(change, match):
    with pytest.raises(InputError, match=match):
        weighted_sum(change(TABLE), WEIGHTS, DIRECTIONS)


def test_bad_directions_and_weights_are_named():
    with pytest.raises(InputError, match=r"no entry for indicator\(s\) \['cost_myuan'\]"):
        score(TABLE, WEIGHTS, {"access_pct": "max", "co2_kt": "min"})
    with pytest.raises(InputError, match=r"'co2_kt': 'less'.*'max', 'min'"):
        score(TABLE, WEIGHTS, {**DIRECTIONS, "co2_kt": "less"})
    with pytest.raises(InputError, match=r"weights are all zero"):
        score(TABLE, WEIGHTS * 0, DIRECTIONS)
    with pytest.raises(InputError, match=r"'co2_kt' = -0.3"):
        score(TABLE, WEIGHTS.mul([1, -1, 1]), DIRECTIONS)
    with pytest.raises(InputError, match=r"missing \['cost_myuan'\], unknown \['jobs'\]"):
        score(TABLE, WEIGHTS.rename({"cost_myuan": "jobs"}), DIRECTIONS)
    with pytest.raises(InputError, match=r"method='electre'.*\['topsis', 'weighted_sum'\]"):
        score(TABLE, WEIGHTS, DIRECTIONS, method="electre")


def test_registry_and_duplicate_names():
    assert {"weighted_sum", "topsis"} <= set(SCORING_METHODS)
    with pytest.raises(RegistrationError, match=r"'topsis' is already registered"):
        register_method("topsis")(topsis)


def test_custom_method_without_batch_runs_in_smaa(monkeypatch):
    # A plug-in without a vectorised form: smaa scores it one sample at a time, and since
    # it is the weighted sum in disguise the result must equal the batch weighted sum.
    def plain(table, weights, directions):
        return weighted_sum(table, weights, directions)

    register_method("plain")(plain)
    try:
        assert score(TABLE, WEIGHTS, DIRECTIONS, method="plain").name == "plain"
        slow = smaa(TABLE, DIRECTIONS, method="plain", n_samples=300, seed=3)
        fast = smaa(TABLE, DIRECTIONS, method="weighted_sum", n_samples=300, seed=3)
    finally:
        SCORING_METHODS.unregister("plain")
    pd.testing.assert_frame_equal(slow.acceptability, fast.acceptability)
    pd.testing.assert_frame_equal(slow.central_weights, fast.central_weights)


# ------------------------------------------------------------------------------ AHP

NAMES = ["access", "co2", "cost"]


def test_ahp_textbook_3x3():
    # The classic 3 x 3 example of Saaty-style AHP teaching material (weights
    # 0.637 / 0.258 / 0.105, CR 0.033), re-derived by hand here. For n = 3 the principal
    # eigenvector equals the normalised row geometric means:
    #   (1*3*5)^(1/3) = 2.4662, (1/3*1*3)^(1/3) = 1, (1/5*1/3*1)^(1/3) = 0.4055
    # lambda_max = sum over columns of (column sum x weight):
    #   (1 + 1/3 + 1/5) w1 + (3 + 1 + 1/3) w2 + (5 + 3 + 1) w3 = 3.0385
    # CI = (3.0385 - 3) / 2 = 0.0193; CR = CI / 0.58 = 0.0332
    m = pd.DataFrame([[1, 3, 5], [1 / 3, 1, 3], [1 / 5, 1 / 3, 1]], index=NAMES, columns=NAMES)
    g = np.array([15 ** (1 / 3), 1.0, (1 / 15) ** (1 / 3)])
    w_hand = g / g.sum()
    lam = (1 + 1 / 3 + 1 / 5) * w_hand[0] + (3 + 1 + 1 / 3) * w_hand[1] + 9 * w_hand[2]
    cr_hand = (lam - 3) / 2 / 0.58
    w, cr = ahp_weights(m, group="district_bureau")
    assert w.tolist() == pytest.approx(w_hand, abs=1e-9)
    assert w.round(3).tolist() == [0.637, 0.258, 0.105]
    assert cr == pytest.approx(cr_hand, abs=1e-9)
    assert round(cr, 3) == 0.033
    assert w.name == "district_bureau"


def test_ahp_consistent_matrix_recovers_weights():
    # a_ij = w_i / w_j exactly -> the eigenvector is w and lambda_max = n, CR = 0
    w_true = np.array([0.4, 0.3, 0.2, 0.1])
    labels = ["a", "b", "c", "d"]
    m = pd.DataFrame(w_true[:, None] / w_true[None, :], index=labels, columns=labels)
    w, cr = ahp_weights(m.loc[:, ["d", "c", "b", "a"]], group="g")  # column order is free
    assert w.tolist() == pytest.approx(w_true.tolist(), abs=1e-12)
    assert cr == pytest.approx(0.0, abs=1e-12)
    two = pd.DataFrame([[1, 3], [1 / 3, 1]], index=["x", "y"], columns=["x", "y"])
    w2, cr2 = ahp_weights(two, group="g")
    assert w2.tolist() == pytest.approx([0.75, 0.25]) and cr2 == 0.0


def test_ahp_inconsistent_rejected_naming_group_and_cr():
    # a cycle: access > co2 > cost > access, each "very strong"
    m = pd.DataFrame([[1, 9, 1 / 9], [1 / 9, 1, 9], [9, 1 / 9, 1]], index=NAMES, columns=NAMES)
    with pytest.raises(InputError, match=r"group 'farmers_coop'.*CR = \d+\.\d{3} > 0.10"):
        ahp_weights(m, group="farmers_coop")


def test_ahp_matrix_checks_name_the_cell():
    good = [[1, 3, 5], [1 / 3, 1, 3], [1 / 5, 1 / 3, 1]]
    m = pd.DataFrame(good, index=NAMES, columns=NAMES)
    m.loc["cost", "access"] = 1 / 4
    with pytest.raises(InputError, match=r"cell \('access', 'cost'\) = 5 and cell \('cost', "):
        ahp_weights(m, group="residents")
    m = pd.DataFrame(good, index=NAMES, columns=NAMES)
    m.loc["co2", "co2"] = 2
    with pytest.raises(InputError, match=r"cell \('co2', 'co2'\).*diagonal must be 1"):
        ahp_weights(m, group="residents")
    m = pd.DataFrame(good, index=NAMES, columns=NAMES)
    m.loc["co2", "access"] = -1 / 3
    with pytest.raises(InputError, match=r"cell \('co2', 'access'\).*not a positive number"):
        ahp_weights(m, group="residents")
    with pytest.raises(InputError, match=r"shape \(3, 2\).*square"):
        ahp_weights(pd.DataFrame(good, index=NAMES, columns=NAMES).iloc[:, :2], group="r")
    with pytest.raises(InputError, match=r"labels .* differ"):
        ahp_weights(pd.DataFrame(good, index=NAMES, columns=["a", "co2", "cost"]), group="r")


def test_ahp_from_csv_fills_reciprocals(tmp_path: Path):
    path = tmp_path / "ahp.csv"
    path.write_text(
        "group,row,col,value\n"
        "residents,access,co2,3\n"
        "residents,cost,access,1/5\n"  # lower triangle and a fraction: access = 5 x cost
        "residents,co2,cost,3\n"
        "enterprises,access,co2,1\n"
        "enterprises,access,cost,1\n"
        "enterprises,co2,cost,1\n",
        encoding="utf-8",
    )
    got = ahp_from_csv(path, indicators=NAMES)
    assert list(got) == ["residents", "enterprises"]
    assert got["residents"].round(3).tolist() == [0.637, 0.258, 0.105]
    assert round(got["residents"].attrs["consistency_ratio"], 3) == 0.033
    assert got["enterprises"].tolist() == pytest.approx([1 / 3] * 3)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("g,access,co2,3\ng,access,cost,5\n", r"group 'g' has no comparison.*\('co2', 'cost'\)"),
        ("g,access,co2,3\ng,co2,access,1/3\ng,access,cost,5\ng,co2,cost,3\n", "given twice"),
        (
            "g,access,co2,x\n",
            r"line 2 \(group 'g', row 'access', col 'co2'\), column 'value'.*\{2: 'x'\}",
        ),
        (
            "g,access,co2,12\n",
            r"ahp.csv', line 2 .*must be .* <= 9; bad rows .*\{2: '12'\}; use Saaty",
        ),
        (
            "g,access,co2,1/0\n",
            r"\(Saaty scale\) must be a finite number or fraction.*\{2: '1/0'\}",
        ),
        ("g,access,jobs,3\n", r"unknown indicator\(s\) \['jobs'\]"),
        ("g,access,co2,9\ng,co2,cost,9\ng,cost,access,9\n", r"ahp.csv: group 'g'.*CR ="),
    ],
)
def test_ahp_from_csv_errors(tmp_path: Path, body: str, match: str):
    path = tmp_path / "ahp.csv"
    path.write_text("group,row,col,value\n" + body, encoding="utf-8")
    with pytest.raises(InputError, match=match):
        ahp_from_csv(path, indicators=NAMES)


# -------------------------------------------------------------------- points forms


def fill(path: Path, points: dict[str, dict[str, str]]) -> None:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["points"] = points[row["group"]][row["indicator"]]
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_points_template_round_trip(tmp_path: Path):
    path = weights_template(
        list(TABLE.columns), ["district_bureau", "residents"], tmp_path / "p.csv"
    )
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "group,label,indicator,points"
    assert lines[1] == f"district_bureau,{STAKEHOLDER_GROUPS['district_bureau']},access_pct,"
    assert len(lines) == 1 + 2 * 3
    with pytest.raises(
        InputError, match=r"column 'points' \(points\) must be a finite .*\{2: '', 3: ''"
    ):
        weights_from_points(path)  # not filled in yet
    fill(
        path,
        {
            "district_bureau": {"access_pct": "50", "co2_kt": "30", "cost_myuan": "20"},
            "residents": {"access_pct": "70", "co2_kt": "30", "cost_myuan": "0"},
        },
    )
    got = weights_from_points(path, indicators=list(TABLE.columns))
    expected = pd.DataFrame(
        [[0.5, 0.3, 0.2], [0.7, 0.3, 0.0]],
        index=pd.Index(["district_bureau", "residents"], name="group"),
        columns=pd.Index(list(TABLE.columns), name="indicator"),
    )
    pd.testing.assert_frame_equal(got, expected)
    with pytest.raises(InputError, match="already exists"):
        weights_template(["a"], ["residents"], path)
    # pooled = mean of the two rows, as a summary
    assert pooled_weights(got).tolist() == pytest.approx([0.6, 0.3, 0.1])


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        (
            ["g,access,60", "g,co2,30", "g,cost,20"],
            r"p.csv: the points of group 'g' add up to 110, not 100",
        ),
        (
            ["g,access,60", "g,co2,-10", "g,cost,50"],
            r"p.csv', line 3 \(group 'g', indicator 'co2'\), column 'points'.*\{3: '-10'\}",
        ),
        (
            ["g,access,sixty", "g,co2,20", "g,cost,20"],
            r"line 2 \(group 'g', indicator 'access'\), column 'points'.*\{2: 'sixty'\}",
        ),
        (
            ["g,access,200", "g,co2,-100", "g,cost,0"],
            r"must be a finite number >= 0 and <= 100; .*\{2: '200', 3: '-100'\}; give each",
        ),
        (
            ["g,access,60", "g,co2,40", "g,jobs,0"],
            r"unknown indicator\(s\) \['jobs'\]; the valid .* \['access', 'co2', 'cost'\]",
        ),
        (["g,access,60", "g,co2,40"], r"group 'g' has no row for indicator\(s\) \['cost'\]"),
        (["g,access,60", "g,access,40", "g,cost,0"], r"repeated.*\('g', 'access'\)"),
    ],
)
def test_points_errors_name_file_group_and_fix(tmp_path: Path, rows: list[str], match: str):
    path = tmp_path / "p.csv"
    path.write_text("group,indicator,points\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=match):
        weights_from_points(path, indicators=NAMES)


def test_points_bad_header_and_encoding(tmp_path: Path):
    path = tmp_path / "p.csv"
    path.write_text("group,criterion,points\ng,access,100\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"missing columns \['indicator'\].*\['criterion'\]"):
        weights_from_points(path)
    path.write_bytes("group,label,indicator,points\ng,居民,access,100\n".encode("gbk"))
    with pytest.raises(InputError, match="not UTF-8"):
        weights_from_points(path)


def test_pooled_weights_rejects_unknown_how():
    with pytest.raises(InputError, match=r"how='median'"):
        pooled_weights(pd.DataFrame({"a": [1.0]}), how="median")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- SMAA


@pytest.mark.parametrize("method", ["weighted_sum", "topsis"])
def test_smaa_acceptabilities_are_shares(method: str):
    res = smaa(TABLE, DIRECTIONS, method=method, n_samples=3_000, seed=1)
    assert list(res.acceptability.columns) == [1, 2, 3]
    assert res.acceptability.sum(axis=1).tolist() == pytest.approx([1.0] * 3)
    assert res.acceptability.sum(axis=0).tolist() == pytest.approx([1.0] * 3)
    pd.testing.assert_series_equal(
        res.first_rank, res.acceptability[1].rename("first_rank"), check_names=True
    )
    # road is never best on any indicator except cost (where bus is better): never first
    assert res.first_rank["road"] == 0.0
    assert res.central_weights.loc["road"].isna().all()
    assert math.isnan(res.confidence["road"])
    assert res.central_weights.loc[["bus", "rail"]].sum(axis=1).tolist() == pytest.approx([1, 1])
    assert (res.n_samples, res.seed, res.method) == (3_000, 1, method)


@pytest.mark.parametrize("method", ["weighted_sum", "topsis"])
def test_smaa_dominating_alternative_is_always_first(method: str):
    table = TABLE.copy()
    table.loc["green"] = [95.0, 0.5, 1.0]  # best on every indicator
    res = smaa(table, DIRECTIONS, method=method, n_samples=2_000)
    assert res.first_rank["green"] == 1.0
    assert res.acceptability.loc["green", 1] == 1.0
    assert res.confidence["green"] == 1.0


def test_smaa_two_mirror_strategies_by_hand():
    # p = (1, 0), q = (0, 1) after normalisation; p wins iff w1 > w2. With w1 ~ U(0, 1)
    # (Dirichlet(1, 1)) P = 1/2 and the central weight of p is E[w | w1 > 1/2] = (3/4, 1/4).
    table = pd.DataFrame({"x": [1.0, 0.0], "y": [0.0, 1.0]}, index=["p", "q"])
    res = smaa(table, {"x": "max", "y": "max"}, n_samples=10_000, seed=7)
    assert res.first_rank["p"] == pytest.approx(0.5, abs=0.015)  # 3 standard errors
    assert res.central_weights.loc["p"].tolist() == pytest.approx([0.75, 0.25], abs=0.01)
    assert res.central_weights.loc["q"].tolist() == pytest.approx([0.25, 0.75], abs=0.01)


def test_smaa_ties_go_to_the_earlier_strategy():
    table = pd.DataFrame({"x": [1.0, 1.0, 0.0]}, index=["first", "twin", "last"])
    res = smaa(table, {"x": "max"}, n_samples=100)
    assert res.acceptability.to_numpy().tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]


def test_smaa_is_seeded():
    a = smaa(TABLE, DIRECTIONS, method="topsis", n_samples=5_000, seed=42)
    b = smaa(TABLE, DIRECTIONS, method="topsis", n_samples=5_000, seed=42)
    c = smaa(TABLE, DIRECTIONS, method="topsis", n_samples=5_000, seed=43)
    pd.testing.assert_frame_equal(a.acceptability, b.acceptability)
    pd.testing.assert_frame_equal(a.central_weights, b.central_weights)
    assert not a.acceptability.equals(c.acceptability)


def test_around_sampling_centres_on_the_given_weights():
    around = pd.Series({"access_pct": 50.0, "co2_kt": 30.0, "cost_myuan": 20.0})  # points
    w = sample_weights(list(TABLE.columns), n_samples=5_000, seed=0, around=around)
    assert w.sum(axis=1).to_numpy() == pytest.approx(np.ones(5_000))
    # mean of Dirichlet(c * a) is a; sd of w_1 = sqrt(0.5 * 0.5 / 51) = 0.07, so the mean
    # of 5,000 samples is within 0.005 of 0.5 with room to spare
    assert w.mean().tolist() == pytest.approx([0.5, 0.3, 0.2], abs=0.005)
    assert w["access_pct"].std() == pytest.approx(math.sqrt(0.25 / 51), rel=0.05)
    # a very tight distribution reproduces the deterministic ranking (rail first)
    res = smaa(TABLE, DIRECTIONS, around=WEIGHTS, concentration=1e5, n_samples=1_000)
    assert res.first_rank.to_dict() == {"bus": 0.0, "rail": 1.0, "road": 0.0}
    # an indicator with zero weight is never sampled
    zero = sample_weights(list(TABLE.columns), n_samples=100, around=WEIGHTS.mul([1, 1, 0]))
    assert (zero["cost_myuan"] == 0).all()


def test_smaa_uses_the_same_samples_as_sample_weights_and_a_slow_loop(monkeypatch):
    # 6 random strategies x 4 indicators; the vectorised TOPSIS-SMAA must equal a plain
    # per-sample loop over topsis() with the same weight samples and the same tie rule.
    # Chunks of 150 samples so that 400 samples span three chunks (one partial).
    monkeypatch.setattr(robustness, "_CHUNK", 150)
    rng = np.random.default_rng(11)
    cols = ["a", "b", "c", "d"]
    table = pd.DataFrame(
        rng.uniform(1, 10, (6, 4)), index=[f"s{i}" for i in range(6)], columns=cols
    )
    directions = {"a": "max", "b": "min", "c": "max", "d": "min"}
    n = 400
    for method in ("topsis", "weighted_sum"):
        res = smaa(table, directions, method=method, n_samples=n, seed=5)
        w = sample_weights(cols, n_samples=n, seed=5).to_numpy()
        counts = np.zeros((6, 6))
        sums = np.zeros((6, 4))
        for wk in w:
            s = score(table, pd.Series(wk, index=cols), directions, method=method).to_numpy()
            order = sorted(range(6), key=lambda i: (-round(s[i], 12), i))
            for r, i in enumerate(order):
                counts[i, r] += 1
            sums[order[0]] += wk
        np.testing.assert_array_equal(res.acceptability.to_numpy(), counts / n)
        first = counts[:, 0]
        central = np.divide(
            sums, first[:, None], out=np.full_like(sums, np.nan), where=first[:, None] > 0
        )
        np.testing.assert_allclose(res.central_weights.to_numpy(), central, rtol=1e-12)


def test_smaa_argument_errors():
    with pytest.raises(InputError, match=r"n_samples=0 must be an integer >= 1"):
        smaa(TABLE, DIRECTIONS, n_samples=0)
    with pytest.raises(InputError, match=r"concentration=-1.0"):
        smaa(TABLE, DIRECTIONS, around=WEIGHTS, concentration=-1.0)
    with pytest.raises(InputError, match=r"around does not match.*unknown \['jobs'\]"):
        smaa(TABLE, DIRECTIONS, around=WEIGHTS.rename({"cost_myuan": "jobs"}))
    with pytest.raises(InputError, match=r"method='electre'"):
        smaa(TABLE, DIRECTIONS, method="electre")


# ---------------------------------------------------------------------------------------------
# interval normalisation (issue #15, part 5)
#
# Hand-worked: baseline (100, 100); A raises x1 (max) to 110; B lowers x2 (min) to 95.
# References: the baseline ± 10 %: x1 [90, 110], x2 [110, 90]. Interval values r:
#   baseline (0.5, 0.5), A (1.0, 0.5), B (0.5, 0.75)
# Weighted sum with weights (w, 1 - w): S_A - S_base = 0.5 w, S_B - S_base = 0.25 (1 - w);
# A is first iff 0.5 w > 0.25 (1 - w), i.e. w > 1/3: P(first) = 2/3 with uniform weights.
# A's effect five times smaller (x1 = 102, r = 0.6): S_A - S_base = 0.1 w, and A is first
# iff 0.1 w > 0.25 (1 - w), i.e. w > 5/7: P(first) = 2/7.
# Min-max maps A's x1 to 1 (and the others to 0) in both cases: S_A = w, S_B = 1 - w,
# P(first) = 1/2 both times.
SMALL = {"x1": "max", "x2": "min"}
REFS = {"x1": (90.0, 110.0), "x2": (110.0, 90.0)}


def _three(a_x1: float) -> pd.DataFrame:
    return pd.DataFrame(
        {"x1": [100.0, a_x1, 100.0], "x2": [100.0, 100.0, 95.0]}, index=["baseline", "A", "B"]
    )


def test_interval_scores_scale_with_the_effect_and_minmax_does_not():
    w = pd.Series({"x1": 0.5, "x2": 0.5})
    big = weighted_sum(_three(110.0), w, SMALL, references=REFS)
    small = weighted_sum(_three(102.0), w, SMALL, references=REFS)
    assert big.tolist() == pytest.approx([0.5, 0.75, 0.625])
    assert small.tolist() == pytest.approx([0.5, 0.55, 0.625])
    assert (small["A"] - small["baseline"]) == pytest.approx((big["A"] - big["baseline"]) / 5)
    mm_big = weighted_sum(_three(110.0), w, SMALL)
    mm_small = weighted_sum(_three(102.0), w, SMALL)
    pd.testing.assert_series_equal(mm_big, mm_small)


def test_interval_smaa_first_rank_follows_the_effect_size():
    n = 20_000
    big = smaa(_three(110.0), SMALL, references=REFS, n_samples=n).first_rank
    small = smaa(_three(102.0), SMALL, references=REFS, n_samples=n).first_rank
    assert big["A"] == pytest.approx(2 / 3, abs=0.015)
    assert small["A"] == pytest.approx(2 / 7, abs=0.015)
    assert small["B"] == pytest.approx(5 / 7, abs=0.015)
    mm_big = smaa(_three(110.0), SMALL, n_samples=n).first_rank
    mm_small = smaa(_three(102.0), SMALL, n_samples=n).first_rank
    assert mm_big["A"] == pytest.approx(0.5, abs=0.015)
    pd.testing.assert_series_equal(mm_big, mm_small)


def test_interval_topsis_has_fixed_ideal_and_anti_ideal():
    w = pd.Series({"x1": 0.5, "x2": 0.5})
    c = topsis(_three(110.0), w, SMALL, references=REFS)
    # A: r = (1, 0.5): S+ = 0.5 * 0.5 = 0.25, S- = 0.5 * sqrt(1 + 0.25) = 0.559
    s_plus, s_minus = 0.25, 0.5 * math.sqrt(1.25)
    assert c["A"] == pytest.approx(s_minus / (s_plus + s_minus))
    assert c["baseline"] == pytest.approx(0.5)
    # the batch form used by SMAA gives the same closeness
    res = smaa(_three(110.0), SMALL, method="topsis", references=REFS, n_samples=100)
    assert res.first_rank.sum() == pytest.approx(1.0)


def test_default_references_are_the_baseline_plus_minus_ten_percent():
    from urlink.scoring.methods import default_references

    refs = default_references(_three(110.0), SMALL)
    assert refs.loc["x1", ["worst", "best"]].tolist() == [90.0, 110.0]
    assert refs.loc["x2", ["worst", "best"]].tolist() == [110.0, 90.0]
    zero = _three(110.0).assign(x2=[0.0, 0.0, 1.0])
    assert np.isnan(default_references(zero, SMALL).loc["x2", "worst"])


@pytest.mark.parametrize(
    ("refs", "pattern"),
    [
        ({"x1": (110.0, 90.0), "x2": (110.0, 90.0)}, "contradicts the indicator's direction"),
        ({"x1": (90.0, 90.0), "x2": (110.0, 90.0)}, "two different finite numbers"),
        ({"x1": (90.0, 110.0)}, "no \\(worst, best\\) values for indicator"),
        ({"x1": "ab", "x2": (110.0, 90.0)}, "must be two numbers"),
    ],
)
def test_bad_references(refs, pattern):
    with pytest.raises(InputError, match=pattern):
        weighted_sum(_three(110.0), pd.Series({"x1": 1, "x2": 1}), SMALL, references=refs)


def test_rank_strategies_leaves_out_undefined_indicators():
    from urlink.scoring.ranking import rank_strategies

    table = pd.DataFrame(
        {
            "co2_t_per_day": [100.0, 90.0, 95.0],
            "eco_comp_per_source_resident_yuan": [0.0, np.nan, 3.0],
        },
        index=["baseline", "A", "B"],
    )
    weights = pd.DataFrame(
        {"co2_t_per_day": [0.5], "eco_comp_per_source_resident_yuan": [0.5]}, index=["g"]
    )
    res = rank_strategies(table, weights, smaa_samples=100)  # logs a warning, no error
    assert res.excluded == {"eco_comp_per_source_resident_yuan": "undefined for A"}
    assert res.normalisation == "interval"
    assert list(res.references.index) == ["co2_t_per_day"]
    first = res.scores[(res.scores["group"] == "g") & (res.scores["rank"] == 1)]
    assert set(first["strategy"]) == {"A"}
