"""``calcwire cells MODEL [--sheet S] [--range R] [--formulas] [--mismatches]``.

Without ``--mismatches``: the model's cells (``WorkbookService.ListCells``) in
sheet order, then row by row, with the cached value, the formula and, once the
model is validated, the computed value and status. With ``--mismatches``: the
cells whose cached value is wrong (``ValidationService.ListMismatches``),
largest difference first; ``--range`` is then applied to what the service
returns.
"""

from __future__ import annotations

import argparse
from typing import Any

from calcwire import errors
from calcwire.cli.client import connect, connection_options, model_ref
from calcwire.cli.output import print_json, print_table, value_json, value_text
from calcwire.common.v1 import cell_status_pb2
from calcwire.formula import column_letters, parse_range
from calcwire.validation.v1 import validation_pb2
from calcwire.workbooks.v1 import workbooks_pb2

__all__ = ["register", "run"]

_PAGE_SIZE = 10_000


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "cells", parents=[connection_options()],
        help="list a model's cells, or its mismatching cells",
        description="List the cells of MODEL (models/<id> or the id), with their values, "
        "formulas and, once validated, computed values and statuses; with --mismatches, the "
        "cells whose cached value is wrong, largest difference first. Exit status: 0 done, "
        "2 bad input or unknown model, 3 the services failed or cannot be reached.",
    )
    parser.add_argument("model", metavar="MODEL", help="models/<id> or the id")
    parser.add_argument("--sheet", default="", metavar="S", help="only this sheet")
    parser.add_argument("--range", default="", metavar="R",
                        help="only this A1 range, e.g. B2:M40 or Model!B2:M40")
    parser.add_argument("--formulas", action="store_true", help="only formula cells")
    parser.add_argument("--mismatches", action="store_true",
                        help="only the cells whose cached value is wrong")
    parser.add_argument("--limit", type=int, default=1000, metavar="N",
                        help="at most N cells (default %(default)s)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise errors.InvalidArgument("--limit must be at least 1", reason="INVALID_LIMIT")
    if args.mismatches:
        return _mismatches(args)
    cells: list[workbooks_pb2.Cell] = []
    with connect(args) as connection:
        token = ""
        while len(cells) < args.limit:
            page = connection.workbooks.ListCells(
                workbooks_pb2.ListCellsRequest(
                    parent=model_ref(args.model), page_size=min(_PAGE_SIZE, args.limit - len(cells)),
                    page_token=token, sheet=args.sheet, range=args.range,
                    formulas_only=args.formulas),
                metadata=connection.metadata, timeout=connection.timeout)
            cells.extend(page.cells)
            token = page.next_page_token
            if not token:
                break
    if args.json:
        print_json({"cells": [_cell_json(c) for c in cells]})
        return 0
    validated = any(c.validation_status for c in cells)
    header = ("CELL", "VALUE", "COMPUTED", "STATUS", "FORMULA") if validated else (
        "CELL", "VALUE", "FORMULA")
    rows = [header]
    for cell in cells:
        where = f"{cell.sheet}!{cell.address}"
        if validated:
            rows.append((where, value_text(cell.value),
                         value_text(cell.computed_value) if cell.formula else "",
                         _status(cell.validation_status) or "", cell.formula))
        else:
            rows.append((where, value_text(cell.value), cell.formula))
    print_table(rows) if cells else print("no cells")
    return 0


def _status(status: int) -> str | None:
    if not status:
        return None
    return cell_status_pb2.CellStatus.Name(status).removeprefix("CELL_STATUS_").lower()


def _cell_json(cell: workbooks_pb2.Cell) -> dict[str, Any]:
    return {
        "sheet": cell.sheet,
        "cell": cell.address,
        "value": value_json(cell.value),
        "formula": cell.formula or None,
        "number_format": cell.number_format or None,
        "computed": value_json(cell.computed_value) if cell.HasField("computed_value") else None,
        "status": _status(cell.validation_status),
        "reason": cell.reason or None,
    }


def _in_range(text: str) -> tuple[str | None, tuple[int, int, int, int]] | None:
    if not text:
        return None
    sheet, _, ref = text.rpartition("!")
    sheet = sheet.strip()
    if len(sheet) >= 2 and sheet[0] == sheet[-1] == "'":
        sheet = sheet[1:-1].replace("''", "'")
    try:
        return (sheet or None), parse_range(ref)
    except ValueError:
        raise errors.InvalidArgument(
            f"{text!r} is not an A1 range such as B2:M40 or Model!B2:M40",
            reason="INVALID_RANGE") from None


def _mismatches(args: argparse.Namespace) -> int:
    wanted = _in_range(args.range)
    results: list[validation_pb2.CellResult] = []
    total = 0
    with connect(args) as connection:
        token = ""
        while len(results) < args.limit:
            page = connection.validation.ListMismatches(
                validation_pb2.ListMismatchesRequest(
                    parent=model_ref(args.model), page_size=_PAGE_SIZE, page_token=token,
                    sheet=args.sheet),
                metadata=connection.metadata, timeout=connection.timeout)
            total = page.total_size
            for result in page.results:
                if wanted is not None:
                    sheet, (r1, c1, r2, c2) = wanted
                    if sheet is not None and result.sheet != sheet:
                        continue
                    if not (r1 <= result.row <= r2 and c1 <= result.column <= c2):
                        continue
                results.append(result)
            token = page.next_page_token
            if not token:
                break
    results = results[: args.limit]
    if args.json:
        print_json({
            "total_size": total,
            "cells": [
                {"sheet": r.sheet, "cell": r.address or f"{column_letters(r.column)}{r.row}",
                 "formula": r.formula, "cached": value_json(r.cached),
                 "computed": value_json(r.computed), "status": _status(r.status),
                 "reason": r.reason or None, "difference": r.absolute_difference}
                for r in results
            ],
        })
        return 0
    if not results:
        print("no mismatches")
        return 0
    rows = [("CELL", "CACHED", "COMPUTED", "DIFFERENCE", "FORMULA")]
    for r in results:
        rows.append((f"{r.sheet}!{r.address}", value_text(r.cached), value_text(r.computed),
                     f"{r.absolute_difference:.6g}" if r.absolute_difference else "-",
                     r.formula))
    print_table(rows)
    if wanted is None and total > len(results):
        print(f"... {total - len(results):,} more (of {total:,}); --limit shows more")
    return 0
