"""``calcwire models list|show|delete``: the tenant's models, through the gateway.

MODEL is a model's name (``models/<id>``) or its id. An unknown model, or one of
another tenant, is NOT_FOUND: exit status 2.
"""

from __future__ import annotations

import argparse
from typing import Any

from calcwire.cli.client import connect, connection_options, model_ref
from calcwire.cli.output import (
    job_json,
    job_line,
    print_json,
    print_table,
    timestamp_text,
)
from calcwire.common.v1 import calculation_pb2
from calcwire.workbooks.v1 import workbooks_pb2

__all__ = ["model_json", "register"]

_LIST_PAGE: int = 1000


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    models = subparsers.add_parser(
        "models", help="list, show and delete models",
        description="The models of the API key's tenant. Exit status: 0 done, 2 bad input or "
        "unknown model, 3 the services failed or cannot be reached.",
    )
    commands = models.add_subparsers(dest="models_command", metavar="COMMAND", required=True)
    common = connection_options()

    listing = commands.add_parser("list", parents=[common], help="list models, newest first")
    listing.add_argument("--filter", default="", metavar="EXPR",
                         help='e.g. \'display_name : "DCF"\' or "state = READY"')
    listing.add_argument("--limit", type=int, default=100, metavar="N",
                         help="at most N models (default %(default)s)")
    listing.set_defaults(run=_list)

    show = commands.add_parser("show", parents=[common], help="a model with its sheets")
    show.add_argument("model", metavar="MODEL", help="models/<id> or the id")
    show.set_defaults(run=_show)

    delete = commands.add_parser("delete", parents=[common],
                                 help="delete a model with its cells and results")
    delete.add_argument("model", metavar="MODEL", help="models/<id> or the id")
    delete.set_defaults(run=_delete)


def _state(model: workbooks_pb2.Model) -> str:
    return workbooks_pb2.ModelState.Name(model.state).removeprefix("MODEL_STATE_").lower()


def model_json(model: workbooks_pb2.Model, *, full: bool = False) -> dict[str, Any]:
    """A model in the ``--json`` documents; ``full`` adds sheets and calculation settings."""
    document: dict[str, Any] = {
        "name": model.name,
        "display_name": model.display_name,
        "file_name": model.file_name,
        "sha256": model.sha256,
        "size_bytes": model.size_bytes,
        "state": _state(model),
        "cells": model.cell_counts.total,
        "formulas": model.cell_counts.formulas,
        "create_time": timestamp_text(model.create_time),
        "update_time": timestamp_text(model.update_time),
        "latest_job": job_json(model.latest_job) if model.HasField("latest_job") else None,
    }
    if full:
        document["application"] = model.application
        document["calculation_mode"] = calculation_pb2.CalculationMode.Name(
            model.calculation.mode).removeprefix("CALCULATION_MODE_").lower()
        document["sheets"] = [
            {"name": s.name, "index": s.index, "dimension": s.dimension,
             "cells": s.cell_count, "formulas": s.formula_count}
            for s in model.sheets
        ]
        document["defined_names"] = [
            {"name": n.name, "refers_to": n.refers_to, "scope": n.scope or None}
            for n in model.defined_names
        ]
    return document


def _list(args: argparse.Namespace) -> int:
    if args.limit < 1:
        from calcwire import errors

        raise errors.InvalidArgument("--limit must be at least 1", reason="INVALID_LIMIT")
    models: list[workbooks_pb2.Model] = []
    with connect(args) as connection:
        token = ""
        while len(models) < args.limit:
            page = connection.workbooks.ListModels(
                workbooks_pb2.ListModelsRequest(
                    page_size=min(_LIST_PAGE, args.limit - len(models)), page_token=token,
                    filter=args.filter),
                metadata=connection.metadata, timeout=connection.timeout)
            models.extend(page.models)
            token = page.next_page_token
            if not token:
                break
    if args.json:
        print_json({"models": [model_json(m) for m in models]})
        return 0
    if not models:
        print("no models")
        return 0
    rows = [("MODEL", "STATE", "FORMULAS", "CREATED", "NAME")]
    for model in models:
        rows.append((model.name, _state(model), f"{model.cell_counts.formulas:,}",
                     (timestamp_text(model.create_time) or "-")[:19].replace("T", " "),
                     model.display_name))
    print_table(rows)
    return 0


def _show(args: argparse.Namespace) -> int:
    with connect(args) as connection:
        model = connection.workbooks.GetModel(
            workbooks_pb2.GetModelRequest(name=model_ref(args.model)),
            metadata=connection.metadata, timeout=connection.timeout).model
    if args.json:
        print_json(model_json(model, full=True))
        return 0
    shown = model_json(model, full=True)
    print(f"{model.name}  {model.display_name}")
    print(f"  file      {model.file_name} ({model.size_bytes:,} bytes, sha256 {model.sha256})")
    print(f"  state     {shown['state']}")
    print(f"  cells     {model.cell_counts.total:,} ({model.cell_counts.formulas:,} formulas)")
    print(f"  saved by  {model.application or '-'}, calculation {shown['calculation_mode']}")
    print(f"  created   {shown['create_time']}")
    if model.HasField("latest_job"):
        print(f"  job       {job_line(model.latest_job)}")
    if model.sheets:
        print()
        rows = [("SHEET", "RANGE", "CELLS", "FORMULAS")]
        rows += [(s.name, s.dimension or "-", f"{s.cell_count:,}", f"{s.formula_count:,}")
                 for s in model.sheets]
        print_table(rows)
    return 0


def _delete(args: argparse.Namespace) -> int:
    name = model_ref(args.model)
    with connect(args) as connection:
        connection.workbooks.DeleteModel(workbooks_pb2.DeleteModelRequest(name=name),
                                         metadata=connection.metadata,
                                         timeout=connection.timeout)
    if args.json:
        print_json({"deleted": name})
    else:
        print(f"deleted {name}")
    return 0
