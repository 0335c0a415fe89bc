"""Writes the sample workbooks that ``make run`` checks.

    python tools/sample.py OUT_DIR [--formula-cells N]

- ``sample.xlsx``: a generated financial model whose cached values are right;
- ``sample-stale.xlsx``: the same model after someone changed the tax rate
  (Inputs!B5, 25% -> 30%) and saved without recalculating, as in manual
  calculation mode: every cell that depends on the tax rate is now stale.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from calcwire.workbook.generate import generate_model, make_stale
from calcwire.workbook.writer import write_workbook


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--formula-cells", type=int, default=10_000)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    workbook = generate_model(args.formula_cells)
    write_workbook(workbook, args.out / "sample.xlsx", shared_formulas=True)
    write_workbook(make_stale(workbook), args.out / "sample-stale.xlsx", shared_formulas=True)
    print(f"wrote {args.out / 'sample.xlsx'} and {args.out / 'sample-stale.xlsx'}")


if __name__ == "__main__":
    main()
