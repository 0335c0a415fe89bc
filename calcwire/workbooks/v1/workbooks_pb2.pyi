import datetime

from calcwire.common.v1 import calculation_pb2 as _calculation_pb2
from calcwire.common.v1 import cell_status_pb2 as _cell_status_pb2
from calcwire.common.v1 import cell_value_pb2 as _cell_value_pb2
from calcwire.jobs.v1 import jobs_pb2 as _jobs_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ModelState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODEL_STATE_UNSPECIFIED: _ClassVar[ModelState]
    MODEL_STATE_IMPORTING: _ClassVar[ModelState]
    MODEL_STATE_READY: _ClassVar[ModelState]
    MODEL_STATE_FAILED: _ClassVar[ModelState]

class SheetVisibility(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SHEET_VISIBILITY_UNSPECIFIED: _ClassVar[SheetVisibility]
    SHEET_VISIBILITY_VISIBLE: _ClassVar[SheetVisibility]
    SHEET_VISIBILITY_HIDDEN: _ClassVar[SheetVisibility]
    SHEET_VISIBILITY_VERY_HIDDEN: _ClassVar[SheetVisibility]

class FormulaKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FORMULA_KIND_UNSPECIFIED: _ClassVar[FormulaKind]
    FORMULA_KIND_NORMAL: _ClassVar[FormulaKind]
    FORMULA_KIND_ARRAY: _ClassVar[FormulaKind]
    FORMULA_KIND_DYNAMIC_ARRAY: _ClassVar[FormulaKind]
    FORMULA_KIND_DATA_TABLE: _ClassVar[FormulaKind]
MODEL_STATE_UNSPECIFIED: ModelState
MODEL_STATE_IMPORTING: ModelState
MODEL_STATE_READY: ModelState
MODEL_STATE_FAILED: ModelState
SHEET_VISIBILITY_UNSPECIFIED: SheetVisibility
SHEET_VISIBILITY_VISIBLE: SheetVisibility
SHEET_VISIBILITY_HIDDEN: SheetVisibility
SHEET_VISIBILITY_VERY_HIDDEN: SheetVisibility
FORMULA_KIND_UNSPECIFIED: FormulaKind
FORMULA_KIND_NORMAL: FormulaKind
FORMULA_KIND_ARRAY: FormulaKind
FORMULA_KIND_DYNAMIC_ARRAY: FormulaKind
FORMULA_KIND_DATA_TABLE: FormulaKind

class Model(_message.Message):
    __slots__ = ("name", "display_name", "file_name", "sha256", "size_bytes", "state", "sheets", "cell_counts", "defined_names", "calculation", "tolerance", "validate", "create_time", "update_time", "latest_job", "external_links", "tables", "application")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SHEETS_FIELD_NUMBER: _ClassVar[int]
    CELL_COUNTS_FIELD_NUMBER: _ClassVar[int]
    DEFINED_NAMES_FIELD_NUMBER: _ClassVar[int]
    CALCULATION_FIELD_NUMBER: _ClassVar[int]
    TOLERANCE_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    LATEST_JOB_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_LINKS_FIELD_NUMBER: _ClassVar[int]
    TABLES_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    file_name: str
    sha256: str
    size_bytes: int
    state: ModelState
    sheets: _containers.RepeatedCompositeFieldContainer[Sheet]
    cell_counts: CellCounts
    defined_names: _containers.RepeatedCompositeFieldContainer[DefinedName]
    calculation: _calculation_pb2.CalculationSettings
    tolerance: _cell_status_pb2.Tolerance
    validate: bool
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    latest_job: _jobs_pb2.Job
    external_links: _containers.RepeatedCompositeFieldContainer[ExternalLink]
    tables: _containers.RepeatedCompositeFieldContainer[Table]
    application: str
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., file_name: _Optional[str] = ..., sha256: _Optional[str] = ..., size_bytes: _Optional[int] = ..., state: _Optional[_Union[ModelState, str]] = ..., sheets: _Optional[_Iterable[_Union[Sheet, _Mapping]]] = ..., cell_counts: _Optional[_Union[CellCounts, _Mapping]] = ..., defined_names: _Optional[_Iterable[_Union[DefinedName, _Mapping]]] = ..., calculation: _Optional[_Union[_calculation_pb2.CalculationSettings, _Mapping]] = ..., tolerance: _Optional[_Union[_cell_status_pb2.Tolerance, _Mapping]] = ..., validate: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., latest_job: _Optional[_Union[_jobs_pb2.Job, _Mapping]] = ..., external_links: _Optional[_Iterable[_Union[ExternalLink, _Mapping]]] = ..., tables: _Optional[_Iterable[_Union[Table, _Mapping]]] = ..., application: _Optional[str] = ...) -> None: ...

