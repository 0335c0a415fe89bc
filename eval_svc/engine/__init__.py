"""The calcwire formula engine: recompute an Excel workbook faithfully and fast.

Input is a :class:`calcwire.workbook.model.Workbook`; no file, database or
network is involved::

    model = compile_workbook(workbook, progress=None)
    results = model.calculate()            # one CellResult per formula cell
    model.set_values({"Inputs!B3": 0.05})  # what-if: recompute dependents only
    model.value("Valuation!C20")
    model.reset()
"""

from eval_svc.engine.errors import EngineError, ReferenceNotFound
from eval_svc.engine.model import CompiledModel, compile_workbook
from eval_svc.engine.results import CellResult, CellStatus

__all__ = [
    "CellResult",
    "CellStatus",
    "CompiledModel",
    "EngineError",
    "ReferenceNotFound",
    "compile_workbook",
]
