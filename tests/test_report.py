from __future__ import annotations

import re
from html.parser import HTMLParser

import geopandas as gpd
import pandas as pd
import pytest

from urlink.outputs.report import (
    acceptability_chart,
    first_rank_chart,
    flows_by_boundary,
    flows_by_unit,
    source_notes,
)

EVIL = "<img src=x onerror=alert(1)>"


def _zones() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": [EVIL, "南城", "椒江区"],
            "level": ["township", "township", "county"],
            "township_code": ["t1", "t2", None],
            "county_code": ["c1", "c1", "c2"],
            "prefecture_code": ["p1", "p1", "p1"],
            "province_code": ["s", "s", "s"],
        },
        index=["t1", "t2", "c2"],
    )


def _flows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "origin": ["t1", "t1", "t2", "c2", "t2"],
            "destination": ["t2", "c2", "t2", "t1", "c2"],
            "flow_type": ["people", "people", "people", "goods", "ecosystem"],
            "volume": [3.0, 1.0, 6.0, 4.0, 100.0],
            "unit": ["p/d", "p/d", "p/d", "t/d", "m3/d"],
            "use": [None, None, None, None, "unused"],
        }
    )


def test_flows_by_boundary_by_hand():
    by = flows_by_boundary(_flows(), _zones()).set_index("flow_type")
    assert list(by.index) == ["people", "goods"]  # unused ecosystem supply is no flow
    assert by.loc["people", ["total", "none", "township", "county"]].tolist() == [
        10.0,
        6.0,
        3.0,
        1.0,
    ]
    assert by.loc["people", "share_crossing_county"] == pytest.approx(0.1)
    assert by.loc["goods", "county"] == 4.0 and by.loc["goods", "share_crossing_county"] == 1.0
    # every flow is counted exactly once
    levels = ["none", "township", "county", "prefecture", "province"]
    assert (by[levels].sum(axis=1) == by["total"]).all()


def test_flows_by_unit_conserves_flow():
    units = flows_by_unit(_flows(), _zones())
    people = units[units["flow_type"] == "people"].set_index("unit")
    assert people.loc["c1", ["out", "in", "within"]].tolist() == [1.0, 0.0, 9.0]
    assert people.loc["c2", ["out", "in", "within"]].tolist() == [0.0, 1.0, 0.0]
    # what leaves units arrives in units
    for _, part in units.groupby("flow_type"):
        assert part["out"].sum() == pytest.approx(part["in"].sum())
        assert part["net_in"].sum() == pytest.approx(0.0)


def test_source_notes_reads_the_nearest_sources_file(tmp_path):
    folder = tmp_path / "data" / "tables"
    folder.mkdir(parents=True)
    (tmp_path / "data" / "SOURCES.md").write_text(
        "# Sources\n\n## tables/\n\n### `a.csv` (ours)\n"
        "- **What:** a table.\n- **Origin:** the [bureau](https://x.example) yearbook,\n"
        "  page 3.\n- **Licence:** CC BY 4.0.\n- **Estimated:** row 2.\n\n"
        "### Other tables\n\n- `b.csv` (2 rows): an **estimate** of things.\n",
        encoding="utf-8",
    )
    assert source_notes(folder / "a.csv") == {
        "sources_file": str(tmp_path / "data" / "SOURCES.md"),
        "origin": "the bureau yearbook, page 3.",
        "licence": "CC BY 4.0.",
        "estimated": "row 2.",
    }
    b = source_notes(folder / "b.csv")
    assert b["origin"].startswith("(2 rows): an estimate") and b["estimated"]
    assert source_notes(folder / "c.csv") == {}


def _robustness() -> pd.DataFrame:
    rows = []
    for weights in ("uniform", "farmers"):
        for strategy, acc in (("a", [0.7, 0.3]), ("b", [0.3, 0.7])):
            for rank, value in enumerate(acc, start=1):
                rows.append((weights, "weighted_sum", strategy, rank, value))
    return pd.DataFrame(rows, columns=["weights", "method", "strategy", "rank", "acceptability"])


