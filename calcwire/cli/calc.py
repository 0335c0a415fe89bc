"""``calcwire calc MODEL --set REF=VALUE ... --get REF ...``: what-if, through the gateway.

``EvaluationService.Calculate`` recomputes the model with the inputs changed
for this call only and answers the outputs asked for; the stored model and its
results stay as they are. A VALUE reads as Excel would take it typed into a
cell (:func:`parse_value`): a number (``0.25``, ``25%``, ``-1e3``), ``TRUE`` or
``FALSE``, an error literal (``#N/A``), nothing (empty), else text; quotes
make text of anything (``'"TRUE"'``).
"""

from __future__ import annotations

import argparse
import re
from typing import Any, Final

from calcwire import errors
from calcwire.cli.client import connect, connection_options, model_ref
from calcwire.cli.output import print_json, value_json, value_text
from calcwire.evaluation.v1 import evaluation_pb2
from calcwire.values import ERROR_CODES, CellValue, XlError
from calcwire.wire import value_from_proto, value_to_proto

__all__ = ["parse_override", "parse_value", "register", "run"]

_NUMBER: Final = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?(%?)")
_ERRORS: Final = {code.upper(): code for code in ERROR_CODES}


def parse_value(text: str) -> CellValue:
    """A value typed on the command line, as Excel reads a typed cell.

    >>> parse_value("25%"), parse_value("true"), parse_value("#n/a"), parse_value('"7"')
    (0.25, True, XlError('#N/A'), '7')
    """
    stripped = text.strip()
    if stripped == "":
        return None
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "\"'":
        return stripped[1:-1]
    match = _NUMBER.fullmatch(stripped)
    if match is not None:
        number = float(stripped.rstrip("%"))
        return number / 100 if match.group(3) else number
    if stripped.upper() in ("TRUE", "FALSE"):
        return stripped.upper() == "TRUE"
    if stripped.upper() in _ERRORS:
        return XlError(_ERRORS[stripped.upper()])
    return text


def parse_override(text: str) -> evaluation_pb2.InputOverride:
    """``REF=VALUE`` (the first ``=`` separates them)."""
    reference, sep, value = text.partition("=")
    if not sep or not reference.strip():
        raise errors.InvalidArgument(f"--set {text!r}: expected REF=VALUE, e.g. Inputs!B5=0.25",
                                     reason="INVALID_OVERRIDE")
    return evaluation_pb2.InputOverride(reference=reference.strip(),
                                        value=value_to_proto(parse_value(value)))


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "calc", parents=[connection_options()],
        help="what-if: recompute a model with changed inputs and print outputs",
        description="Recompute MODEL with the inputs of --set changed (for this call only) and "
        "print the outputs of --get: cells (Valuation!B16), ranges (Valuation!C5:N5) or defined "
        "names (TaxRate). VALUE: a number (0.25, 25%%), TRUE/FALSE, an error literal "
        "(#N/A), nothing for empty, else text (quote it to force text). Exit status: 0 done, "
        "2 bad input, unknown model or reference, 3 the services failed or cannot be reached.",
    )
    parser.add_argument("model", metavar="MODEL", help="models/<id> or the id")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="REF=VALUE", help="an input to change (repeatable)")
    parser.add_argument("--get", dest="outputs", action="append", default=[], metavar="REF",
                        help="an output to print (repeatable; at least one)")
    parser.set_defaults(run=run)


def _output_json(output: evaluation_pb2.OutputValue) -> dict[str, Any]:
    values = None
    if output.HasField("values"):
        grid = output.values
        flat = [value_json(v) for v in grid.values]
        values = [flat[r * grid.columns:(r + 1) * grid.columns] for r in range(grid.rows)]
    return {
        "reference": output.reference,
        "value": value_json(output.value),
        "values": values,
        "not_computable_reason": output.not_computable_reason or None,
    }


def run(args: argparse.Namespace) -> int:
    if not args.outputs:
        raise errors.InvalidArgument("calc needs at least one --get REF", reason="NO_OUTPUTS")
    overrides = [parse_override(text) for text in args.overrides]
    request = evaluation_pb2.CalculateRequest(model=model_ref(args.model), overrides=overrides,
                                              outputs=args.outputs)
    with connect(args) as connection:
        response = connection.evaluation.Calculate(request, metadata=connection.metadata,
                                                   timeout=connection.timeout)
    seconds = response.compute_time.ToTimedelta().total_seconds()
    if args.json:
        print_json({
            "model": request.model,
            "inputs": [{"reference": o.reference, "value": value_json(o.value)}
                       for o in overrides],
            "outputs": [_output_json(o) for o in response.outputs],
            "recomputed_cells": response.recomputed_cells,
            "compute_seconds": seconds,
            "warm": response.warm,
        })
        return 0
    width = max(len(text) for text in [*args.outputs, *(o.reference for o in overrides)])
    for override in overrides:
        print(f"{override.reference:<{width}}  := {value_text(value_from_proto(override.value))}")
    for output in response.outputs:
        if output.not_computable_reason:
            print(f"{output.reference:<{width}}  not computable: {output.not_computable_reason}")
        elif output.HasField("values") and output.values.rows * output.values.columns > 1:
            grid = output.values
            print(f"{output.reference:<{width}}  =")
            for r in range(grid.rows):
                row = grid.values[r * grid.columns:(r + 1) * grid.columns]
                print("    " + "  ".join(value_text(v) for v in row))
        else:
            print(f"{output.reference:<{width}}  = {value_text(output.value)}")
    print(f"recomputed {response.recomputed_cells:,} cells in {seconds * 1000:.1f} ms"
          + (" (model already in memory)" if response.warm else ""))
    return 0
