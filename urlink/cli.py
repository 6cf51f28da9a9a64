"""The ``urlink`` command line.

Exit codes: 0 success, 2 bad input (one readable message, no traceback), 1 internal error.
This is the only module that configures logging handlers and progress bars.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from urlink import __version__
from urlink.errors import InputError, UrlinkError, UrlinkWarning

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_INPUT = 2

logger = logging.getLogger("urlink")


def _workers(text: str) -> int | str:
    """``--workers``: a positive integer or ``auto``."""
    if text == "auto":
        return text
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        msg = f"--workers {text!r}: give a positive whole number or 'auto'"
        raise argparse.ArgumentTypeError(msg)
    return n


def _parser() -> argparse.ArgumentParser:  # noqa: PLR0915 -- one argument after another
    parser = argparse.ArgumentParser(
        prog="urlink",
        description="Urban-rural linkage planning: run and check scenario files.",
    )
    parser.add_argument("--version", action="version", version=f"urlink {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-v info, -vv debug)"
    )
    common.add_argument(
        "-q",
        "--quiet",
        action="count",
        default=0,
        help="less output (-q: errors only, no progress bar or summary)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", parents=[common], help="run a scenario and write its outputs")
    run.add_argument("scenario", type=Path, help="scenario file (.toml)")
    run.add_argument(
        "--out", type=Path, default=None, help="output folder (default: outputs/<scenario name>/)"
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="write into an --out folder that holds files urlink did not write: they are "
        "kept and the outputs are written beside them (without it such a folder is refused)",
    )
    run.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help="also store the run in this PostGIS database, e.g. postgresql://user@host/db "
        "(password from PGPASSWORD or ~/.pgpass; docs/postgis.md)",
    )
    run.add_argument(
        "--db-schema", default="urlink", metavar="NAME", help="schema for --db (default: urlink)"
    )
    run.add_argument(
        "--workers",
        type=_workers,
        default="auto",
        metavar="N",
        help="local workers for skims, strategies and SMAA (default: auto = every core for "
        "runs of 1,000 zones or more, 1 below)",
    )
    run.add_argument(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:PORT",
        help='run the heavy steps on this Dask cluster (needs pip install "urlink[dask]")',
    )
    run.add_argument(
        "--max-memory",
        default=None,
        metavar="SIZE",
        help="memory the zone skim may use, e.g. 4GB; a larger skim goes to disk",
    )
    run.add_argument(
        "--format",
        dest="table_format",
        choices=["auto", "csv", "parquet"],
        default="auto",
        help="travel_times and flows as CSV or Parquet (default: auto = Parquet from 2,000 "
        "zones or 1 million flows, when pyarrow is installed)",
    )
    run.add_argument(
        "--no-network-layer",
        dest="network_layer",
        action="store_false",
        help="leave the street network out of linkages.gpkg (smaller; no select-link)",
    )
    run.add_argument(
        "--online",
        action="store_true",
        help="pages load Leaflet from a CDN and show OpenStreetMap tiles (default: offline)",
    )

    mp = sub.add_parser("map", parents=[common], help="write the workshop map of a scenario")
    mp.add_argument("scenario", type=Path, help="scenario file (.toml)")
    mp.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for map.html (default: outputs/<scenario name>/)",
    )
    mp.add_argument(
        "--lang",
        choices=["zh", "en", "both"],
        default="both",
        help="language of labels, legend and popups (default: both)",
    )
    mp.add_argument(
        "--online",
        action="store_true",
        help="load Leaflet from a CDN and show OpenStreetMap tiles (default: offline pages)",
    )
    mp.add_argument(
        "--offline",
        action="store_true",
        help="self-contained pages (the default; kept for older scripts)",
    )
    mp.add_argument(
        "--strategy",
        metavar="NAME",
        default=None,
        help="also write compare_NAME.html: the strategy against the baseline, side by side",
    )

    tpl = sub.add_parser(
        "weights-template",
        parents=[common],
        help="write the blank stakeholder points form for a scenario",
    )
    tpl.add_argument("scenario", type=Path, help="scenario file (.toml)")
    tpl.add_argument(
        "--out",
        type=Path,
        default=None,
        help="form to write (default: <scenario name>_weights_form.csv); never overwrites a file",
    )

    val = sub.add_parser(
        "validate", parents=[common], help="check a scenario and its inputs without running it"
    )
    val.add_argument("scenario", type=Path, help="scenario file (.toml)")

    # PostGIS (#9): runs stored with `run --db`
    database = argparse.ArgumentParser(add_help=False)
    database.add_argument(
        "--db-schema",
        default="urlink",
        metavar="NAME",
        help="schema of the results tables (default: urlink)",
    )
    runs = sub.add_parser(
        "runs", parents=[common, database], help="list the runs stored in a PostGIS database"
    )
    runs.add_argument("--db", metavar="URL", required=True, help="the database")
    cmp = sub.add_parser(
        "compare",
        parents=[common, database],
        help="compare the district indicators of two stored runs",
    )
    cmp.add_argument("run_a", help="run id (from urlink runs)")
    cmp.add_argument("run_b", help="run id compared against run_a")
    cmp.add_argument("--db", metavar="URL", required=True, help="the database")
    cmp.add_argument(
        "--strategy", default="baseline", help="strategy to compare (default: baseline)"
    )

    sel = sub.add_parser(
        "select-link",
        parents=[common],
        help="which flows and administrative units use a road link of a finished run",
    )
    sel.add_argument("output_dir", type=Path, help="output folder of 'urlink run'")
    sel.add_argument(
        "--link",
        type=_link,
        required=True,
        metavar="U,V",
        help="the link u -> v: node ids from the 'network' layer of linkages.gpkg",
    )
    sel.add_argument(
        "--out",
        type=Path,
        default=None,
        help="also write the flows using the link to this new CSV (never overwritten)",
    )

    ws = sub.add_parser(
        "workshop",
        parents=[common],
        help="serve a live workshop: groups weigh the strategies, the ranking updates",
    )
    ws.add_argument("scenario", type=Path, help="scenario file (.toml)")
    ws.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine only; 0.0.0.0: the "
        "room's network)",
    )
    ws.add_argument("--port", type=int, default=8765, help="port (default: 8765)")
    ws.add_argument(
        "--data",
        type=Path,
        default=None,
        help="folder of the session database; a restart resumes its session "
        "(default: outputs/<scenario name>/workshop/)",
    )
    ws.add_argument(
        "--from-run",
        type=Path,
        default=None,
        metavar="DIR",
        help="use this finished run's output folder instead of running the scenario",
    )
    ws.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help="keep the session in this PostgreSQL database instead of --data, e.g. "
        "postgresql://user@host/db (needs pip install 'urlink[postgis]')",
    )
    ws.add_argument(
        "--db-schema",
        default="urlink_workshop",
        metavar="NAME",
        help="schema for --db (default: urlink_workshop; one session per schema)",
    )
    return parser


def _link(text: str) -> tuple[str, str]:
    """``--link``: two node ids separated by a comma."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(parts):
        msg = (
            f"--link {text!r}: give the two node ids of the link separated by a comma, "
            "e.g. --link 331003001,331003003"
        )
        raise argparse.ArgumentTypeError(msg)
    return parts[0], parts[1]


