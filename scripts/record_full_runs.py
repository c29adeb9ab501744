"""Write ``src/glassnet/lab/recorded.json`` from the ``result.json`` files of real full lab runs.

Usage::

    glassnet lab NAME --out runs/full/NAME          # a full run (no --quick), for each experiment
    python scripts/record_full_runs.py runs/full/*/result.json

Only full runs are accepted; records of experiments not given are kept. The
numbers come from the files, never by hand; the report labels them "recorded".
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from glassnet import __version__
from glassnet.fileio import atomic_write_json
from glassnet.lab.recorded import build_recorded

TARGET = Path(__file__).resolve().parents[1] / "src" / "glassnet" / "lab" / "recorded.json"


def markdown(recorded: dict) -> str:
    """The recorded runs as a Markdown table: experiment, verdict, CPU seconds, date, the first key numbers."""
    lines = ["| experiment | verdict | CPU s | date | key numbers |", "|---|---|---|---|---|"]
    for name, r in recorded["experiments"].items():
        numbers = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                            for k, v in list(r["metrics"].items())[:4])
        lines.append(f"| {name} | {r['verdict']} | {r['cpu_seconds']:.0f} | {r['date'][:10]} | {numbers} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="*", type=Path, help="result.json files of full runs")
    parser.add_argument("--out", type=Path, default=TARGET, help=f"file to write [default: {TARGET}]")
    parser.add_argument("--markdown", action="store_true", help="print the recorded runs as a Markdown table")
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown(json.loads(args.out.read_text())))
        return 0
    previous = json.loads(args.out.read_text()) if args.out.exists() else None
    results = [json.loads(p.read_text()) for p in args.results]
    atomic_write_json(args.out, build_recorded(results, __version__, previous))
    print(f"{args.out}: {', '.join(r['name'] for r in results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