class Table(_message.Message):
    __slots__ = ("name", "display_name", "sheet", "range", "header_row_count", "totals_row_count", "columns")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    SHEET_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    HEADER_ROW_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOTALS_ROW_COUNT_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    sheet: str
    range: str
    header_row_count: int
    totals_row_count: int
    columns: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., sheet: _Optional[str] = ..., range: _Optional[str] = ..., header_row_count: _Optional[int] = ..., totals_row_count: _Optional[int] = ..., columns: _Optional[_Iterable[str]] = ...) -> None: ...

class ExternalLink(_message.Message):
    __slots__ = ("index", "target", "sheet_names", "cells", "defined_names", "refresh_error_sheets")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    SHEET_NAMES_FIELD_NUMBER: _ClassVar[int]
    CELLS_FIELD_NUMBER: _ClassVar[int]
    DEFINED_NAMES_FIELD_NUMBER: _ClassVar[int]
    REFRESH_ERROR_SHEETS_FIELD_NUMBER: _ClassVar[int]
    index: int
    target: str
    sheet_names: _containers.RepeatedScalarFieldContainer[str]
    cells: _containers.RepeatedCompositeFieldContainer[ExternalCell]
    defined_names: _containers.RepeatedCompositeFieldContainer[DefinedName]
    refresh_error_sheets: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, index: _Optional[int] = ..., target: _Optional[str] = ..., sheet_names: _Optional[_Iterable[str]] = ..., cells: _Optional[_Iterable[_Union[ExternalCell, _Mapping]]] = ..., defined_names: _Optional[_Iterable[_Union[DefinedName, _Mapping]]] = ..., refresh_error_sheets: _Optional[_Iterable[str]] = ...) -> None: ...

class ExternalCell(_message.Message):
    __slots__ = ("sheet", "address", "value")
    SHEET_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    sheet: str
    address: str
    value: _cell_value_pb2.CellValue
    def __init__(self, sheet: _Optional[str] = ..., address: _Optional[str] = ..., value: _Optional[_Union[_cell_value_pb2.CellValue, _Mapping]] = ...) -> None: ...

