"""Reads an .xlsx/.xlsm file into a :class:`~calcwire.workbook.model.Workbook`.

It parses the package's XML parts itself with lxml ``iterparse``, one worksheet
row at a time, instead of going through openpyxl's cell objects, which are
several times slower and hold every cell's styles in memory. Every file is
screened by :func:`~calcwire.workbook.package.inspect_package` first, and every
parser refuses DTDs, entities and network access.

Two ways in:

- :func:`read_workbook` returns the whole :class:`Workbook`;
- :class:`WorkbookReader` gives the workbook-level parts (sheets, names,
  calculation settings, external links) at once and the cells of one sheet at
  a time (:meth:`WorkbookReader.iter_rows`), for callers that stream cells
  somewhere (the import worker) and need not hold them all.

Failures are :class:`~calcwire.errors.InvalidWorkbook` with a reason from
:data:`~calcwire.workbook.package.REASONS`.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from time import monotonic
from types import TracebackType
from typing import IO, Final, Self
from urllib.parse import unquote
from zlib import error as _ZlibError

from lxml import etree

from calcwire.errors import InvalidWorkbook
from calcwire.formula import column_index, column_letters
from calcwire.values import ERROR_CODES, CellValue, XlError
from calcwire.workbook._escapes import unescape_text
from calcwire.workbook._shared_formulas import Translator, translator
from calcwire.workbook.model import (
    CalcSettings,
    Cell,
    DataTable,
    DefinedName,
    ExternalLink,
    Sheet,
    SheetState,
    Workbook,
)
from calcwire.workbook.numfmt import BUILTIN_FORMATS
from calcwire.workbook.package import (
    DEFAULT_LIMITS,
    PackageInfo,
    PackageLimits,
    Source,
    inspect_stream,
    open_source,
    parse_xml,
)

__all__ = [
    "ProgressCallback",
    "ReadProgress",
    "SheetInfo",
    "WorkbookReader",
    "read_workbook",
]

_MAIN: Final = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_STRICT_MAIN: Final = "http://purl.oclc.org/ooxml/spreadsheetml/main"
_REL_ATTR: Final = (
    "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id",
    "{http://purl.oclc.org/ooxml/officeDocument/relationships}id",
)
_PKG_REL_NS: Final = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_XDA_NS: Final = "{http://schemas.microsoft.com/office/spreadsheetml/2017/dynamicarray}"
_ERRORS: Final = {code: XlError(code) for code in ERROR_CODES}
_TRUE: Final = frozenset({"1", "true"})
_CALC_MODES: Final = {"auto": "auto", "manual": "manual", "autoNoTable": "autoNoTable"}
_STATES: Final[dict[str, SheetState]] = {
    "visible": "visible", "hidden": "hidden", "veryHidden": "veryHidden",
}


@dataclass(frozen=True, slots=True)
class ReadProgress:
    """Where the reader is: ``fraction`` counts the uncompressed worksheet bytes parsed."""

    sheet: str
    sheet_number: int
    sheet_count: int
    rows: int
    cells: int
    fraction: float


ProgressCallback = Callable[[ReadProgress], None]


@dataclass(frozen=True, slots=True)
class SheetInfo:
    """A worksheet as workbook.xml lists it; ``part`` is its XML part in the package."""

    name: str
    state: SheetState
    part: str
    size: int


def read_workbook(
    source: Source,
    *,
    limits: PackageLimits = DEFAULT_LIMITS,
    progress: ProgressCallback | None = None,
    progress_every_rows: int = 500,
    progress_interval: float = 0.2,
) -> Workbook:
    """Read a whole workbook: every sheet's non-empty cells, names, settings and link caches.

    ``progress`` is called at the start and end of each sheet, and then every
    ``progress_every_rows`` rows or ``progress_interval`` seconds, whichever
    comes first (wide rows are slow rows); an exception it raises stops the
    reading and propagates (that is how a caller cancels).
    """
    with WorkbookReader(source, limits=limits) as reader:
        return reader.read(progress=progress, progress_every_rows=progress_every_rows,
                           progress_interval=progress_interval)


class WorkbookReader:
    """An open workbook: workbook-level parts are read on opening, cells on demand."""

    sheets: list[SheetInfo]
    names: list[DefinedName]
    calc: CalcSettings
    date1904: bool
    external_links: list[ExternalLink]
    application: str
    package: PackageInfo

    def __init__(self, source: Source, *, limits: PackageLimits = DEFAULT_LIMITS) -> None:
        self._resources = ExitStack()
        try:
            stream, size = self._resources.enter_context(open_source(source))
            self.package = inspect_stream(stream, size, limits)
            stream.seek(0)
            self._zip = self._resources.enter_context(zipfile.ZipFile(stream))
            self._load_workbook_parts()
        except BaseException:
            self._resources.close()
            raise

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        self._resources.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # ------------------------------------------------------------------ whole workbook

    def read(self, *, progress: ProgressCallback | None = None,
             progress_every_rows: int = 500, progress_interval: float = 0.2) -> Workbook:
        """Every sheet with its cells, as :func:`read_workbook` returns it."""
        total = sum(s.size for s in self.sheets) or 1
        done = 0
        sheets = []
        for number, info in enumerate(self.sheets, start=1):
            sheet = Sheet(name=info.name, state=info.state)
            cells = sheet.cells
            report = None
            if progress is not None:
                report = _Reporter(progress, info.name, number, len(self.sheets), done, total)
                report(0, 0, 0)
            rows = 0
            for _, row_cells in self._rows(info, sheet, report):
                cells.extend(row_cells)
                rows += 1
                if report is not None and (rows % progress_every_rows == 0
                                           or monotonic() - report.last_call >= progress_interval):
                    report(rows, len(cells), None)
            done += info.size
            if report is not None:
                report.done_bytes = done
                report(rows, len(cells), 0)
            sheets.append(sheet)
        return Workbook(
            sheets=sheets,
            names=list(self.names),
            calc=self.calc,
            external_links=list(self.external_links),
            date1904=self.date1904,
            application=self.application,
        )

    def read_sheet(self, name: str) -> Sheet:
        """One sheet with all its cells."""
        info = self._sheet(name)
        sheet = Sheet(name=info.name, state=info.state)
        for _, cells in self._rows(info, sheet, None):
            sheet.cells.extend(cells)
        return sheet

    def _sheet(self, name: str | SheetInfo) -> SheetInfo:
        if isinstance(name, SheetInfo):
            return name
        for info in self.sheets:
            if info.name == name:
                return info
        raise KeyError(f"no worksheet named {name!r}")

    # ------------------------------------------------------------------ cells

    def iter_rows(self, sheet: str | SheetInfo) -> Iterator[tuple[int, list[Cell]]]:
        """The non-empty cells of a sheet, one ``(row number, cells)`` per row, in file order."""
        return self._rows(self._sheet(sheet), None, None)

    def dimension(self, sheet: str | SheetInfo) -> str | None:
        """The used range the file declares for a sheet (``A1:M40``), read without its cells."""
        info = self._sheet(sheet)
        dim_tag, data_tag = f"{self._ns}dimension", f"{self._ns}sheetData"
        with _reading(f"worksheet {info.name!r}"), self._zip.open(info.part) as raw:
            for _, el in etree.iterparse(raw, events=("start",), **_ITERPARSE):
                if el.tag == dim_tag:
                    ref: str | None = el.get("ref")
                    return ref
                if el.tag == data_tag:
                    break
        return None

    def _rows(self, info: SheetInfo, sheet_out: Sheet | None,
              reporter: _Reporter | None) -> Iterator[tuple[int, list[Cell]]]:
        """:meth:`iter_rows`, also filling ``sheet_out.dimension`` and counting bytes read."""
        parser = _SheetParser(self, info)
        with _reading(f"worksheet {info.name!r}"), self._zip.open(info.part) as raw:
            yield from parser.rows(_CountingStream(raw, reporter), sheet_out)

    # ------------------------------------------------------------------ workbook parts

    def _part(self, name: str) -> bytes:
        if name not in self._names:
            raise InvalidWorkbook(f"part {name} is missing", reason="MALFORMED_WORKBOOK")
        with _reading(f"part {name}"):
            return self._zip.read(name)

    def _xml(self, name: str) -> etree._Element:
        return parse_xml(self._part(name), name)

    def _rels(self, part: str) -> dict[str, tuple[str, str, bool]]:
        """Relationships of a part: id -> (type suffix, target part or URL, external)."""
        folder, base = posixpath.split(part)
        rels_part = posixpath.join(folder, "_rels", base + ".rels")
        if rels_part not in self._names:
            return {}
        out = {}
        for rel in self._xml(rels_part).iter(f"{_PKG_REL_NS}Relationship"):
            target = rel.get("Target") or ""
            external = rel.get("TargetMode") == "External"
            if not external:
                if target.startswith("/"):
                    target = target.lstrip("/")
                else:
                    target = posixpath.normpath(posixpath.join(folder, target))
            kind = (rel.get("Type") or "").rsplit("/", 1)[-1]
            out[rel.get("Id") or ""] = (kind, target, external)
        return out

    def _load_workbook_parts(self) -> None:
        self._names = set(self._zip.namelist())
        wb_part = self.package.workbook_part
        root = self._xml(wb_part)
        ns = root.tag[1:].split("}")[0] if root.tag.startswith("{") else _MAIN
        if ns not in (_MAIN, _STRICT_MAIN):
            raise InvalidWorkbook("the workbook part is not SpreadsheetML",
                                  reason="NOT_A_SPREADSHEET")
        self._ns = "{" + ns + "}"
        q = self._ns
        rels = self._rels(wb_part)
        self.application = self._read_application()

        pr = root.find(f"{q}workbookPr")
        self.date1904 = pr is not None and (pr.get("date1904") or "") in _TRUE

        all_sheet_names: list[str] = []
        self.sheets = []
        for el in root.iterfind(f"{q}sheets/{q}sheet"):
            name = el.get("name") or ""
            all_sheet_names.append(name)
            rid = next((el.get(a) for a in _REL_ATTR if el.get(a)), None)
            kind, target, _ = rels.get(rid or "", ("", "", False))
            if kind != "worksheet":
                continue  # chart sheets, dialog and macro sheets hold no cells
            if target not in self._names:
                raise InvalidWorkbook(f"worksheet {name!r} ({target}) is missing from the archive",
                                      reason="MALFORMED_WORKBOOK")
            state = _STATES.get(el.get("state") or "visible", "visible")
            self.sheets.append(SheetInfo(name, state, target, self._zip.getinfo(target).file_size))

        self.names = []
        for el in root.iterfind(f"{q}definedNames/{q}definedName"):
            scope = None
            local = el.get("localSheetId")
            if local is not None:
                try:
                    scope = all_sheet_names[int(local)]
                except (ValueError, IndexError):
                    continue  # a name scoped to a sheet that no longer exists
            self.names.append(DefinedName(
                name=el.get("name") or "",
                refers_to=el.text or "",
                scope=scope,
                hidden=(el.get("hidden") or "") in _TRUE,
            ))

        calc = root.find(f"{q}calcPr")
        self.calc = _calc_settings(calc) if calc is not None else CalcSettings()

        by_kind: dict[str, str] = {}
        for kind, target, external in rels.values():
            if not external:
                by_kind.setdefault(kind, target)
        self._strings = self._read_shared_strings(by_kind.get("sharedStrings"))
        self._formats = self._read_number_formats(by_kind.get("styles"))
        self._dynamic_cm = self._read_dynamic_metadata(by_kind.get("sheetMetadata"))

        self.external_links = []
        for index, el in enumerate(root.iterfind(f"{q}externalReferences/{q}externalReference"),
                                   start=1):
            rid = next((el.get(a) for a in _REL_ATTR if el.get(a)), None)
            kind, target, _ = rels.get(rid or "", ("", "", False))
            if kind == "externalLink" and target in self._names:
                self.external_links.append(self._read_external_link(index, target))
            else:
                self.external_links.append(ExternalLink(index=index, target=""))

    def _read_application(self) -> str:
        """The program that saved the file, from docProps/app.xml (Mac Excel has its own CHAR)."""
        for kind, target, external in self._rels("").values():
            if kind == "extended-properties" and not external and target in self._names:
                root = self._xml(target)
                for el in root:
                    if isinstance(el.tag, str) and el.tag.endswith("}Application"):
                        return (el.text or "").strip()
        return ""

    def _read_shared_strings(self, part: str | None) -> list[str]:
        if part is None or part not in self._names:
            return []
        si_tag = f"{self._ns}si"
        strings: list[str] = []
        with _reading(f"part {part}"), self._zip.open(part) as raw:
            for _, el in etree.iterparse(raw, events=("end",), tag=si_tag, **_ITERPARSE):
                strings.append(_rich_text(el, self._ns))
                el.clear()
                while el.getprevious() is not None:
                    del el.getparent()[0]
        return strings

    def _read_number_formats(self, part: str | None) -> list[str]:
        """The number format code of each cell format (xf), in cellXfs order."""
        if part is None or part not in self._names:
            return ["General"]
        q = self._ns
        root = self._xml(part)
        custom = {}
        for el in root.iterfind(f"{q}numFmts/{q}numFmt"):
            try:
                custom[int(el.get("numFmtId") or "")] = el.get("formatCode") or "General"
            except ValueError:
                continue
        formats = []
        for xf in root.iterfind(f"{q}cellXfs/{q}xf"):
            try:
                fmt_id = int(xf.get("numFmtId") or "0")
            except ValueError:
                fmt_id = 0
            formats.append(custom.get(fmt_id) or BUILTIN_FORMATS.get(fmt_id, "General"))
        return formats or ["General"]

    def _read_dynamic_metadata(self, part: str | None) -> frozenset[str]:
        """The ``cm`` values (1-based cellMetadata indices) that mark dynamic-array formulas."""
        if part is None or part not in self._names:
            return frozenset()
        q = self._ns
        root = self._xml(part)
        types = [el.get("name") for el in root.iterfind(f"{q}metadataTypes/{q}metadataType")]
        dynamic_blocks = []
        for fm in root.iterfind(f"{q}futureMetadata"):
            if fm.get("name") != "XLDAPR":
                continue
            for bk in fm.iterfind(f"{q}bk"):
                props = bk.find(f".//{_XDA_NS}dynamicArrayProperties")
                dynamic_blocks.append(
                    props is not None and (props.get("fDynamic") or "") in _TRUE)
        out = set()
        for i, bk in enumerate(root.iterfind(f"{q}cellMetadata/{q}bk"), start=1):
            for rc in bk.iterfind(f"{q}rc"):
                try:
                    kind = types[int(rc.get("t") or "0") - 1]
                    value = int(rc.get("v") or "0")
                except (ValueError, IndexError):
                    continue
                if kind == "XLDAPR" and 0 <= value < len(dynamic_blocks) and dynamic_blocks[value]:
                    out.add(str(i))
        return frozenset(out)

    def _read_external_link(self, index: int, part: str) -> ExternalLink:
        q = self._ns
        root = self._xml(part)
        book = root.find(f"{q}externalBook")
        if book is None:
            return ExternalLink(index=index, target="")  # a DDE or OLE link: no cached cells
        rels = self._rels(part)
        rid = next((book.get(a) for a in _REL_ATTR if book.get(a)), None)
        target = unquote(rels.get(rid or "", ("", "", True))[1])
        sheet_names = [el.get("val") or "" for el in book.iterfind(f"{q}sheetNames/{q}sheetName")]
        cells: dict[str, dict[str, CellValue]] = {}
        for data in book.iterfind(f"{q}sheetDataSet/{q}sheetData"):
            try:
                sheet_name = sheet_names[int(data.get("sheetId") or "")]
            except (ValueError, IndexError):
                continue
            values: dict[str, CellValue] = {}
            for cell in data.iterfind(f"{q}row/{q}cell"):
                ref = cell.get("r")
                v = cell.find(f"{q}v")
                if ref is None or v is None:
                    continue
                values[ref] = _external_value(cell.get("t"), v.text or "")
            if values:
                cells.setdefault(sheet_name, {}).update(values)
        names = []
        for el in book.iterfind(f"{q}definedNames/{q}definedName"):
            scope = None
            sheet_id = el.get("sheetId")
            if sheet_id is not None:
                try:
                    scope = sheet_names[int(sheet_id)]
                except (ValueError, IndexError):
                    scope = None
            refers_to = el.get("refersTo") or ""
            names.append(DefinedName(name=el.get("name") or "",
                                     refers_to=refers_to.removeprefix("="),
                                     scope=scope))
        return ExternalLink(index=index, target=target, sheet_names=sheet_names, cells=cells,
                            names=names)


# --------------------------------------------------------------------------- worksheet parsing

# What reading a damaged member raises: bad CRC, truncated or corrupt deflate data.
_DAMAGE: Final = (zipfile.BadZipFile, EOFError, OSError, _ZlibError)


@contextmanager
def _reading(what: str) -> Iterator[None]:
    """Damaged zip data and malformed XML met while reading ``what`` become InvalidWorkbook."""
    try:
        yield
    except etree.XMLSyntaxError as exc:
        raise InvalidWorkbook(f"{what} is not well-formed XML: {exc}",
                              reason="MALFORMED_XML") from None
    except _DAMAGE as exc:
        raise InvalidWorkbook(f"{what} cannot be read: {exc}", reason="DAMAGED_ZIP") from None


_ITERPARSE: Final = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": True,
    "remove_comments": True,
    "remove_pis": True,
}


class _SheetParser:
    """Turns one worksheet part into rows of :class:`Cell`; holds its shared-formula masters."""

    def __init__(self, reader: WorkbookReader, info: SheetInfo) -> None:
        self.reader = reader
        self.info = info
        self.shared: dict[str, tuple[Translator, int, int]] = {}

    def rows(self, stream: _CountingStream, dimension_out: Sheet | None
             ) -> Iterator[tuple[int, list[Cell]]]:
        q = self.reader._ns
        row_tag, c_tag, v_tag, f_tag, is_tag = (f"{q}row", f"{q}c", f"{q}v", f"{q}f", f"{q}is")
        dim_tag = f"{q}dimension"
        strings = self.reader._strings
        formats = self.reader._formats
        dynamic_cm = self.reader._dynamic_cm
        date1904 = self.reader.date1904
        errors = _ERRORS
        cols: dict[str, int] = {}
        sheet_name = self.info.name
        row = 0
        for _, el in etree.iterparse(stream, events=("end",), tag=(row_tag, dim_tag), **_ITERPARSE):
            if el.tag == dim_tag:
                if dimension_out is not None:
                    dimension_out.dimension = el.get("ref")
                continue
            r_attr = el.get("r")
            row = int(r_attr) if r_attr else row + 1
            col = 0
            out: list[Cell] = []
            for c in el:
                if c.tag != c_tag:
                    continue
                ref = c.get("r")
                if ref:
                    letters = ref.rstrip("0123456789")
                    col = cols.get(letters) or cols.setdefault(letters, column_index(letters))
                    crow = int(ref[len(letters):])
                else:
                    col += 1
                    crow = row
                t = c.get("t")
                s = c.get("s")
                v_text = None
                has_v = False
                f_el = is_el = None
                for ch in c:
                    tag = ch.tag
                    if tag == v_tag:
                        v_text = ch.text
                        has_v = True
                    elif tag == f_tag:
                        f_el = ch
                    elif tag == is_tag:
                        is_el = ch

                # The value: a constant, or a formula's cached result.
                if t is None or t == "n":
                    if v_text:
                        try:
                            value: CellValue = float(v_text)
                        except ValueError:
                            raise _bad_cell(sheet_name, crow, col, f"number {v_text!r}") from None
                    else:
                        value = None
                elif t == "s":
                    if not v_text:
                        value = None
                    else:
                        try:
                            value = strings[int(v_text)]
                        except (ValueError, IndexError):
                            raise _bad_cell(sheet_name, crow, col,
                                            f"shared string {v_text!r}") from None
                elif t == "str":
                    value = unescape_text(v_text or "") if has_v else None
                elif t == "b":
                    value = (v_text or "").strip() in _TRUE if v_text else None
                elif t == "e":
                    value = errors.get(v_text or "", v_text) if v_text else None
                elif t == "inlineStr":
                    value = _rich_text(is_el, q) if is_el is not None else (
                        unescape_text(v_text or "") if has_v else None)
                elif t == "d":
                    value = _iso_to_serial(v_text, date1904) if v_text else None
                    if value is None and v_text:
                        raise _bad_cell(sheet_name, crow, col, f"date {v_text!r}")
                else:
                    raise _bad_cell(sheet_name, crow, col, f"cell type {t!r}")

                if f_el is not None and not f_el.text and f_el.get("t") in (None, "normal"):
                    # An empty <f/>: Excel writes one on each cell a volatile dynamic array
                    # spills into. It is no formula: the anchor's array_ref covers the cell.
                    f_el = None
                if f_el is None:
                    if value is None:
                        continue  # formatted but empty
                    cell = Cell(crow, col, value)
                else:
                    cell = self._formula_cell(f_el, crow, col, value)
                    if c.get("cm") in dynamic_cm and cell.array_ref is not None:
                        cell.dynamic = True
                if s:
                    try:
                        cell.number_format = formats[int(s)]
                    except (ValueError, IndexError):
                        pass  # an unknown style: Excel shows General
                out.append(cell)
            el.clear()
            while el.getprevious() is not None:
                del el.getparent()[0]
            yield row, out

    def _formula_cell(self, f_el: etree._Element, row: int, col: int,
                      value: CellValue) -> Cell:
        kind = f_el.get("t")
        text = f_el.text or ""
        if kind is None or kind == "normal":
            return Cell(row, col, value, formula=text)
        if kind == "shared":
            si = f_el.get("si") or ""
            master = self.shared.get(si)
            if master is not None:
                move, mrow, mcol = master
                return Cell(row, col, value, formula=move(row - mrow, col - mcol))
            if text:
                self.shared[si] = (translator(text), row, col)
                return Cell(row, col, value, formula=text)
            raise _bad_cell(self.info.name, row, col, f"shared formula {si!r} without a master")
        if kind == "array":
            return Cell(row, col, value, formula=text, array_ref=f_el.get("ref") or _a1(row, col))
        if kind == "dataTable":
            table = _data_table(f_el, row, col)
            return Cell(row, col, value, formula=_table_formula(table), data_table=table)
        raise _bad_cell(self.info.name, row, col, f"formula type {kind!r}")


def _data_table(f_el: etree._Element, row: int, col: int) -> DataTable:
    r1 = None if (f_el.get("del1") or "") in _TRUE else f_el.get("r1")
    r2 = None if (f_el.get("del2") or "") in _TRUE else f_el.get("r2")
    return DataTable(
        ref=f_el.get("ref") or _a1(row, col),
        two_dimensional=(f_el.get("dt2D") or "") in _TRUE,
        row_input=(f_el.get("dtr") or "") in _TRUE,
        r1=r1,
        r2=r2,
    )


def _table_formula(table: DataTable) -> str:
    """The formula Excel shows on a Data Table's cells: ``TABLE(row input, column input)``."""
    first = table.r1 or "#REF!"
    if table.two_dimensional:
        return f"TABLE({first},{table.r2 or '#REF!'})"
    return f"TABLE({first},)" if table.row_input else f"TABLE(,{first})"