def test_charts_are_deterministic_svg():
    svg = acceptability_chart(_robustness())
    assert svg.startswith("<svg") and svg.endswith("</svg>\n")
    assert svg == acceptability_chart(_robustness())  # same input, same bytes
    heat = first_rank_chart(_robustness())
    assert "<svg" in heat
    # the values are printed in the cells: P(rank 1) of a and b under both weights
    labels = re.findall(r"<!-- (.*?) -->", heat)  # matplotlib names each text in a comment
    cells = sorted(t for t in labels if re.fullmatch(r"\d\.\d\d", t))
    assert cells == ["0.30", "0.30", "0.70", "0.70"]
    assert acceptability_chart(_robustness(), weights="nobody") == ""


class _Tables(HTMLParser):
    """The rows (lists of cell texts) of every ``<table>`` in an HTML page, by section id."""

    def __init__(self) -> None:
        super().__init__()
        self.section: str | None = None
        self.tables: dict[str, list[list[list[str]]]] = {}
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self.section = dict(attrs).get("id")
        elif tag == "table" and self.section is not None:
            self.tables.setdefault(self.section, []).append([])
        elif tag == "tr" and self.section in self.tables:
            self.tables[self.section][-1].append([])
        elif tag in ("td", "th") and self.section in self.tables:
            self.cell = []
        elif tag == "br" and self.cell is not None:
            self.cell = []  # a bilingual header "中文<br>english": keep the English name

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None and self.section is not None:
            self.tables[self.section][-1][-1].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "section":
            self.section = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def _section_table(page: str, section: str) -> list[list[str]]:
    """The first table of ``<section id=section>``: header row, then data rows."""
    parser = _Tables()
    parser.feed(page)
    return parser.tables[section][0]


def _figure(text: str) -> float:
    """A figure as the report prints it (``2,683,679``, ``3.419``) as a number."""
    return float(text.replace(",", ""))


def test_report_of_the_huangyan_run(huangyan_run):
    page = (huangyan_run / "report.html").read_text(encoding="utf-8").replace("<wbr>", "")
    # self-contained: nothing loaded from anywhere (the one image is a data URI)
    assert not re.findall(r"<(?:script|link|iframe)\b", page)
    assert re.findall(r"<img\b[^>]*>", page) == [
        m for m in re.findall(r"<img\b[^>]*>", page) if 'src="data:image/png;base64,' in m
    ]
    assert "http://" not in page.split("<body>")[0] and "@import" not in page
    assert "@page { size: A4" in page  # printable
    for heading in (  # numbered by CSS counters, in both languages
        "What was modelled",
        "Data, sources and estimates",
        "Flows across administrative boundaries",
        "District indicators by SDG target",
        "Strategy ranking and robustness",
        "Action guidelines per administrative level",
    ):
        assert f"<h2>{heading}" in page or f" / {heading}</h2>" in page, heading
    assert page.count("<svg") >= 2  # the robustness charts are embedded
    assert "SDG 11.a" in page and "SDG 11.6" in page
    assert "voronoi-approximation" in page and 'class="estimate"' in page
    assert "cnmetlab/cnmaps-adm-data" in page  # provenance from data/SOURCES.md
    assert "Illustrative weights written by the urlink team" in page
    # the flow totals are the run's: every cell of the table in section 3 against the flows
    flows = gpd.read_file(huangyan_run / "linkages.gpkg", layer="flows")
    table = _section_table(page, "flows")
    assert table[0] == [
        "flow_type", "unit", "total", "none", "township", "county", "prefecture", "province",
        "share_crossing_county",
    ]  # fmt: skip
    rows = {row[0]: dict(zip(table[0], row, strict=True)) for row in table[1:]}
    assert set(rows) == {"people", "goods", "capital", "ecosystem"}
    assert '流动类型<br><span class="en">flow_type</span>' in page  # headers in zh and en
    for flow_type, group in flows.groupby("flow_type"):
        row = rows[flow_type]
        assert row["unit"] == group["unit"].iloc[0]
        by_level = group.groupby("crosses")["volume"].sum()
        total = group["volume"].sum()
        assert _figure(row["total"]) == pytest.approx(total, rel=5e-4, abs=0.5), flow_type
        for level in ("none", "township", "county", "prefecture", "province"):
            expected = by_level.get(level, 0.0)
            assert _figure(row[level]) == pytest.approx(expected, rel=5e-4, abs=0.5), level
        crossing = by_level.reindex(["county", "prefecture", "province"]).fillna(0.0).sum()
        share = float(row["share_crossing_county"].rstrip("%"))
        assert share == pytest.approx(100 * crossing / total, abs=0.05), flow_type
    csv = pd.read_csv(huangyan_run / "flows.csv")
    goods = rows["goods"]
    assert _figure(goods["total"]) == pytest.approx(
        csv.loc[csv["flow_type"] == "goods", "volume"].sum()
    )
    guidelines = pd.read_csv(huangyan_run / "guidelines.csv")
    for level, n in guidelines["level"].value_counts().items():
        assert f"{level.capitalize()} level ({n} rows)" in page