def _configure_logging(verbose: int, quiet: int) -> int:
    level = logging.WARNING + 10 * (quiet - verbose)
    level = max(logging.DEBUG, min(logging.CRITICAL, level))
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("urlink")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    logging.captureWarnings(True)
    warn_logger = logging.getLogger("py.warnings")
    warn_logger.handlers[:] = [handler]
    warn_logger.propagate = False
    return level


def _show_warning(  # noqa: PLR0917 - the signature of warnings.showwarning
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Log a warning: a UrlinkWarning as its message only, others with their origin."""
    if issubclass(category, UrlinkWarning):
        logger.warning("%s", message)
    else:
        text = warnings.formatwarning(message, category, filename, lineno, line)
        logging.getLogger("py.warnings").warning("%s", text.rstrip())


class _StageLines:
    """Progress as one line per stage on stderr (when stderr is not a terminal)."""

    def __init__(self, stages: Sequence[str]) -> None:
        self.stages = list(stages)
        self.started = time.perf_counter()

    def stage(self, name: str, *, total: int | None = None) -> None:
        i = self.stages.index(name) + 1 if name in self.stages else 0
        steps = f", {total} steps" if total else ""
        elapsed = time.perf_counter() - self.started
        print(
            f"urlink: [{i}/{len(self.stages)}] {name}{steps} ({elapsed:.1f} s)",
            file=sys.stderr,
            flush=True,
        )

    def advance(self, n: int = 1, *, what: str = "") -> None:
        pass


class _Bars:
    """Progress as a bar per stage on a terminal (tqdm), with the stage's steps."""

    def __init__(self, title: str, stages: Sequence[str]) -> None:
        self.title = title
        self.stages = list(stages)
        self.bar: Any = None

    def stage(self, name: str, *, total: int | None = None) -> None:
        from tqdm import tqdm

        self.close()
        i = self.stages.index(name) + 1 if name in self.stages else 0
        self.bar = tqdm(
            total=total,
            desc=f"{self.title} [{i}/{len(self.stages)}] {name}",
            unit="step",
            file=sys.stderr,
            leave=False,
            bar_format="{desc}: {n_fmt}/{total_fmt}{postfix}" if total else "{desc} {elapsed}",
        )

    def advance(self, n: int = 1, *, what: str = "") -> None:
        if self.bar is not None:
            if what:
                self.bar.set_postfix_str(what, refresh=False)
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _headline(result: Any) -> list[str]:
    """List the top strategy per stakeholder group (first method), for the final summary."""
    scores = result.scores
    if scores is None or scores.empty:
        return []
    first = scores[(scores["rank"] == 1) & (scores["method"] == scores["method"].iloc[0])]
    method = str(scores["method"].iloc[0]).replace("_", " ")
    by_group: dict[str, list[str]] = {}
    for g, s in zip(first["group"], first["strategy"], strict=True):
        by_group.setdefault(str(g), []).append(str(s))
    tops = [
        f"{g}: {names[0]}" if len(names) == 1 else f"{g}: {' = '.join(names)} (tied)"
        for g, names in by_group.items()
    ]
    return [f"top strategy per group ({method}): " + "; ".join(tops)]


def _cmd_run(args: argparse.Namespace, level: int) -> int:
    from urlink.runner import STAGES, run
    from urlink.scenario.spec import load_scenario

    scenario = load_scenario(args.scenario)
    out = args.out if args.out is not None else Path("outputs") / scenario.name
    if args.db is not None:  # fail before the run, not after it
        from urlink.io.postgis import check_database

        check_database(args.db, schema=args.db_schema)
    progress: Any = None
    if not args.quiet:
        progress = _Bars(scenario.name, STAGES) if sys.stderr.isatty() else _StageLines(STAGES)
    try:
        result = run(
            scenario,
            out=out,
            progress=progress,
            workers=args.workers,
            scheduler=args.scheduler,
            max_memory=args.max_memory,
            table_format=args.table_format,
            network_layer=args.network_layer,
            offline=not args.online,
            force=args.force,
        )
    finally:
        if isinstance(progress, _Bars):
            progress.close()
    if not args.quiet:
        lines = [
            f"urlink: wrote {out}",
            f"  open {out / 'report.html'} (summary, ranking, sources) and "
            f"{out / 'map.html'} (workshop map)",
            *(f"  {line}" for line in _headline(result)),
        ]
        print("\n".join(lines))
    if args.db is not None:
        from urlink.io.postgis import redact_dsn
        from urlink.store.runs import write_run

        try:
            run_id = write_run(args.db, out, schema=args.db_schema)
        except UrlinkError as err:
            msg = f"wrote {out}, but nothing was stored in the database: {err}"
            raise type(err)(msg) from None
        if not args.quiet:
            print(f"urlink: stored run {run_id} in {redact_dsn(args.db)} ({args.db_schema}.runs)")
    return EXIT_OK


def _cmd_map(args: argparse.Namespace, level: int) -> int:
    from urlink.runner import build_map
    from urlink.scenario.spec import load_scenario

    scenario = load_scenario(args.scenario)
    out = args.out if args.out is not None else Path("outputs") / scenario.name
    written = build_map(
        scenario, out, strategy=args.strategy, lang=args.lang, offline=not args.online
    )
    if not args.quiet:
        for path in written:
            print(f"urlink: wrote {path}")
    return EXIT_OK


def _cmd_weights_template(args: argparse.Namespace, level: int) -> int:
    from urlink.outputs.files import check_new_file
    from urlink.scenario.spec import load_scenario
    from urlink.scoring import STAKEHOLDER_GROUPS, weights_template
    from urlink.scoring.indicators import INDICATORS

    scenario = load_scenario(args.scenario)
    out = args.out if args.out is not None else Path(f"{scenario.name}_weights_form.csv")
    check_new_file(out, what="--out" if args.out is not None else "form")
    try:
        weights_template(list(INDICATORS), list(STAKEHOLDER_GROUPS), out)
    except OSError as err:
        msg = f"--out {str(out)!r}: cannot write the form ({err.strerror or err})"
        raise InputError(msg) from None
    if not args.quiet:
        print(
            f"urlink: wrote the blank points form {out} ({len(STAKEHOLDER_GROUPS)} groups x "
            f"{len(INDICATORS)} indicators; each group distributes 100 points)"
        )
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace, level: int) -> int:
    from urlink.runner import validate_scenario
    from urlink.scenario.spec import load_scenario

    scenario = load_scenario(args.scenario)
    summary = validate_scenario(scenario)
    if not args.quiet:
        levels = ", ".join(f"{n} {k}" for k, n in summary.by_level.items())
        print(
            f"urlink: {args.scenario} is valid: {summary.zones} zones ({levels}); "
            f"population {summary.focus_population:,} in the focus area "
            f"{scenario.boundaries.focus} and {summary.context_population:,} in the context "
            f"zones around it ({summary.population:,} in all)"
        )
    return EXIT_OK


