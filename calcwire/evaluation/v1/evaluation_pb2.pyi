import datetime

from calcwire.common.v1 import cell_value_pb2 as _cell_value_pb2
from calcwire.jobs.v1 import jobs_pb2 as _jobs_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ComputeStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMPUTE_STATUS_UNSPECIFIED: _ClassVar[ComputeStatus]
    COMPUTE_STATUS_COMPUTED: _ClassVar[ComputeStatus]
    COMPUTE_STATUS_NOT_COMPUTABLE: _ClassVar[ComputeStatus]
    COMPUTE_STATUS_CIRCULAR: _ClassVar[ComputeStatus]
COMPUTE_STATUS_UNSPECIFIED: ComputeStatus
COMPUTE_STATUS_COMPUTED: ComputeStatus
COMPUTE_STATUS_NOT_COMPUTABLE: ComputeStatus
COMPUTE_STATUS_CIRCULAR: ComputeStatus

class ComputedValue(_message.Message):
    __slots__ = ("sheet", "row", "column", "value", "status", "reason", "volatile")
    SHEET_FIELD_NUMBER: _ClassVar[int]
    ROW_FIELD_NUMBER: _ClassVar[int]
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    VOLATILE_FIELD_NUMBER: _ClassVar[int]
    sheet: str
    row: int
    column: int
    value: _cell_value_pb2.CellValue
    status: ComputeStatus
    reason: str
    volatile: bool
    def __init__(self, sheet: _Optional[str] = ..., row: _Optional[int] = ..., column: _Optional[int] = ..., value: _Optional[_Union[_cell_value_pb2.CellValue, _Mapping]] = ..., status: _Optional[_Union[ComputeStatus, str]] = ..., reason: _Optional[str] = ..., volatile: _Optional[bool] = ...) -> None: ...

class StreamComputedValuesRequest(_message.Message):
    __slots__ = ("model", "batch_size")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    model: str
    batch_size: int
    def __init__(self, model: _Optional[str] = ..., batch_size: _Optional[int] = ...) -> None: ...

class StreamComputedValuesResponse(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedCompositeFieldContainer[ComputedValue]
    def __init__(self, values: _Optional[_Iterable[_Union[ComputedValue, _Mapping]]] = ...) -> None: ...

class EvaluateModelRequest(_message.Message):
    __slots__ = ("name", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    request_id: str
    def __init__(self, name: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class EvaluateModelResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: _jobs_pb2.Job
    def __init__(self, job: _Optional[_Union[_jobs_pb2.Job, _Mapping]] = ...) -> None: ...

class CalculateRequest(_message.Message):
    __slots__ = ("model", "overrides", "outputs")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    model: str
    overrides: _containers.RepeatedCompositeFieldContainer[InputOverride]
    outputs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, model: _Optional[str] = ..., overrides: _Optional[_Iterable[_Union[InputOverride, _Mapping]]] = ..., outputs: _Optional[_Iterable[str]] = ...) -> None: ...

class InputOverride(_message.Message):
    __slots__ = ("reference", "value")
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    reference: str
    value: _cell_value_pb2.CellValue
    def __init__(self, reference: _Optional[str] = ..., value: _Optional[_Union[_cell_value_pb2.CellValue, _Mapping]] = ...) -> None: ...

class CalculateResponse(_message.Message):
    __slots__ = ("outputs", "recomputed_cells", "compute_time", "warm")
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    RECOMPUTED_CELLS_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_TIME_FIELD_NUMBER: _ClassVar[int]
    WARM_FIELD_NUMBER: _ClassVar[int]
    outputs: _containers.RepeatedCompositeFieldContainer[OutputValue]
    recomputed_cells: int
    compute_time: _duration_pb2.Duration
    warm: bool
    def __init__(self, outputs: _Optional[_Iterable[_Union[OutputValue, _Mapping]]] = ..., recomputed_cells: _Optional[int] = ..., compute_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., warm: _Optional[bool] = ...) -> None: ...

class OutputValue(_message.Message):
    __slots__ = ("reference", "value", "values", "not_computable_reason")
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    NOT_COMPUTABLE_REASON_FIELD_NUMBER: _ClassVar[int]
    reference: str
    value: _cell_value_pb2.CellValue
    values: _cell_value_pb2.CellValueArray
    not_computable_reason: str
    def __init__(self, reference: _Optional[str] = ..., value: _Optional[_Union[_cell_value_pb2.CellValue, _Mapping]] = ..., values: _Optional[_Union[_cell_value_pb2.CellValueArray, _Mapping]] = ..., not_computable_reason: _Optional[str] = ...) -> None: ...
