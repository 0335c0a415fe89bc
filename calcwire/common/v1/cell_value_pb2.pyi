from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ExcelError(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXCEL_ERROR_UNSPECIFIED: _ClassVar[ExcelError]
    EXCEL_ERROR_NULL: _ClassVar[ExcelError]
    EXCEL_ERROR_DIV0: _ClassVar[ExcelError]
    EXCEL_ERROR_VALUE: _ClassVar[ExcelError]
    EXCEL_ERROR_REF: _ClassVar[ExcelError]
    EXCEL_ERROR_NAME: _ClassVar[ExcelError]
    EXCEL_ERROR_NUM: _ClassVar[ExcelError]
    EXCEL_ERROR_NA: _ClassVar[ExcelError]
    EXCEL_ERROR_GETTING_DATA: _ClassVar[ExcelError]
    EXCEL_ERROR_SPILL: _ClassVar[ExcelError]
    EXCEL_ERROR_CALC: _ClassVar[ExcelError]
    EXCEL_ERROR_FIELD: _ClassVar[ExcelError]
    EXCEL_ERROR_BLOCKED: _ClassVar[ExcelError]
    EXCEL_ERROR_CONNECT: _ClassVar[ExcelError]
    EXCEL_ERROR_UNKNOWN: _ClassVar[ExcelError]
    EXCEL_ERROR_BUSY: _ClassVar[ExcelError]
    EXCEL_ERROR_PYTHON: _ClassVar[ExcelError]
EXCEL_ERROR_UNSPECIFIED: ExcelError
EXCEL_ERROR_NULL: ExcelError
EXCEL_ERROR_DIV0: ExcelError
EXCEL_ERROR_VALUE: ExcelError
EXCEL_ERROR_REF: ExcelError
EXCEL_ERROR_NAME: ExcelError
EXCEL_ERROR_NUM: ExcelError
EXCEL_ERROR_NA: ExcelError
EXCEL_ERROR_GETTING_DATA: ExcelError
EXCEL_ERROR_SPILL: ExcelError
EXCEL_ERROR_CALC: ExcelError
EXCEL_ERROR_FIELD: ExcelError
EXCEL_ERROR_BLOCKED: ExcelError
EXCEL_ERROR_CONNECT: ExcelError
EXCEL_ERROR_UNKNOWN: ExcelError
EXCEL_ERROR_BUSY: ExcelError
EXCEL_ERROR_PYTHON: ExcelError

class CellValue(_message.Message):
    __slots__ = ("number_value", "string_value", "boolean_value", "error_value", "empty_value")
    NUMBER_VALUE_FIELD_NUMBER: _ClassVar[int]
    STRING_VALUE_FIELD_NUMBER: _ClassVar[int]
    BOOLEAN_VALUE_FIELD_NUMBER: _ClassVar[int]
    ERROR_VALUE_FIELD_NUMBER: _ClassVar[int]
    EMPTY_VALUE_FIELD_NUMBER: _ClassVar[int]
    number_value: float
    string_value: str
    boolean_value: bool
    error_value: ExcelError
    empty_value: _struct_pb2.NullValue
    def __init__(self, number_value: _Optional[float] = ..., string_value: _Optional[str] = ..., boolean_value: _Optional[bool] = ..., error_value: _Optional[_Union[ExcelError, str]] = ..., empty_value: _Optional[_Union[_struct_pb2.NullValue, str]] = ...) -> None: ...

class CellValueArray(_message.Message):
    __slots__ = ("rows", "columns", "values")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    rows: int
    columns: int
    values: _containers.RepeatedCompositeFieldContainer[CellValue]
    def __init__(self, rows: _Optional[int] = ..., columns: _Optional[int] = ..., values: _Optional[_Iterable[_Union[CellValue, _Mapping]]] = ...) -> None: ...
