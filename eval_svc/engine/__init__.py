"""The calcwire formula engine: recompute an Excel workbook faithfully and fast.

Input is a :class:`calcwire.workbook.model.Workbook`; no file, database or
network is involved::

    model = compile_workbook(workbook, progress=None)
    results = model.calculate()            # one CellResult per formula cell
    model.set_values({"Inputs!B3": 0.05})  # what-if: recompute dependents only
    model.value("Valuation!C20")
    model.reset()

Threads
-------
- Different models may compute at the same time in different threads. All
  per-workbook state (cell values, the date system, the CHAR/CODE character
  set, calculation settings) belongs to the model; the date system and
  character set are made current for the calculating thread only, for the
  length of each call (:mod:`eval_svc.engine.conventions`). The engine keeps no
  other mutable module-level state: only caches of pure results (parsed cell
  corners, the `formulas` fallback's adapters), which any thread may share.
- One model used by several threads: each public method (``calculate``,
  ``set_values``, ``value``, ``values``, ``reset``) takes the model's
  ``lock``, so calls never interleave, but another thread's call may come
  between two of yours. A what-if sequence must hold the lock itself::

      with model.lock:              # a reentrant lock
          model.set_values({"Inputs!B3": 0.05})
          irr = model.value("IRR")
          model.reset()

- Threads do not compute faster (the GIL); they only keep the service
  responsive. ``compile_workbook`` needs no lock: it builds a new model.
- The interpreter's recursion limit is raised to 20,000 on the first
  calculation (long on-demand chains) and never lowered again: it is
  process-wide, and lowering it under another thread's calculation would break it.
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
