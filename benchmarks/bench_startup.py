"""Start-up time of the command line: `urlink --help`, `urlink validate --help`, `import urlink`.

Each command runs REPEAT times in a fresh interpreter; the median is compared with
`python -c pass` measured in the same run (the interpreter's own start-up), so the ratio
holds on other machines. Target (issue #21): both --help commands under 0.5 s.

    python benchmarks/bench_startup.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "import urlink": [sys.executable, "-c", "import urlink"],
    "urlink --help": [sys.executable, "-m", "urlink.cli", "--help"],
    "urlink validate --help": [sys.executable, "-m", "urlink.cli", "validate", "--help"],
    "import urlink.runner (a run's modules)": [sys.executable, "-c", "import urlink.runner"],
}


def median_seconds(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    base = median_seconds(COMMANDS["python -c pass"], args.repeat)
    print(f"{'command':40} {'median s':>9} {'x python':>9}")
    for name, cmd in COMMANDS.items():
        s = median_seconds(cmd, args.repeat)
        print(f"{name:40} {s:9.3f} {s / base:9.1f}")


if __name__ == "__main__":
    main()