def _a1(row: int, col: int) -> str:
    return f"{column_letters(col)}{row}"


def _bad_cell(sheet: str, row: int, col: int, what: str) -> InvalidWorkbook:
    return InvalidWorkbook(f"sheet {sheet!r} cell {_a1(row, col)} has an invalid {what}",
                           reason="MALFORMED_WORKBOOK")


def _rich_text(el: etree._Element, q: str) -> str:
    """The text of a shared or inline string: its ``<t>``, or its runs' ``<t>`` (not phonetics)."""
    t_tag, r_tag = f"{q}t", f"{q}r"
    parts = []
    for ch in el:
        if ch.tag == t_tag:
            parts.append(ch.text or "")
        elif ch.tag == r_tag:
            for t in ch.iterchildren(t_tag):
                parts.append(t.text or "")
    return unescape_text("".join(parts))


def _external_value(t: str | None, text: str) -> CellValue:
    if t is None or t == "n":
        try:
            return float(text)
        except ValueError:
            return None
    if t == "b":
        return text.strip() in _TRUE
    if t == "e":
        return _ERRORS.get(text, text)
    return unescape_text(text)  # "str", and "s": linked caches hold the text itself


def _calc_settings(el: etree._Element) -> CalcSettings:
    default = CalcSettings()

    def number(attr: str, cast: Callable[[str], float], fallback: float) -> float:
        raw = el.get(attr)
        try:
            return cast(raw) if raw is not None else fallback
        except ValueError:
            return fallback

    return CalcSettings(
        mode=_CALC_MODES.get(el.get("calcMode") or "auto", "auto"),  # type: ignore[arg-type]
        iterate=(el.get("iterate") or "") in _TRUE,
        iterate_count=int(number("iterateCount", int, default.iterate_count)),
        iterate_delta=number("iterateDelta", float, default.iterate_delta),
        full_calc_on_load=(el.get("fullCalcOnLoad") or "") in _TRUE,
    )


