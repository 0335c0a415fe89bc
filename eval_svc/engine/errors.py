"""Errors the engine raises to its callers.

::

    CalcwireError (calcwire.errors)
    └── EngineError                 ENGINE_ERROR
        └── ReferenceNotFound       REFERENCE_NOT_FOUND (also an InvalidArgument)

A formula the engine cannot compute never raises: it becomes a
``not_computable`` :class:`~eval_svc.engine.CellResult` with its reason.
"""

from __future__ import annotations

from calcwire.errors import CalcwireError, InvalidArgument

__all__ = ["EngineError", "ReferenceNotFound"]


class EngineError(CalcwireError):
    """Base of the engine's errors."""

    default_reason = "ENGINE_ERROR"


class ReferenceNotFound(EngineError, InvalidArgument):
    """A reference or defined name given to set_values/value that the workbook does not have."""

    default_reason = "REFERENCE_NOT_FOUND"
