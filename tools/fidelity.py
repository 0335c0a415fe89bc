"""Measure calcwire's fidelity over ../shared/corpus, and optionally record it as the baseline.

    python tools/fidelity.py                                 # print the figures
    python tools/fidelity.py --write tests/corpus_baseline.json   # make fidelity-baseline
"""

from __future__ import annotations

import argparse
from pathlib import Path

from calcwire.testing.fidelity import corpus_files, format_row, measure_file, totals, write_baseline

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=ROOT / ".." / "shared" / "corpus")
    parser.add_argument("--write", type=Path, help="write the figures as the baseline here")
    args = parser.parse_args()
    files = corpus_files(args.corpus)
    if not files:
        raise SystemExit(f"no workbooks under {args.corpus}")
    figures = []
    for path in files:
        figure = measure_file(path, args.corpus)
        print(format_row(figure), flush=True)
        figures.append(figure)
    print(format_row(totals(figures)))
    if args.write:
        write_baseline(figures, args.write)
        print(f"baseline written to {args.write}")


if __name__ == "__main__":
    main()