def test_report_escapes_names(tmp_path):
    from types import SimpleNamespace

    from urlink.outputs.report import report_from_tables

    scenario = SimpleNamespace(
        name="x",
        title=EVIL,
        path=tmp_path / "x.toml",
        seed=1,
        strategies=(),
        input_files=list,
        boundaries=SimpleNamespace(focus="c1"),
    )
    zones = _zones().assign(population=[1.0, 2.0, 3.0], typology="rural")
    page = report_from_tables(
        scenario=scenario,  # type: ignore[arg-type]
        zones=zones,
        flows=_flows().assign(model=EVIL, source="modelled"),
        assessed={},
        summary={"network_source": "proxy"},
    )
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_report_states_the_normalisation_references_and_unknown_costs(huangyan_run):
    page = (huangyan_run / "report.html").read_text(encoding="utf-8").replace("<wbr>", "")
    ranking = page[page.index('id="ranking"') :]
    assert "Normalisation: <b>interval</b>" in ranking
    assert "baseline ± 10 %" in ranking  # the source of every default reference
    assert "pt_coverage_share" in ranking
    modelled = page[page.index('id="modelled"') : page.index('id="data"')]
    assert "capital (million yuan)" in modelled
    assert "unknown" in modelled  # no Huangyan strategy has a cost: unknown, never 0


def test_report_starts_with_a_summary_and_ends_with_the_sources(huangyan_run):
    import re

    from urlink.outputs.report import SECTIONS

    page = (huangyan_run / "report.html").read_text(encoding="utf-8")
    ids = re.findall(r'<section id="(\w+)">', page)
    assert ids == [key for key, _ in SECTIONS if key in ids]  # in order
    assert set(ids) >= {"summary", "map", "modelled", "flows", "ranking", "data"}
    assert ids[0] == "summary" and ids[-1] == "data"
    summary = page.split('<section id="summary">')[1].split("</section>")[0]
    for text in ("The question", "问题", "Ranking", "Robustness", "稳健性", "Top actions"):
        assert text in summary
    assert "P(first)" in summary and "浙江省" in summary  # province rows have names
    assert re.search(r'<img alt="map of flows and typology" src="data:image/png;base64,', page)
    assert "http://" not in page.split("<body>")[0] and "<script" not in page


def test_the_data_dictionary_describes_every_column(huangyan_run):
    dictionary = pd.read_csv(huangyan_run / "data_dictionary.csv", encoding="utf-8-sig")
    assert list(dictionary.columns) == ["file", "column", "unit", "meaning_zh", "meaning_en"]
    described = set(zip(dictionary["file"], dictionary["column"], strict=True))
    for path in sorted(huangyan_run.glob("*.csv")):
        if path.name == "data_dictionary.csv":
            continue
        for column in pd.read_csv(path, nrows=0).columns:
            assert (path.name, column) in described, (path.name, column)
    assert dictionary["meaning_zh"].str.len().min() > 0
    assert dictionary["meaning_en"].str.len().min() > 0


def test_static_map_is_a_deterministic_png(huangyan_run):
    import geopandas as gpd

    from urlink.outputs.report import flows_map_png

    zones = gpd.read_file(huangyan_run / "zones.gpkg").set_index("zone_id")
    flows = pd.read_csv(huangyan_run / "flows.csv", dtype={"origin": str, "destination": str})
    png = flows_map_png(zones, flows, focus="331003")
    assert png is not None and png.startswith(b"\x89PNG")
    assert flows_map_png(zones, flows, focus="331003") == png
    assert flows_map_png(pd.DataFrame(zones.drop(columns="geometry")), flows, focus="x") is None
