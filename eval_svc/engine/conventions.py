"""A workbook's conventions that functions follow: its date system and its character set.

Each :class:`~eval_svc.engine.CompiledModel` owns one :class:`Conventions`,
made from its workbook. While the model computes (calculate, set_values,
value), they are the *current* conventions of the calculating thread: a
:class:`contextvars.ContextVar` holds them, so that code far from the model
(text read as a date inside ``"1/2/2020"+1``, TEXT's date formats, CHAR) sees
them without every call passing them along, and two models computing at once
in two threads each see their own. Outside a calculation the defaults apply:
the 1900 date system and the Windows character set.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Final

from calcwire.workbook.model import Workbook

__all__ = ["Conventions", "current", "using"]


@dataclass(frozen=True, slots=True)
class Conventions:
    """``date1904``: serial 0 is 1904-01-01 (else the 1900 system with its fake 29 February).
    ``mac_charset``: CHAR and CODE use Mac Roman (files saved by Mac Excel), else Windows-1252.
    """

    date1904: bool = False
    mac_charset: bool = False

    @property
    def charset(self) -> str:
        return "mac_roman" if self.mac_charset else "cp1252"

    @classmethod
    def of(cls, workbook: Workbook) -> Conventions:
        return cls(
            date1904=workbook.date1904,
            mac_charset="macintosh" in (workbook.application or "").lower(),
        )


DEFAULT: Final = Conventions()
_current: ContextVar[Conventions] = ContextVar("calcwire_engine_conventions", default=DEFAULT)

#: The conventions of the calculation running in this thread (or asyncio task).
current = _current.get


@contextmanager
def using(conventions: Conventions) -> Iterator[None]:
    """Make ``conventions`` current in this thread for the duration of the block."""
    token = _current.set(conventions)
    try:
        yield
    finally:
        _current.reset(token)
