"""Writes any :class:`~calcwire.workbook.model.Workbook` to an .xlsx file.

It writes the package's XML parts directly with :mod:`zipfile` (openpyxl's
cell objects are far too slow for the half-million-formula models of the
benchmarks). Formula cells carry their ``value`` as the cached result when it
is not None, so a test can write a workbook whose cached values are stale on
purpose: change one input, keep the cached values, write.

What it writes is what the reader reads: sheets with state and cells (numbers,
shared strings, booleans, errors, formula strings), plain, array, dynamic-array
and Data Table formulas, number formats, defined names of both scopes, the
calculation properties, date1904 and external link caches.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterable, Iterator
from typing import IO, Final

from calcwire.formula import column_letters, parse_range, translate_formula
from calcwire.values import CellValue, XlError
from calcwire.workbook._escapes import escape_attr, escape_text, escape_xml
from calcwire.workbook.model import Cell, DefinedName, ExternalLink, Sheet, Workbook
from calcwire.workbook.numfmt import BUILTIN_FORMAT_IDS, FIRST_CUSTOM_FORMAT_ID

__all__ = ["workbook_bytes", "write_workbook"]

_MAIN_NS: Final = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS: Final = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS: Final = "http://schemas.openxmlformats.org/package/2006/relationships"
_DECL: Final = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_CT_WORKBOOK: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
_CT_WORKBOOK_MACRO: Final = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
_CT_PREFIX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml."
_ROWS_PER_CHUNK: Final = 2000


def workbook_bytes(workbook: Workbook, *, cached_values: bool = True, app: str = "calcwire",
                   shared_formulas: bool = False) -> bytes:
    """The workbook as .xlsx bytes (see :func:`write_workbook`)."""
    buffer = io.BytesIO()
    write_workbook(workbook, buffer, cached_values=cached_values, app=app,
                   shared_formulas=shared_formulas)
    return buffer.getvalue()


def write_workbook(
    workbook: Workbook,
    target: str | os.PathLike[str] | IO[bytes],
    *,
    cached_values: bool = True,
    app: str = "calcwire",
    macro_enabled: bool = False,
    shared_formulas: bool = False,
    compresslevel: int = 1,
) -> None:
    """Write ``workbook`` as an .xlsx package to a path or a binary stream.

    With ``cached_values=False`` formula cells are written without results,
    as a file that was never calculated. ``app`` goes into docProps/app.xml
    (tests use it to tell their files apart from Excel's). With
    ``shared_formulas``, formulas filled right along a row are written as one
    shared formula, as Excel writes them (slower to write: each copy is checked
    with :func:`~calcwire.formula.translate_formula`).
    """
    strings = _SharedStrings()
    styles = _Styles()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as zf:
        sheet_parts = []
        for index, sheet in enumerate(workbook.sheets, start=1):
            part = f"xl/worksheets/sheet{index}.xml"
            with zf.open(part, "w", force_zip64=True) as out:
                for chunk in _sheet_xml(sheet, strings, styles, cached_values, shared_formulas):
                    out.write(chunk.encode("utf-8"))
            sheet_parts.append(part)
        dynamic = any(c.dynamic for s in workbook.sheets for c in s.cells)
        link_parts = [f"xl/externalLinks/externalLink{i}.xml"
                      for i in range(1, len(workbook.external_links) + 1)]
        for part, link in zip(link_parts, workbook.external_links, strict=True):
            zf.writestr(part, _external_link_xml(link))
            zf.writestr(part.replace("externalLinks/", "externalLinks/_rels/") + ".rels",
                        _rels_xml([("rId1", "externalLinkPath", link.target, True)]))
        zf.writestr("xl/sharedStrings.xml", strings.xml())
        zf.writestr("xl/styles.xml", styles.xml())
        if dynamic:
            zf.writestr("xl/metadata.xml", _METADATA_XML)
        zf.writestr("xl/workbook.xml", _workbook_xml(workbook))
        rels = [(f"rId{i}", "worksheet", f"worksheets/sheet{i}.xml", False)
                for i in range(1, len(sheet_parts) + 1)]
        n = len(rels)
        rels += [(f"rId{n + i}", "externalLink", f"externalLinks/externalLink{i}.xml", False)
                 for i in range(1, len(link_parts) + 1)]
        n = len(rels)
        rels += [(f"rId{n + 1}", "sharedStrings", "sharedStrings.xml", False),
                 (f"rId{n + 2}", "styles", "styles.xml", False)]
        if dynamic:
            rels.append((f"rId{n + 3}", "sheetMetadata", "metadata.xml", False))
        zf.writestr("xl/_rels/workbook.xml.rels", _rels_xml(rels))
        zf.writestr("_rels/.rels", _ROOT_RELS)
        zf.writestr("docProps/app.xml", _app_xml(app))
        zf.writestr("[Content_Types].xml",
                    _content_types(sheet_parts, link_parts, dynamic, macro_enabled))


# --------------------------------------------------------------------------- worksheets


def _sheet_xml(sheet: Sheet, strings: _SharedStrings, styles: _Styles,
               cached_values: bool, shared_formulas: bool) -> Iterator[str]:
    cells = sorted(sheet.cells, key=lambda c: (c.row, c.col))
    dimension = sheet.dimension or _dimension(cells)
    yield (f'{_DECL}<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
           f'<dimension ref="{dimension}"/><sheetData>')
    parts: list[str] = []
    shared = _SharedFormulas() if shared_formulas else None
    start = 0
    while start < len(cells):
        row = cells[start].row
        end = start + 1
        while end < len(cells) and cells[end].row == row:
            end += 1
        row_cells = cells[start:end]
        overrides = shared.group(row_cells) if shared is not None else {}
        parts.append(f'<row r="{row}">')
        for i, cell in enumerate(row_cells):
            parts.append(_cell_xml(cell, strings, styles, cached_values, overrides.get(i)))
        parts.append("</row>")
        if len(parts) > _ROWS_PER_CHUNK * 8:
            yield "".join(parts)
            parts.clear()
        start = end
    parts.append("</sheetData></worksheet>")
    yield "".join(parts)


class _SharedFormulas:
    """Writes runs of formulas filled right as one shared formula, as Excel does."""

    def __init__(self) -> None:
        self.next_si = 0

    def group(self, row_cells: list[Cell]) -> dict[int, str]:
        """The ``<f>`` element of each cell of a row that belongs to a shared formula."""
        out: dict[int, str] = {}
        i, n = 0, len(row_cells)
        while i < n:
            master = row_cells[i]
            if not _plain_formula(master):
                i += 1
                continue
            j = i + 1
            while (j < n and _plain_formula(row_cells[j])
                   and row_cells[j].col == row_cells[j - 1].col + 1
                   and translate_formula(master.formula or "", 0, row_cells[j].col - master.col)
                   == row_cells[j].formula):
                j += 1
            if j - i >= 2:
                row, si = master.row, self.next_si
                self.next_si += 1
                ref = f"{column_letters(master.col)}{row}:{column_letters(row_cells[j - 1].col)}{row}"
                out[i] = f'<f t="shared" ref="{ref}" si="{si}">{_text(master.formula or "")}</f>'
                for k in range(i + 1, j):
                    out[k] = f'<f t="shared" si="{si}"/>'
            i = j
        return out


def _plain_formula(cell: Cell) -> bool:
    return (cell.formula is not None and cell.array_ref is None and cell.data_table is None
            and not cell.dynamic)


def _dimension(cells: list[Cell]) -> str:
    if not cells:
        return "A1"
    r1 = cells[0].row
    r2 = cells[-1].row
    c1 = min(c.col for c in cells)
    c2 = max(c.col for c in cells)
    first = f"{column_letters(c1)}{r1}"
    last = f"{column_letters(c2)}{r2}"
    return first if first == last else f"{first}:{last}"


def _cell_xml(cell: Cell, strings: _SharedStrings, styles: _Styles, cached_values: bool,
              f_element: str | None = None) -> str:
    ref = f"{column_letters(cell.col)}{cell.row}"
    style = styles.index(cell.number_format)
    attrs = f' s="{style}"' if style else ""
    value = cell.value
    formula = cell.formula
    if formula is None:
        if value is None:
            return f'<c r="{ref}"{attrs}/>'
        kind, text = _value_xml(value, strings, formula=False)
        return f'<c r="{ref}"{attrs}{kind}><v>{text}</v></c>'

    if cell.dynamic:
        attrs += ' cm="1"'
    if f_element is not None:
        f = f_element
    elif cell.data_table is not None:
        table = cell.data_table
        f = (f'<f t="dataTable" ref="{table.ref}" dt2D="{int(table.two_dimensional)}"'
             f' dtr="{int(table.row_input)}"'
             + (f' r1="{table.r1}"' if table.r1 else "")
             + (f' r2="{table.r2}"' if table.r2 else "")
             + "/>")
    elif cell.array_ref is not None:
        f = f'<f t="array" ref="{cell.array_ref}">{_text(formula)}</f>'
    else:
        f = f"<f>{_text(formula)}</f>"
    if not cached_values or value is None:
        return f'<c r="{ref}"{attrs}>{f}</c>'
    kind, text = _value_xml(value, strings, formula=True)
    return f'<c r="{ref}"{attrs}{kind}>{f}<v>{text}</v></c>'


def _value_xml(value: CellValue, strings: _SharedStrings, *, formula: bool) -> tuple[str, str]:
    """The ``t`` attribute and ``<v>`` text of a value (formula results keep strings inline)."""
    t = type(value)
    if t is float or t is int:
        return "", repr(value) if t is float else str(value)
    if t is bool:
        return ' t="b"', "1" if value else "0"
    if t is str:
        if formula:
            return ' t="str"', escape_text(value)  # type: ignore[arg-type]
        return ' t="s"', str(strings.index(value))  # type: ignore[arg-type]
    if t is XlError:
        return ' t="e"', str(value)
    raise TypeError(f"not a cell value: {value!r}")


_text = escape_xml
_attr = escape_attr


class _SharedStrings:
    def __init__(self) -> None:
        self._index: dict[str, int] = {}

    def index(self, text: str) -> int:
        found = self._index.get(text)
        if found is None:
            found = self._index[text] = len(self._index)
        return found

    def xml(self) -> str:
        items = "".join(f'<si><t xml:space="preserve">{escape_text(s)}</t></si>'
                        for s in self._index)
        n = len(self._index)
        return f'{_DECL}<sst xmlns="{_MAIN_NS}" count="{n}" uniqueCount="{n}">{items}</sst>'


class _Styles:
    """One cell format (xf) per distinct number format; xf 0 is General."""

    def __init__(self) -> None:
        self._xf: dict[str, int] = {"General": 0}

    def index(self, number_format: str) -> int:
        found = self._xf.get(number_format)
        if found is None:
            found = self._xf[number_format] = len(self._xf)
        return found

    def xml(self) -> str:
        custom: dict[str, int] = {}
        xfs = []
        for code in self._xf:
            fmt_id = BUILTIN_FORMAT_IDS.get(code)
            if fmt_id is None:
                fmt_id = custom.setdefault(code, FIRST_CUSTOM_FORMAT_ID + len(custom))
            apply = ' applyNumberFormat="1"' if fmt_id else ""
            xfs.append(f'<xf numFmtId="{fmt_id}" fontId="0" fillId="0" borderId="0" xfId="0"{apply}/>')
        num_fmts = "".join(f'<numFmt numFmtId="{i}" formatCode={_attr(c)}/>'
                           for c, i in custom.items())
        return (
            f'{_DECL}<styleSheet xmlns="{_MAIN_NS}">'
            + (f'<numFmts count="{len(custom)}">{num_fmts}</numFmts>' if custom else "")
            + '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>"
        )


# --------------------------------------------------------------------------- workbook part


def _workbook_xml(workbook: Workbook) -> str:
    sheet_index = {s.name: i for i, s in enumerate(workbook.sheets)}
    sheets = "".join(
        f"<sheet name={_attr(s.name)} sheetId=\"{i}\""
        + (f' state="{s.state}"' if s.state != "visible" else "")
        + f' r:id="rId{i}"/>'
        for i, s in enumerate(workbook.sheets, start=1)
    )
    n_sheets = len(workbook.sheets)
    ext_refs = "".join(f'<externalReference r:id="rId{n_sheets + i}"/>'
                       for i in range(1, len(workbook.external_links) + 1))
    names = "".join(_defined_name_xml(n, sheet_index) for n in workbook.names)
    calc = workbook.calc
    calc_attrs = ' calcId="191029"'
    if calc.mode != "auto":
        calc_attrs += f' calcMode="{calc.mode}"'
    if calc.full_calc_on_load:
        calc_attrs += ' fullCalcOnLoad="1"'
    if calc.iterate:
        calc_attrs += ' iterate="1"'
    if calc.iterate_count != 100:
        calc_attrs += f' iterateCount="{calc.iterate_count}"'
    if calc.iterate_delta != 0.001:
        calc_attrs += f' iterateDelta="{calc.iterate_delta!r}"'
    return (
        f'{_DECL}<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
        + ('<workbookPr date1904="1"/>' if workbook.date1904 else "<workbookPr/>")
        + f"<sheets>{sheets}</sheets>"
        + (f"<externalReferences>{ext_refs}</externalReferences>" if ext_refs else "")
        + (f"<definedNames>{names}</definedNames>" if names else "")
        + f"<calcPr{calc_attrs}/></workbook>"
    )


def _defined_name_xml(name: DefinedName, sheet_index: dict[str, int]) -> str:
    attrs = f"name={_attr(name.name)}"
    if name.scope is not None:
        attrs += f' localSheetId="{sheet_index[name.scope]}"'
    if name.hidden:
        attrs += ' hidden="1"'
    return f"<definedName {attrs}>{_text(name.refers_to)}</definedName>"


def _external_link_xml(link: ExternalLink) -> str:
    sheet_names = "".join(f"<sheetName val={_attr(n)}/>" for n in link.sheet_names)
    data = []
    for sheet_id, sheet_name in enumerate(link.sheet_names):
        cells = link.cells.get(sheet_name, {})
        rows: dict[int, list[str]] = {}
        for ref, value in cells.items():
            r1, _, _, _ = parse_range(ref)
            kind, text = _value_xml(value, _SharedStrings(), formula=True)
            rows.setdefault(r1, []).append(f'<cell r="{ref}"{kind}><v>{text}</v></cell>')
        body = "".join(f'<row r="{r}">{"".join(cs)}</row>' for r, cs in sorted(rows.items()))
        data.append(f'<sheetData sheetId="{sheet_id}">{body}</sheetData>'
                    if body else f'<sheetData sheetId="{sheet_id}"/>')
    sheet_ids = {n: i for i, n in enumerate(link.sheet_names)}
    names = "".join(
        f"<definedName name={_attr(n.name)} refersTo={_attr(n.refers_to)}"
        + (f' sheetId="{sheet_ids[n.scope]}"' if n.scope in sheet_ids else "")
        + "/>"
        for n in link.names
    )
    return (
        f'{_DECL}<externalLink xmlns="{_MAIN_NS}"><externalBook xmlns:r="{_REL_NS}" r:id="rId1">'
        f"<sheetNames>{sheet_names}</sheetNames>"
        + (f"<definedNames>{names}</definedNames>" if names else "")
        + f"<sheetDataSet>{''.join(data)}</sheetDataSet></externalBook></externalLink>"
    )


# --------------------------------------------------------------------------- package parts

_ROOT_RELS: Final = (
    f'{_DECL}<Relationships xmlns="{_PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/extended-properties" Target="docProps/app.xml"/>'
    "</Relationships>"
)

_METADATA_XML: Final = (
    f'{_DECL}<metadata xmlns="{_MAIN_NS}" '
    'xmlns:xda="http://schemas.microsoft.com/office/spreadsheetml/2017/dynamicarray">'
    '<metadataTypes count="1"><metadataType name="XLDAPR" minSupportedVersion="120000" copy="1" '
    'pasteAll="1" pasteValues="1" merge="1" splitFirst="1" rowColShift="1" clearFormats="1" '
    'clearComments="1" assign="1" coerce="1" cellMeta="1"/></metadataTypes>'
    '<futureMetadata name="XLDAPR" count="1"><bk><extLst>'
    '<ext uri="{bdbb8cdc-fa1e-496e-a857-3c3f30c029c3}">'
    '<xda:dynamicArrayProperties fDynamic="1" fCollapsed="0"/></ext></extLst></bk></futureMetadata>'
    '<cellMetadata count="1"><bk><rc t="1" v="0"/></bk></cellMetadata></metadata>'
)


def _rels_xml(rels: Iterable[tuple[str, str, str, bool]]) -> str:
    items = "".join(
        f'<Relationship Id="{rid}" Type="{_REL_NS}/{kind}" Target={_attr(target)}'
        + (' TargetMode="External"' if external else "")
        + "/>"
        for rid, kind, target, external in rels
    )
    return f'{_DECL}<Relationships xmlns="{_PKG_REL_NS}">{items}</Relationships>'


def _app_xml(app: str) -> str:
    return (
        f'{_DECL}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
        f'extended-properties"><Application>{_text(app)}</Application></Properties>'
    )


def _content_types(sheet_parts: list[str], link_parts: list[str], dynamic: bool,
                   macro_enabled: bool) -> str:
    overrides = [("/xl/workbook.xml", _CT_WORKBOOK_MACRO if macro_enabled else _CT_WORKBOOK)]
    overrides += [(f"/{p}", _CT_PREFIX + "worksheet+xml") for p in sheet_parts]
    overrides += [(f"/{p}", _CT_PREFIX + "externalLink+xml") for p in link_parts]
    overrides += [
        ("/xl/sharedStrings.xml", _CT_PREFIX + "sharedStrings+xml"),
        ("/xl/styles.xml", _CT_PREFIX + "styles+xml"),
        ("/docProps/app.xml", "application/vnd.openxmlformats-officedocument.extended-properties+xml"),
    ]
    if dynamic:
        overrides.append(("/xl/metadata.xml", _CT_PREFIX + "sheetMetadata+xml"))
    items = "".join(f'<Override PartName="{p}" ContentType="{t}"/>' for p, t in overrides)
    return (
        f'{_DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f"{items}</Types>"
    )