def _cmd_runs(args: argparse.Namespace, level: int) -> int:
    from urlink.store.runs import runs_from_db

    runs = runs_from_db(args.db, schema=args.db_schema)
    if runs.empty:
        print(f"urlink: no runs stored in schema {args.db_schema!r}")
        return EXIT_OK
    runs["created_utc"] = runs["created_utc"].dt.strftime("%Y-%m-%d %H:%M:%S")
    runs = runs.rename(columns=lambda c: c.removeprefix("n_"))
    print(runs.to_string(index=False))
    return EXIT_OK


def _cmd_compare(args: argparse.Namespace, level: int) -> int:
    from urlink.store.runs import compare_runs, parse_run_id

    a, b = parse_run_id(args.run_a), parse_run_id(args.run_b)
    table = compare_runs(args.db, a, b, strategy=args.strategy, schema=args.db_schema)
    table = table.rename(columns={"run_a": f"run {a}", "run_b": f"run {b}"})
    print(f"urlink: indicators of strategy {args.strategy!r}, run {b} against run {a}")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    return EXIT_OK


def _cmd_select_link(args: argparse.Namespace, level: int) -> int:
    from urlink.outputs.files import check_new_file
    from urlink.outputs.selectlink import select_link_from_outputs, units_using_link

    if args.out is not None:
        check_new_file(args.out, what="--out")
    pairs = select_link_from_outputs(args.output_dir, args.link)
    if args.out is not None:
        try:
            pairs.to_csv(args.out, index=False, float_format="%.6f")
        except OSError as err:
            msg = f"--out {str(args.out)!r}: cannot write the table ({err.strerror or err})"
            raise InputError(msg) from None
    u, v = args.link
    if args.quiet:
        return EXIT_OK
    if pairs.empty:
        print(f"urlink: no road flow of {args.output_dir} uses the link {u} -> {v}")
        return EXIT_OK
    totals = ", ".join(
        f"{vol:,.1f} {ftype}" for ftype, vol in pairs.groupby("flow_type")["volume"].sum().items()
    )
    print(f"urlink: {len(pairs)} flows use the link {u} -> {v} ({totals} per day)")
    for lvl in ("county", "township"):
        if f"origin_{lvl}" in pairs.columns:
            print(f"\nby {lvl} (volume of the flows starting / ending there):")
            print(units_using_link(pairs, level=lvl).to_string(index=False, float_format="%.1f"))
    print("\nflows (largest first):")
    cols = ["origin", "destination", "flow_type", "volume"]
    print(pairs[cols].to_string(index=False, float_format=lambda x: f"{x:.1f}"))
    if args.out is not None:
        print(f"\nurlink: wrote {args.out}")
    return EXIT_OK


