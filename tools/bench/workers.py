"""Benchmark tasks, each run in its own process by measure.py; each prints one JSON line.

    python tools/bench/workers.py engine FILE        # read, then time the engine alone
    python tools/bench/workers.py formulas FILE      # formulas.ExcelModel on the same file
    python tools/bench/workers.py read FILE          # the calcwire reader alone
    python tools/bench/workers.py openpyxl FILE      # openpyxl load_workbook, for comparison
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from typing import Any


def engine(path: str) -> dict[str, Any]:
    from calcwire.workbook import read_workbook

    workbook = read_workbook(path)
    from eval_svc.engine import compile_workbook

    start = time.perf_counter()
    model = compile_workbook(workbook)
    compiled = time.perf_counter()
    results = model.calculate()
    calculated = time.perf_counter()
    statuses: dict[str, int] = {}
    for r in results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    # One input changes: the tax rate of the generated model; only what depends on it reruns.
    start_change = time.perf_counter()
    recomputed = model.set_values({"Inputs!B5": 0.3})
    changed = time.perf_counter()
    return {
        "formula_cells": len(results),
        "compile_s": compiled - start,
        "calculate_s": calculated - compiled,
        "engine_s": calculated - start,
        "recompute_one_input_s": changed - start_change,
        "recomputed_cells": recomputed,
        "statuses": statuses,
    }


def formulas_lib(path: str) -> dict[str, Any]:
    import formulas

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = formulas.ExcelModel().loads(path).finish()
        model.calculate()
    return {"seconds": time.perf_counter() - start}


def read(path: str) -> dict[str, Any]:
    from calcwire.workbook import read_workbook

    start = time.perf_counter()
    workbook = read_workbook(path)
    cells = sum(len(s.cells) for s in workbook.sheets)
    return {"seconds": time.perf_counter() - start, "cells": cells}


def openpyxl_read(path: str) -> dict[str, Any]:
    import openpyxl

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(path)
    cells = sum(len(ws._cells) for ws in wb.worksheets)
    return {"seconds": time.perf_counter() - start, "cells": cells}


TASKS = {"engine": engine, "formulas": formulas_lib, "read": read, "openpyxl": openpyxl_read}

if __name__ == "__main__":
    task, path = sys.argv[1], sys.argv[2]
    print(json.dumps(TASKS[task](path)))
