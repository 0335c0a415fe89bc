"""A fast scanner for worksheet XML as Excel writes it, with lxml as the fallback.

Excel writes ``<sheetData>`` in one narrow dialect: UTF-8, no prefixes, cell
attributes in the order ``r s t cm vm ph``, a cell's ``<f>`` before its ``<v>``.
One regular expression per cell reads that dialect about three times faster
than building lxml elements for it. Anything else (an inline string, a
namespace prefix, a comment, an attribute out of order, a cell without its
``r``...) raises :class:`NotPlainExcel`, and the reader parses the sheet with
lxml instead; so the scanner may decline anything, but must never misread.
It does not check what it skips (the namespace of a row attribute it ignores, say):
a part lxml would call malformed only there is read rather than refused.

The scanner only splits the text: :func:`scan_rows` gives, per row, its number
and its raw cells ``(column letters, row digits, s, t, cm, f attributes,
f text, v text)`` with XML entities decoded; the reader turns them into cells.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final, Protocol

__all__ = ["NotPlainExcel", "RawCell", "RawRow", "formula_attributes", "scan_rows"]

RawCell = tuple[str, str, str | None, str | None, str | None, str | None, str | None, str | None]
RawRow = tuple[int, list[RawCell]]

_CHUNK: Final = 1 << 22  # bytes of the part read at a time

_ROW_RE: Final = re.compile(r'\s*<row(?: r="([0-9]+)")?((?: [\w:]+="[^"<>]*")*)\s*(/?)>')
_ROW_END_RE: Final = re.compile(r"\s*</row>")
_CELL_RE: Final = re.compile(
    r'\s*<c r="([A-Z]{1,3})([0-9]{1,7})"(?: s="([0-9]+)")?(?: t="([a-zA-Z]+)")?'
    r'(?: cm="([0-9]+)")?(?: vm="[0-9]+")?(?: ph="(?:1|0|true|false)")?\s*'
    r'(?:/>|>(?:<f((?: [a-zA-Z0-9:]+="[^"<>]*")*)\s*(?:/>|>([^<]*)</f>))?'
    r'(?:<v(?: xml:space="preserve")?>([^<]*)</v>|<v(/)>)?</c>)'
)
_SHEET_DATA_END_RE: Final = re.compile(r"\s*</sheetData>")
_DIMENSION_RE: Final = re.compile(rb'<dimension ref="([^"<>]*)"\s*/>')
_ENTITY_RE: Final = re.compile(r"&(?:(lt|gt|amp|quot|apos)|#([0-9]+)|#x([0-9a-fA-F]+));")
_ENTITIES: Final = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_ATTR_RE: Final = re.compile(r' ([a-zA-Z0-9:]+)="([^"]*)"')


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class NotPlainExcel(Exception):
    """The part is not in the dialect the scanner reads: parse it with lxml."""


def _decode(text: str) -> str:
    """XML text as a parser gives it: entities decoded, line ends normalised."""
    if "&" in text:
        if _ENTITY_RE.sub("", text).count("&"):
            raise NotPlainExcel("an entity the scanner does not know")
        text = _ENTITY_RE.sub(_entity, text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _entity(m: re.Match[str]) -> str:
    if m.group(1):
        return _ENTITIES[m.group(1)]
    code = int(m.group(2)) if m.group(2) else int(m.group(3), 16)
    return chr(code)


def formula_attributes(raw: str) -> dict[str, str]:
    """The attributes of an ``<f>`` element, from its raw attribute text."""
    return {k: _decode(v) for k, v in _ATTR_RE.findall(raw)}


def _header(data: bytes) -> tuple[int, str | None] | None:
    """Where ``<sheetData>`` opens and the declared dimension; None when not seen yet."""
    start = data.find(b"<sheetData")
    if start < 0:
        return None
    head = data[3:start] if data.startswith(b"\xef\xbb\xbf") else data[:start]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"<!--" in head:
        raise NotPlainExcel("not plain UTF-8 XML")
    prolog = head[: head.find(b"?>") + 2] if head.startswith(b"<?xml") else b""
    if b"encoding" in prolog and not re.search(
        rb'encoding=["\']utf-?8["\']', prolog, re.IGNORECASE
    ):
        raise NotPlainExcel("an encoding other than UTF-8")
    if not re.match(rb"\s*(<\?xml[^>]*\?>)?\s*<worksheet[\s>]", head):
        raise NotPlainExcel("a prefixed or unusual root")
    m = _DIMENSION_RE.search(head)
    return start, m.group(1).decode() if m else None


def scan_rows(stream: Readable, dimension: list[str | None]) -> Iterator[list[RawRow]]:
    """The rows of a worksheet part, a chunk of complete rows at a time.

    ``dimension`` receives the declared used range once it is read. Raises
    NotPlainExcel before yielding a chunk it cannot read whole.
    """
    buffer = b""
    found: tuple[int, str | None] | None = None
    while found is None:
        data = stream.read(_CHUNK)
        buffer += data
        found = _header(buffer)
        if found is None and not data:
            raise NotPlainExcel("no <sheetData> (perhaps a prefixed one)")
    start, dim = found
    dimension.append(dim)
    opening = re.match(rb"<sheetData\s*(/?)>", buffer[start:])
    if opening is None:
        raise NotPlainExcel("sheetData with attributes")
    if opening.group(1):
        return  # <sheetData/>
    buffer = buffer[start + opening.end() :]
    row = 0
    while True:
        data = stream.read(_CHUNK)
        buffer += data
        if data:
            cut = buffer.rfind(b"</row>")
            if cut < 0:
                continue  # not one whole row yet
            cut += len(b"</row>")
        else:
            cut = len(buffer)  # the rest of the part
        try:
            text = buffer[:cut].decode("utf-8")
        except UnicodeDecodeError:
            raise NotPlainExcel("not UTF-8") from None
        buffer = buffer[cut:]
        rows, row, ended = _parse(text, row, final=not data)
        if rows:
            yield rows
        if ended:
            while data:  # read to the end, so that the zip's CRC check sees every byte
                data = stream.read(_CHUNK)
            return
        if not data:
            raise NotPlainExcel("sheetData does not end")


def _parse(text: str, row: int, final: bool) -> tuple[list[RawRow], int, bool]:
    """Complete rows of ``text``; True once ``</sheetData>`` is met."""
    rows: list[RawRow] = []
    pos = 0
    n = len(text)
    row_match = _ROW_RE.match
    cell_match = _CELL_RE.match
    while pos < n:
        m = row_match(text, pos)
        if m is None:
            if _SHEET_DATA_END_RE.match(text, pos) is not None:
                return rows, row, True
            if not final and not text[pos:].strip():
                break
            raise NotPlainExcel(f"unexpected {text[pos : pos + 40]!r}")
        if m.group(1):
            row = int(m.group(1))
        elif ' r="' in m.group(2):
            raise NotPlainExcel("a row number after other attributes")
        else:
            row += 1
        pos = m.end()
        cells: list[RawCell] = []
        if not m.group(3):  # not <row .../>
            while True:
                c = cell_match(text, pos)
                if c is None:
                    break
                letters, digits, s, t, cm, f_attrs, f_text, v_text, v_empty = c.groups()
                if v_empty:
                    v_text = ""  # <v/>: an empty value, as an empty text result
                if f_text is not None and ("&" in f_text or "\r" in f_text):
                    f_text = _decode(f_text)
                if v_text is not None and ("&" in v_text or "\r" in v_text):
                    v_text = _decode(v_text)
                cells.append((letters, digits, s, t, cm, f_attrs, f_text, v_text))
                pos = c.end()
            e = _ROW_END_RE.match(text, pos)
            if e is None:
                raise NotPlainExcel(f"unexpected {text[pos : pos + 40]!r}")
            pos = e.end()
        rows.append((row, cells))
    return rows, row, False