def _cmd_workshop(args: argparse.Namespace, level: int) -> int:
    from urlink.runner import run
    from urlink.scenario.spec import load_scenario
    from urlink.workshop.app import serve
    from urlink.workshop.data import workshop_data_from_folder, workshop_data_from_run

    scenario = load_scenario(args.scenario)
    if not 0 < args.port < 65536:
        msg = f"--port {args.port}: give a port between 1 and 65535"
        raise InputError(msg)
    if args.host not in {"127.0.0.1", "localhost", "::1"}:
        logger.warning(
            "--host %s: the workshop is reachable from other machines on this network; "
            "anyone with the join address can submit weights",
            args.host,
        )
    if args.from_run is not None:
        data = workshop_data_from_folder(scenario, args.from_run)
    else:
        if not args.quiet:
            print(f"urlink: running {scenario.name} for the workshop ...", file=sys.stderr)
        data = workshop_data_from_run(run(scenario))
    folder = args.data if args.data is not None else Path("outputs") / scenario.name / "workshop"
    where = str(folder)
    if args.db is not None:
        from urlink.io.postgis import redact_dsn

        where = f"{redact_dsn(args.db)}, schema {args.db_schema}"

    def ready(addresses: Any) -> None:
        print(
            f"urlink: workshop {scenario.name} (session in {where})\n"
            f"  facilitator (keep private): {addresses.facilitator}\n"
            f"  participants: {addresses.participants}  (join code {addresses.join_code})\n"
            "  stop with Ctrl+C; a restart with the same --data resumes the session",
            flush=True,
        )

    serve(
        data,
        data_dir=folder,
        host=args.host,
        port=args.port,
        on_ready=ready,
        db=args.db,
        db_schema=args.db_schema,
    )
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code.

    Parameters
    ----------
    argv
        Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    int
        0 success, 1 internal error, 2 bad input.

    Examples
    --------
    >>> main(["validate", "scenarios/huangyan.toml", "-q"])
    0
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_INPUT
    level = _configure_logging(args.verbose, args.quiet)
    commands = {
        "run": _cmd_run,
        "validate": _cmd_validate,
        "weights-template": _cmd_weights_template,
        "map": _cmd_map,
        "runs": _cmd_runs,
        "compare": _cmd_compare,
        "select-link": _cmd_select_link,
        "workshop": _cmd_workshop,
    }
    try:
        with warnings.catch_warnings():
            # the command line shows every UrlinkWarning once, as one log line, whatever
            # the interpreter's (or a test runner's) warning filters say
            warnings.simplefilter("always", UrlinkWarning)
            warnings.showwarning = _show_warning
            return commands[args.command](args, level)
    except InputError as err:
        print(f"urlink: error: {err}", file=sys.stderr)
        return EXIT_INPUT
    except UrlinkError as err:
        print(f"urlink: error: {err}", file=sys.stderr)
        return EXIT_INTERNAL
    except KeyboardInterrupt:
        print("urlink: interrupted; earlier outputs are untouched", file=sys.stderr)
        return EXIT_INTERNAL
    except Exception:  # an internal error: show the traceback so it can be reported
        print(
            "urlink: internal error (please report it with the traceback below):", file=sys.stderr
        )
        traceback.print_exc()
        return EXIT_INTERNAL
    finally:
        logging.captureWarnings(False)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
