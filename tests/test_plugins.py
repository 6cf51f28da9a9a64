"""Plugins through entry points: a tiny package under tests/plugin, pip-installed for the session.

The package (``tests/plugin``) declares a people model, a strategy kind and an indicator in
the entry-point groups ``urlink.flow_models``, ``urlink.strategy_kinds`` and
``urlink.indicators``. It is installed with pip into a folder of the test session (not into
the environment, so the other tests see only urlink's own registries) and the CLI runs in a
subprocess with that folder on its path, as a researcher's installed plugin would be found.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from urlink.errors import InputError
from urlink.params import params_from_table
from urlink.registry import RegistrationError, Registry

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = Path(__file__).resolve().parent / "plugin"


@pytest.fixture(scope="session")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("plugin-site")
    source = tmp_path_factory.mktemp("plugin-src") / "plugin"
    shutil.copytree(PLUGIN, source)  # a build writes metadata beside the sources: not in the repo
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return target


def _urlink(plugin_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(plugin_path), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-c", "import sys; from urlink.cli import main; sys.exit(main())", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _scenario(tmp_path: Path, people: str, strategy: str) -> Path:
    """The Huangyan scenario with absolute paths and the given people section and strategy."""
    text = (ROOT / "scenarios" / "huangyan.toml").read_text(encoding="utf-8")
    text = text.replace('"../data/', f'"{(ROOT / "data").as_posix()}/')
    # the whole people section, purposes included, up to the goods comment
    start, end = text.index("[flows.people]\n"), text.index("# Goods:")
    text = text[:start] + people + "\n" + text[end:]
    text = text.replace('context_flows = "cordon"', 'context_flows = "all"')  # every trip
    # no bus service and no mode choice: the plugin's kind adds a line with a fixed shift
    start, end = text.index("# Baseline bus service"), text.index("[services]")
    text = text[:start] + text[end:]
    return_path = tmp_path / "plugin.toml"
    return_path.write_text(text + "\n" + strategy, encoding="utf-8")
    return return_path


PEOPLE = """[flows.people]
model = "intervening_gravity"
beta = 0.08
stay_share = 0.25
trip_rate = 0.3
"""

STRATEGY = """[[strategies]]
name = "free-buses"
kind = "fare_free_bus"
title = "Fare-free buses between the centre and Beicheng"
level = "district"
params = { zones = ["331003001", "331003002"], mode_shift = 0.3 }
"""


def test_a_scenario_using_a_plugin_runs_through_the_cli(plugin_path: Path, tmp_path: Path) -> None:
    scenario = _scenario(tmp_path, PEOPLE, STRATEGY)
    done = _urlink(plugin_path, "run", str(scenario), "--out", str(tmp_path / "out"), "-q")
    assert done.returncode == 0, done.stderr
    flows = pd.read_csv(tmp_path / "out" / "flows.csv", dtype={"origin": str, "destination": str})
    people = flows[flows["flow_type"] == "people"]
    assert set(people["model"]) == {"intervening_gravity"}
    # the plugin's own setting: a quarter of the trips stay home, the rest leave every zone
    trips = people.groupby("origin")["volume"].sum()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    total = manifest["summary"]["population_total"] * 0.3 * 0.75
    assert trips.sum() == pytest.approx(total, rel=1e-6)
    indicators = pd.read_csv(tmp_path / "out" / "indicators.csv", dtype={"unit": str})
    district = indicators[indicators["scope"] == "district"]
    short = district[district["indicator"] == "share_trips_short"].set_index("strategy")["value"]
    assert {"baseline", "free-buses"} <= set(short.index)
    assert 0 < short["baseline"] <= 1
    # the strategy kind ran: the bus line covers the two zones, credits appear
    cover = district[district["indicator"] == "pt_coverage_share"].set_index("strategy")["value"]
    assert cover["baseline"] == 0
    assert cover["free-buses"] > 0


@pytest.mark.parametrize(
    ("people", "strategy", "expected"),
    [
        (
            PEOPLE.replace("stay_share", "stay_shares"),
            STRATEGY,
            "key 'stay_shares' is not a known key",
        ),
        (PEOPLE.replace("0.25", "1.5"), STRATEGY, "stay_share = 1.5 must be in [0, 1)"),
        (
            PEOPLE,
            STRATEGY.replace("mode_shift", "modeshift"),
            "key 'modeshift' is not a known key",
        ),
        (PEOPLE, STRATEGY.replace('kind = "fare_free_bus"', 'kind = "fare_free"'), "fare_free"),
    ],
)
def test_validate_checks_plugin_settings_like_builtin_ones(
    plugin_path: Path, tmp_path: Path, people: str, strategy: str, expected: str
) -> None:
    scenario = _scenario(tmp_path, people, strategy)
    done = _urlink(plugin_path, "validate", str(scenario))
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr
    assert "Traceback" not in done.stderr


def test_without_the_plugin_its_names_are_unknown(tmp_path: Path) -> None:
    from urlink.cli import main

    scenario = _scenario(tmp_path, PEOPLE, STRATEGY)
    assert main(["validate", str(scenario)]) == 2


@dataclass(frozen=True)
class _Settings:
    speed: float = 1.0
    mode: str = "car"


def test_registry_registers_looks_up_and_refuses_clashes() -> None:
    reg: Registry[object] = Registry("thing", group="urlink.tests_no_such_group")

    @reg.register("one", settings=_Settings)
    def one() -> int:
        return 1

    assert reg["one"] is one
    assert reg.entry("one").settings is _Settings
    assert list(reg) == ["one"]
    with pytest.raises(RegistrationError, match="already registered"):
        reg.register("one", one)
    with pytest.raises(
        InputError, match=r"'onr' is not a registered thing \(did you mean 'one'\?\)"
    ):
        reg.entry("onr")
    with pytest.raises(RegistrationError, match="must be a dataclass"):
        reg.register("two", one, settings=dict)
    assert not isinstance(RegistrationError("x"), InputError)


def test_params_from_table_checks_types_and_names_the_key() -> None:
    assert params_from_table(_Settings, {"speed": 2}) == _Settings(speed=2.0)
    with pytest.raises(InputError, match=r"\[x\] key 'speed' = 'fast' is not valid; use a number"):
        params_from_table(_Settings, {"speed": "fast"}, where="[x]")
    with pytest.raises(InputError, match="must be a finite number"):
        params_from_table(_Settings, {"speed": float("inf")})
    with pytest.raises(
        InputError, match=r"key 'mod' is not a known key \(did you mean 'mode'\?\)"
    ):
        params_from_table(_Settings, {"mod": "bus"})
