import datetime

from calcwire.common.v1 import calculation_pb2 as _calculation_pb2
from calcwire.common.v1 import cell_status_pb2 as _cell_status_pb2
from calcwire.common.v1 import cell_value_pb2 as _cell_value_pb2
from calcwire.jobs.v1 import jobs_pb2 as _jobs_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CellResult(_message.Message):
    __slots__ = ("sheet", "address", "row", "column", "formula", "cached", "computed", "status", "reason", "absolute_difference")
    SHEET_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ROW_FIELD_NUMBER: _ClassVar[int]
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    FORMULA_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    COMPUTED_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ABSOLUTE_DIFFERENCE_FIELD_NUMBER: _ClassVar[int]
    sheet: str
    address: str
    row: int
    column: int
    formula: str
    cached: _cell_value_pb2.CellValue
    computed: _cell_value_pb2.CellValue
    status: _cell_status_pb2.CellStatus
    reason: str
    absolute_difference: float
    def __init__(self, sheet: _Optional[str] = ..., address: _Optional[str] = ..., row: _Optional[int] = ..., column: _Optional[int] = ..., formula: _Optional[str] = ..., cached: _Optional[_Union[_cell_value_pb2.CellValue, _Mapping]] = ..., computed: _Optional[_Union[_cell_value_pb2.CellValue, _Mapping]] = ..., status: _Optional[_Union[_cell_status_pb2.CellStatus, str]] = ..., reason: _Optional[str] = ..., absolute_difference: _Optional[float] = ...) -> None: ...

class StatusCounts(_message.Message):
    __slots__ = ("formula_cells", "match", "mismatch", "not_cached", "not_computable", "volatile", "circular")
    FORMULA_CELLS_FIELD_NUMBER: _ClassVar[int]
    MATCH_FIELD_NUMBER: _ClassVar[int]
    MISMATCH_FIELD_NUMBER: _ClassVar[int]
    NOT_CACHED_FIELD_NUMBER: _ClassVar[int]
    NOT_COMPUTABLE_FIELD_NUMBER: _ClassVar[int]
    VOLATILE_FIELD_NUMBER: _ClassVar[int]
    CIRCULAR_FIELD_NUMBER: _ClassVar[int]
    formula_cells: int
    match: int
    mismatch: int
    not_cached: int
    not_computable: int
    volatile: int
    circular: int
    def __init__(self, formula_cells: _Optional[int] = ..., match: _Optional[int] = ..., mismatch: _Optional[int] = ..., not_cached: _Optional[int] = ..., not_computable: _Optional[int] = ..., volatile: _Optional[int] = ..., circular: _Optional[int] = ...) -> None: ...

class SheetSummary(_message.Message):
    __slots__ = ("sheet", "counts")
    SHEET_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    sheet: str
    counts: StatusCounts
    def __init__(self, sheet: _Optional[str] = ..., counts: _Optional[_Union[StatusCounts, _Mapping]] = ...) -> None: ...

class ValidationSummary(_message.Message):
    __slots__ = ("model", "job", "tolerance", "totals", "sheets", "largest_mismatches", "calculation_mode", "findings", "create_time")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    TOLERANCE_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    SHEETS_FIELD_NUMBER: _ClassVar[int]
    LARGEST_MISMATCHES_FIELD_NUMBER: _ClassVar[int]
    CALCULATION_MODE_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    model: str
    job: str
    tolerance: _cell_status_pb2.Tolerance
    totals: StatusCounts
    sheets: _containers.RepeatedCompositeFieldContainer[SheetSummary]
    largest_mismatches: _containers.RepeatedCompositeFieldContainer[CellResult]
    calculation_mode: _calculation_pb2.CalculationMode
    findings: _containers.RepeatedScalarFieldContainer[str]
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, model: _Optional[str] = ..., job: _Optional[str] = ..., tolerance: _Optional[_Union[_cell_status_pb2.Tolerance, _Mapping]] = ..., totals: _Optional[_Union[StatusCounts, _Mapping]] = ..., sheets: _Optional[_Iterable[_Union[SheetSummary, _Mapping]]] = ..., largest_mismatches: _Optional[_Iterable[_Union[CellResult, _Mapping]]] = ..., calculation_mode: _Optional[_Union[_calculation_pb2.CalculationMode, str]] = ..., findings: _Optional[_Iterable[str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ValidateModelRequest(_message.Message):
    __slots__ = ("name", "tolerance", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TOLERANCE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    tolerance: _cell_status_pb2.Tolerance
    request_id: str
    def __init__(self, name: _Optional[str] = ..., tolerance: _Optional[_Union[_cell_status_pb2.Tolerance, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class ValidateModelResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _jobs_pb2.Job
    def __init__(self, job: _Optional[_Union[_jobs_pb2.Job, _Mapping]] = ...) -> None: ...

class GetValidationSummaryRequest(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: str
    def __init__(self, model: _Optional[str] = ...) -> None: ...

class GetValidationSummaryResponse(_message.Message):
    __slots__ = ("summary",)
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    summary: ValidationSummary
    def __init__(self, summary: _Optional[_Union[ValidationSummary, _Mapping]] = ...) -> None: ...

class ListMismatchesRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "sheet")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SHEET_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    sheet: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., sheet: _Optional[str] = ...) -> None: ...

class ListMismatchesResponse(_message.Message):
    __slots__ = ("results", "next_page_token", "total_size")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[CellResult]
    next_page_token: str
    total_size: int
    def __init__(self, results: _Optional[_Iterable[_Union[CellResult, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class ListUncalculatedRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "sheet")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SHEET_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    sheet: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., sheet: _Optional[str] = ...) -> None: ...

class ListUncalculatedResponse(_message.Message):
    __slots__ = ("results", "next_page_token", "total_size")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[CellResult]
    next_page_token: str
    total_size: int
    def __init__(self, results: _Optional[_Iterable[_Union[CellResult, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class ListCellResultsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "sheet", "statuses", "range")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SHEET_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    sheet: str
    statuses: _containers.RepeatedScalarFieldContainer[_cell_status_pb2.CellStatus]
    range: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., sheet: _Optional[str] = ..., statuses: _Optional[_Iterable[_Union[_cell_status_pb2.CellStatus, str]]] = ..., range: _Optional[str] = ...) -> None: ...

class ListCellResultsResponse(_message.Message):
    __slots__ = ("results", "next_page_token")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[CellResult]
    next_page_token: str
    def __init__(self, results: _Optional[_Iterable[_Union[CellResult, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CellKey(_message.Message):
    __slots__ = ("sheet", "row", "column")
    SHEET_FIELD_NUMBER: _ClassVar[int]
    ROW_FIELD_NUMBER: _ClassVar[int]
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    sheet: str
    row: int
    column: int
    def __init__(self, sheet: _Optional[str] = ..., row: _Optional[int] = ..., column: _Optional[int] = ...) -> None: ...

class BatchGetCellResultsRequest(_message.Message):
    __slots__ = ("parent", "cells", "status")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    CELLS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    parent: str
    cells: _containers.RepeatedCompositeFieldContainer[CellKey]
    status: _cell_status_pb2.CellStatus
    def __init__(self, parent: _Optional[str] = ..., cells: _Optional[_Iterable[_Union[CellKey, _Mapping]]] = ..., status: _Optional[_Union[_cell_status_pb2.CellStatus, str]] = ...) -> None: ...

class BatchGetCellResultsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[CellResult]
    def __init__(self, results: _Optional[_Iterable[_Union[CellResult, _Mapping]]] = ...) -> None: ...
