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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path, help="result.json files of full runs")
    parser.add_argument("--out", type=Path, default=TARGET, help=f"file to write [default: {TARGET}]")
    args = parser.parse_args(argv)
    previous = json.loads(args.out.read_text()) if args.out.exists() else None
    results = [json.loads(p.read_text()) for p in args.results]
    atomic_write_json(args.out, build_recorded(results, __version__, previous))
    print(f"{args.out}: {', '.join(r['name'] for r in results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