_EPOCH_1900: Final = dt.datetime(1899, 12, 30)
_EPOCH_1904: Final = dt.datetime(1904, 1, 1)
_LEAP_BUG_END: Final = dt.datetime(1900, 3, 1)


def _iso_to_serial(text: str, date1904: bool) -> float | None:
    """An ISO 8601 date, time or date-time (``t="d"`` cells) as an Excel serial number."""
    text = text.strip()
    try:
        if "-" not in text[:5] and ":" in text:  # a time of day alone: "T10:30:00" or "10:30"
            t = dt.time.fromisoformat(text.lstrip("T").rstrip("Z"))
            return (t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6) / 86400
        when = dt.datetime.fromisoformat(text.rstrip("Z"))
    except ValueError:
        return None
    when = when.replace(tzinfo=None)
    if date1904:
        delta = when - _EPOCH_1904
    else:
        # Excel counts a 29 February 1900 that never was: serials before March 1900 are one less.
        delta = when - _EPOCH_1900 if when >= _LEAP_BUG_END else when - _EPOCH_1900 - dt.timedelta(1)
    return delta.days + delta.seconds / 86400 + delta.microseconds / 86_400_000_000


class _Reporter:
    """Calls a :data:`ProgressCallback` with the fraction of worksheet bytes parsed."""

    def __init__(self, callback: ProgressCallback, sheet: str, number: int, count: int,
                 done_bytes: int, total_bytes: int) -> None:
        self.callback = callback
        self.sheet = sheet
        self.number = number
        self.count = count
        self.done_bytes = done_bytes
        self.total_bytes = total_bytes
        self.sheet_bytes = 0
        self.last_call = monotonic()

    def __call__(self, rows: int, cells: int, sheet_bytes: int | None) -> None:
        self.last_call = monotonic()
        if sheet_bytes is not None:
            self.sheet_bytes = sheet_bytes
        fraction = min(1.0, (self.done_bytes + self.sheet_bytes) / self.total_bytes)
        self.callback(ReadProgress(self.sheet, self.number, self.count, rows, cells, fraction))


class _CountingStream:
    """A read-only stream that tells a reporter how many bytes have gone through."""

    def __init__(self, raw: IO[bytes], reporter: _Reporter | None) -> None:
        self._raw = raw
        self._reporter = reporter

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        if self._reporter is not None:
            self._reporter.sheet_bytes += len(data)
        return data
