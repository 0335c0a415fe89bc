from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CalculationMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CALCULATION_MODE_UNSPECIFIED: _ClassVar[CalculationMode]
    CALCULATION_MODE_AUTOMATIC: _ClassVar[CalculationMode]
    CALCULATION_MODE_AUTOMATIC_EXCEPT_TABLES: _ClassVar[CalculationMode]
    CALCULATION_MODE_MANUAL: _ClassVar[CalculationMode]
CALCULATION_MODE_UNSPECIFIED: CalculationMode
CALCULATION_MODE_AUTOMATIC: CalculationMode
CALCULATION_MODE_AUTOMATIC_EXCEPT_TABLES: CalculationMode
CALCULATION_MODE_MANUAL: CalculationMode

class CalculationSettings(_message.Message):
    __slots__ = ("mode", "iterate", "iterate_count", "iterate_delta", "full_calc_on_load", "date1904")
    MODE_FIELD_NUMBER: _ClassVar[int]
    ITERATE_FIELD_NUMBER: _ClassVar[int]
    ITERATE_COUNT_FIELD_NUMBER: _ClassVar[int]
    ITERATE_DELTA_FIELD_NUMBER: _ClassVar[int]
    FULL_CALC_ON_LOAD_FIELD_NUMBER: _ClassVar[int]
    DATE1904_FIELD_NUMBER: _ClassVar[int]
    mode: CalculationMode
    iterate: bool
    iterate_count: int
    iterate_delta: float
    full_calc_on_load: bool
    date1904: bool
    def __init__(self, mode: _Optional[_Union[CalculationMode, str]] = ..., iterate: _Optional[bool] = ..., iterate_count: _Optional[int] = ..., iterate_delta: _Optional[float] = ..., full_calc_on_load: _Optional[bool] = ..., date1904: _Optional[bool] = ...) -> None: ...