class Sheet(_message.Message):
    __slots__ = ("name", "index", "visibility", "dimension", "cell_count", "formula_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    VISIBILITY_FIELD_NUMBER: _ClassVar[int]
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    CELL_COUNT_FIELD_NUMBER: _ClassVar[int]
    FORMULA_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    index: int
    visibility: SheetVisibility
    dimension: str
    cell_count: int
    formula_count: int
    def __init__(self, name: _Optional[str] = ..., index: _Optional[int] = ..., visibility: _Optional[_Union[SheetVisibility, str]] = ..., dimension: _Optional[str] = ..., cell_count: _Optional[int] = ..., formula_count: _Optional[int] = ...) -> None: ...

class CellCounts(_message.Message):
    __slots__ = ("total", "formulas", "numbers", "strings", "booleans", "errors")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    FORMULAS_FIELD_NUMBER: _ClassVar[int]
    NUMBERS_FIELD_NUMBER: _ClassVar[int]
    STRINGS_FIELD_NUMBER: _ClassVar[int]
    BOOLEANS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    total: int
    formulas: int
    numbers: int
    strings: int
    booleans: int
    errors: int
    def __init__(self, total: _Optional[int] = ..., formulas: _Optional[int] = ..., numbers: _Optional[int] = ..., strings: _Optional[int] = ..., booleans: _Optional[int] = ..., errors: _Optional[int] = ...) -> None: ...

class DefinedName(_message.Message):
    __slots__ = ("name", "refers_to", "scope", "hidden")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REFERS_TO_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_FIELD_NUMBER: _ClassVar[int]
    name: str
    refers_to: str
    scope: str
    hidden: bool
    def __init__(self, name: _Optional[str] = ..., refers_to: _Optional[str] = ..., scope: _Optional[str] = ..., hidden: _Optional[bool] = ...) -> None: ...

class Cell(_message.Message):
    __slots__ = ("sheet", "address", "row", "column", "value", "formula", "formula_kind", "array_range", "number_format", "computed_value", "validation_status", "reason")
    SHEET_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ROW_FIELD_NUMBER: _ClassVar[int]
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    FORMULA_FIELD_NUMBER: _ClassVar[int]
    FORMULA_KIND_FIELD_NUMBER: _ClassVar[int]
    ARRAY_RANGE_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FORMAT_FIELD_NUMBER: _ClassVar[int]
    COMPUTED_VALUE_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    sheet: str
    address: str
    row: int
    column: int
    value: _cell_value_pb2.CellValue
    formula: str
    formula_kind: FormulaKind
    array_range: str
    number_format: str
    computed_value: _cell_value_pb2.CellValue
    validation_status: _cell_status_pb2.CellStatus
    reason: str
    def __init__(self, sheet: _Optional[str] = ..., address: _Optional[str] = ..., row: _Optional[int] = ..., column: _Optional[int] = ..., value: _Optional[_Union[_cell_value_pb2.CellValue, _Mapping]] = ..., formula: _Optional[str] = ..., formula_kind: _Optional[_Union[FormulaKind, str]] = ..., array_range: _Optional[str] = ..., number_format: _Optional[str] = ..., computed_value: _Optional[_Union[_cell_value_pb2.CellValue, _Mapping]] = ..., validation_status: _Optional[_Union[_cell_status_pb2.CellStatus, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class UploadWorkbookRequest(_message.Message):
    __slots__ = ("metadata", "chunk")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    metadata: UploadMetadata
    chunk: bytes
    def __init__(self, metadata: _Optional[_Union[UploadMetadata, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class UploadMetadata(_message.Message):
    __slots__ = ("display_name", "file_name", "request_id", "validate", "tolerance", "expected_size_bytes")
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_FIELD_NUMBER: _ClassVar[int]
    TOLERANCE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    display_name: str
    file_name: str
    request_id: str
    validate: bool
    tolerance: _cell_status_pb2.Tolerance
    expected_size_bytes: int
    def __init__(self, display_name: _Optional[str] = ..., file_name: _Optional[str] = ..., request_id: _Optional[str] = ..., validate: _Optional[bool] = ..., tolerance: _Optional[_Union[_cell_status_pb2.Tolerance, _Mapping]] = ..., expected_size_bytes: _Optional[int] = ...) -> None: ...

class UploadWorkbookResponse(_message.Message):
    __slots__ = ("model", "job")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    model: Model
    job: _jobs_pb2.Job
    def __init__(self, model: _Optional[_Union[Model, _Mapping]] = ..., job: _Optional[_Union[_jobs_pb2.Job, _Mapping]] = ...) -> None: ...

class GetModelRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetModelResponse(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: Model
    def __init__(self, model: _Optional[_Union[Model, _Mapping]] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "filter")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    filter: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models", "next_page_token")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[Model]
    next_page_token: str
    def __init__(self, models: _Optional[_Iterable[_Union[Model, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteModelRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteModelResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListCellsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "sheet", "range", "formulas_only", "validation_status")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SHEET_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    FORMULAS_ONLY_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_STATUS_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    sheet: str
    range: str
    formulas_only: bool
    validation_status: _cell_status_pb2.CellStatus
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., sheet: _Optional[str] = ..., range: _Optional[str] = ..., formulas_only: _Optional[bool] = ..., validation_status: _Optional[_Union[_cell_status_pb2.CellStatus, str]] = ...) -> None: ...

class ListCellsResponse(_message.Message):
    __slots__ = ("cells", "next_page_token")
    CELLS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    cells: _containers.RepeatedCompositeFieldContainer[Cell]
    next_page_token: str
    def __init__(self, cells: _Optional[_Iterable[_Union[Cell, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class StreamCellsRequest(_message.Message):
    __slots__ = ("parent", "sheet", "batch_size", "file_contents_only")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    SHEET_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    FILE_CONTENTS_ONLY_FIELD_NUMBER: _ClassVar[int]
    parent: str
    sheet: str
    batch_size: int
    file_contents_only: bool
    def __init__(self, parent: _Optional[str] = ..., sheet: _Optional[str] = ..., batch_size: _Optional[int] = ..., file_contents_only: _Optional[bool] = ...) -> None: ...

class StreamCellsResponse(_message.Message):
    __slots__ = ("cells",)
    CELLS_FIELD_NUMBER: _ClassVar[int]
    cells: _containers.RepeatedCompositeFieldContainer[Cell]
    def __init__(self, cells: _Optional[_Iterable[_Union[Cell, _Mapping]]] = ...) -> None: ...
