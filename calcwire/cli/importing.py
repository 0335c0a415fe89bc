"""``calcwire import FILE``: upload a workbook, follow its job, print the validation summary.

The file goes up as ``UploadWorkbook``'s client stream: the metadata first
(with a request id, so that a retry after a broken connection returns the
first upload's model and job instead of a second one, and the file's size, so
that a cut-short upload is refused), then 1 MiB chunks. The job is then
followed (:mod:`calcwire.cli.watch`) to its end, and the summary printed in
the layout of ``calcwire check`` (:mod:`calcwire.cli.report`), filled from
``ValidationService``: the counts of ``GetValidationSummary`` and the cells of
``ListMismatches``, ``ListUncalculated`` and, for volatile cells,
``ListCellResults``.

Exit status: 0 no mismatch, 1 mismatches found, 2 the file or an option is
wrong (also a workbook the import could not parse), 3 the services failed or
could not be reached (also a job cancelled by someone else), 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import grpc

from calcwire import errors
from calcwire.cli.client import Connection, connect, connection_options
from calcwire.cli.output import ByteProgress, StageProgress, job_json, print_json
from calcwire.cli.report import CheckedCell, CheckReport, render_text, report_json
from calcwire.cli.watch import follow_job, interrupt_asks_to_cancel, job_outcome
from calcwire.common.v1 import cell_status_pb2
from calcwire.validation.v1 import validation_pb2
from calcwire.values import is_number
from calcwire.wire import calc_settings_from_proto, tolerance_from_proto, value_from_proto
from calcwire.workbooks.v1 import workbooks_pb2
from validation_svc.compare import (
    DEFAULT_TOLERANCE,
    Status,
    StatusCounts,
    Summary,
    Tolerance,
    Verdict,
)

__all__ = ["fetch_report", "register", "run", "service_report", "upload_workbook"]

CHUNK_BYTES: Final = 1024 * 1024
_UPLOAD_ATTEMPTS: Final = 3
_PAGE_SIZE: Final = 10_000
_STATUSES: Final = {
    cell_status_pb2.CELL_STATUS_MATCH: Status.MATCH,
    cell_status_pb2.CELL_STATUS_MISMATCH: Status.MISMATCH,
    cell_status_pb2.CELL_STATUS_NOT_CACHED: Status.NOT_CACHED,
    cell_status_pb2.CELL_STATUS_NOT_COMPUTABLE: Status.NOT_COMPUTABLE,
    cell_status_pb2.CELL_STATUS_VOLATILE: Status.VOLATILE,
    cell_status_pb2.CELL_STATUS_CIRCULAR: Status.CIRCULAR,
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "import",
        parents=[connection_options()],
        help="upload a workbook to calcwire, follow its job and print the validation summary",
        description="Upload an .xlsx/.xlsm workbook through the gateway, follow its job "
        "(import, evaluation, validation) with live progress on stderr, and print the "
        "validation summary as `calcwire check` does. Ctrl-C while it follows the job asks "
        "whether to cancel it. Exit status: 0 no mismatch, 1 mismatches found, 2 bad "
        "file or option (a workbook that cannot be parsed, an unknown model, a refused API "
        "key), 3 the services failed or cannot be reached, 130 interrupted.",
    )
    parser.add_argument("file", metavar="FILE", help="the workbook (.xlsx or .xlsm)")
    parser.add_argument("--name", default="", help="a name for people (default: the file name)")
    parser.add_argument("--tolerance", type=float, default=None, metavar="T",
                        help="absolute tolerance for numbers (default 1e-6)")
    parser.add_argument("--relative-tolerance", type=float, default=None, metavar="R",
                        help="relative tolerance for numbers (default 1e-9)")
    parser.add_argument("--all-cells", action="store_true",
                        help="list every cell that does not match, not only 20 per sheet")
    parser.add_argument("--no-wait", action="store_true",
                        help="print the model and job once uploaded, and return")
    parser.add_argument("--request-id", default=None, metavar="ID",
                        help="the upload's idempotency key (default: a new UUID); the same id "
                             "again returns the first upload's model and job")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise errors.InvalidArgument(f"{path}: no such file", reason="FILE_NOT_FOUND")
    tolerance = Tolerance(
        absolute=DEFAULT_TOLERANCE.absolute if args.tolerance is None else args.tolerance,
        relative=DEFAULT_TOLERANCE.relative if args.relative_tolerance is None
        else args.relative_tolerance,
    )
    metadata = workbooks_pb2.UploadMetadata(
        display_name=args.name,
        file_name=path.name,
        request_id=args.request_id or str(uuid.uuid4()),
        validate=True,
        tolerance=cell_status_pb2.Tolerance(absolute=tolerance.absolute,
                                            relative=tolerance.relative),
    )
    with connect(args) as connection:
        started = time.monotonic()
        uploaded = upload_workbook(connection, path, metadata, quiet=args.quiet)
        upload_seconds = time.monotonic() - started
        model, job = uploaded.model, uploaded.job
        if args.no_wait:
            if args.json:
                print_json({"model": model.name, "job": job_json(job)})
            else:
                print(f"model {model.name}\njob {job.name}")
            return 0
        progress = StageProgress(quiet=args.quiet)
        started = time.monotonic()
        with interrupt_asks_to_cancel(connection, job.name, progress):
            if not args.json:
                print(f"model {model.name} · job {job.name}", flush=True)
            job = follow_job(connection, job.name, progress)
        pipeline_seconds = time.monotonic() - started
        job_outcome(job, path.name)
        report = fetch_report(connection, model.name, str(path))
        report.timings = {"upload": upload_seconds, "processing": pipeline_seconds}
    if args.json:
        print_json({"model": model.name, "job": job_json(job), **report_json(report)})
    else:
        sys.stdout.write(render_text(report, all_cells=args.all_cells))
    return 1 if report.summary.totals.mismatch else 0


def upload_workbook(connection: Connection, path: Path, metadata: workbooks_pb2.UploadMetadata,
                    *, quiet: bool = False) -> workbooks_pb2.UploadWorkbookResponse:
    """Upload ``path`` in chunks with a progress bar; again with the same request id when
    the connection breaks (UNAVAILABLE), so that the service keeps one model."""
    size = path.stat().st_size
    metadata.expected_size_bytes = size
    for attempt in range(1, _UPLOAD_ATTEMPTS + 1):
        progress = ByteProgress(path.name, size, quiet=quiet)
        try:
            response: workbooks_pb2.UploadWorkbookResponse = connection.workbooks.UploadWorkbook(
                _requests(path, metadata, progress.update), metadata=connection.metadata
            )
        except grpc.RpcError as error:
            progress.close()
            retry = (isinstance(error, grpc.Call) and error.code() == grpc.StatusCode.UNAVAILABLE
                     and attempt < _UPLOAD_ATTEMPTS)
            if not retry:
                raise
            progress.line(f"upload interrupted ({error.details()}); retrying")
            time.sleep(0.5 * attempt)
            continue
        progress.done()
        return response
    raise AssertionError("unreachable")  # pragma: no cover


def _requests(path: Path, metadata: workbooks_pb2.UploadMetadata,
              sent: Callable[[int], None]) -> Iterator[workbooks_pb2.UploadWorkbookRequest]:
    yield workbooks_pb2.UploadWorkbookRequest(metadata=metadata)
    done = 0
    sent(0)
    with path.open("rb") as file:
        while chunk := file.read(CHUNK_BYTES):
            done += len(chunk)
            yield workbooks_pb2.UploadWorkbookRequest(chunk=chunk)
            sent(done)


# --------------------------------------------------------------------------- the report


def _pages(list_call: Callable[[str], Any]) -> Iterator[Any]:
    token = ""
    while True:
        page = list_call(token)
        yield page
        token = page.next_page_token
        if not token:
            return


def fetch_report(connection: Connection, model_name: str, file: str) -> CheckReport:
    """The validation of ``model_name`` as a :class:`CheckReport`: the summary, and every
    formula cell that does not match."""
    md, timeout = connection.metadata, connection.timeout
    model = connection.workbooks.GetModel(
        workbooks_pb2.GetModelRequest(name=model_name), metadata=md, timeout=timeout).model
    summary = connection.validation.GetValidationSummary(
        validation_pb2.GetValidationSummaryRequest(model=model_name), metadata=md,
        timeout=timeout).summary
    totals = summary.totals
    results: list[validation_pb2.CellResult] = []
    if totals.mismatch:
        for page in _pages(lambda token: connection.validation.ListMismatches(
                validation_pb2.ListMismatchesRequest(parent=model_name, page_size=_PAGE_SIZE,
                                                     page_token=token),
                metadata=md, timeout=timeout)):
            results.extend(page.results)
    if totals.not_cached or totals.not_computable or totals.circular:
        for page in _pages(lambda token: connection.validation.ListUncalculated(
                validation_pb2.ListUncalculatedRequest(parent=model_name, page_size=_PAGE_SIZE,
                                                       page_token=token),
                metadata=md, timeout=timeout)):
            results.extend(page.results)
    if totals.volatile:
        for page in _pages(lambda token: connection.validation.ListCellResults(
                validation_pb2.ListCellResultsRequest(
                    parent=model_name, page_size=_PAGE_SIZE, page_token=token,
                    statuses=[cell_status_pb2.CELL_STATUS_VOLATILE]),
                metadata=md, timeout=timeout)):
            results.extend(page.results)
    return service_report(model, summary, results, file)


def _counts(message: validation_pb2.StatusCounts) -> StatusCounts:
    return StatusCounts(
        formula_cells=message.formula_cells, match=message.match, mismatch=message.mismatch,
        not_cached=message.not_cached, not_computable=message.not_computable,
        volatile=message.volatile, circular=message.circular,
    )


def service_report(model: workbooks_pb2.Model, summary: validation_pb2.ValidationSummary,
                   results: list[validation_pb2.CellResult], file: str) -> CheckReport:
    """What the services say about a model, as ``calcwire check`` would have said it:
    cells in workbook order, differences as check ranks them (a difference of kind,
    text against a number, ranks above any number)."""
    sheet_order = [sheet.name for sheet in sorted(model.sheets, key=lambda s: s.index)]
    position = {name: index for index, name in enumerate(sheet_order)}
    totals = Summary(totals=_counts(summary.totals))
    for sheet in summary.sheets:
        totals.sheets[sheet.sheet] = _counts(sheet.counts)
    cells = []
    for result in sorted(results, key=lambda r: (position.get(r.sheet, len(position)), r.sheet,
                                                 r.row, r.column)):
        status = _STATUSES.get(result.status, Status.NOT_COMPUTABLE)
        cached, computed = value_from_proto(result.cached), value_from_proto(result.computed)
        difference: float | None = None
        if status in (Status.MISMATCH, Status.VOLATILE):
            difference = (result.absolute_difference if is_number(cached) and is_number(computed)
                          else math.inf)
        cells.append(CheckedCell(
            sheet=result.sheet, row=result.row, col=result.column,
            formula=result.formula.removeprefix("="), cached=cached, computed=computed,
            verdict=Verdict(status, result.reason or None, difference),
        ))
    absolute, relative = tolerance_from_proto(summary.tolerance)
    return CheckReport(
        file=file, sha256=model.sha256, calc=calc_settings_from_proto(model.calculation)[0],
        tolerance=Tolerance(absolute, relative), summary=totals, cells=cells,
        sheet_order=sheet_order,
    )
