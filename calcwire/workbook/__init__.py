"""The workbook model, the reader that fills it from an .xlsx/.xlsm file, and the writer.

- :func:`inspect_package` screens a file's bytes before anything parses them;
- :func:`read_workbook` (and :class:`WorkbookReader` for one sheet at a time)
  reads a file into a :class:`Workbook`;
- :func:`write_workbook` writes any :class:`Workbook` to an .xlsx file.
"""

from calcwire.workbook.model import (
    CalcSettings,
    Cell,
    DataTable,
    DefinedName,
    ExternalLink,
    Sheet,
    Workbook,
)
from calcwire.workbook.package import PackageInfo, PackageLimits, inspect_package
from calcwire.workbook.reader import ReadProgress, WorkbookReader, read_workbook
from calcwire.workbook.writer import workbook_bytes, write_workbook

__all__ = [
    "CalcSettings",
    "Cell",
    "DataTable",
    "DefinedName",
    "ExternalLink",
    "PackageInfo",
    "PackageLimits",
    "ReadProgress",
    "Sheet",
    "Workbook",
    "WorkbookReader",
    "inspect_package",
    "read_workbook",
    "workbook_bytes",
    "write_workbook",
]
