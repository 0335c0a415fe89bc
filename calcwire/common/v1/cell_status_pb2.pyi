from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class CellStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CELL_STATUS_UNSPECIFIED: _ClassVar[CellStatus]
    CELL_STATUS_MATCH: _ClassVar[CellStatus]
    CELL_STATUS_MISMATCH: _ClassVar[CellStatus]
    CELL_STATUS_NOT_CACHED: _ClassVar[CellStatus]
    CELL_STATUS_NOT_COMPUTABLE: _ClassVar[CellStatus]
    CELL_STATUS_VOLATILE: _ClassVar[CellStatus]
    CELL_STATUS_CIRCULAR: _ClassVar[CellStatus]
CELL_STATUS_UNSPECIFIED: CellStatus
CELL_STATUS_MATCH: CellStatus
CELL_STATUS_MISMATCH: CellStatus
CELL_STATUS_NOT_CACHED: CellStatus
CELL_STATUS_NOT_COMPUTABLE: CellStatus
CELL_STATUS_VOLATILE: CellStatus
CELL_STATUS_CIRCULAR: CellStatus

class Tolerance(_message.Message):
    __slots__ = ("absolute", "relative")
    ABSOLUTE_FIELD_NUMBER: _ClassVar[int]
    RELATIVE_FIELD_NUMBER: _ClassVar[int]
    absolute: float
    relative: float
    def __init__(self, absolute: _Optional[float] = ..., relative: _Optional[float] = ...) -> None: ...
