"""The workbook model and the reader that fills it from an .xlsx/.xlsm file."""

from calcwire.workbook.model import (
    CalcSettings,
    Cell,
    DataTable,
    DefinedName,
    ExternalLink,
    Sheet,
    Workbook,
)

__all__ = [
    "CalcSettings",
    "Cell",
    "DataTable",
    "DefinedName",
    "ExternalLink",
    "Sheet",
    "Workbook",
]
