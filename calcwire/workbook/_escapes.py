"""OOXML's ``_xHHHH_`` escapes for characters XML cannot carry (ECMA-376 Part 1, 22.9.2.19).

Excel writes CHAR(1) as ``_x0001_`` and a carriage return as ``_x000D_`` in
cell text, and a literal ``_x0041_`` as ``_x005F_x0041_``.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["escape_attr", "escape_text", "escape_xml", "unescape_text"]

_ESCAPED: Final = re.compile(r"_x([0-9A-Fa-f]{4})_")
# Characters XML 1.0 forbids or normalises (\r), and text that looks like an escape.
_NEEDS_ESCAPE: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\r\ufffe\uffff]|_x[0-9A-Fa-f]{4}_")


def unescape_text(text: str) -> str:
    """``"a_x000D_b" -> "a\\rb"``; ``"_x005F_x0001_" -> "_x0001_"``."""
    if "_x" not in text:
        return text
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)


def escape_text(text: str) -> str:
    """Text ready for an XML text node: XML-escaped, with OOXML escapes where XML cannot cope."""
    if _NEEDS_ESCAPE.search(text):
        text = _NEEDS_ESCAPE.sub(
            lambda m: "_x005F" + m.group() if len(m.group()) > 1 else f"_x{ord(m.group()):04X}_",
            text,
        )
    return escape_xml(text)


def escape_xml(text: str) -> str:
    """``&``, ``<`` and ``>`` as XML entities (xml.sax.saxutils would import urllib)."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def escape_attr(text: str) -> str:
    """A double-quoted XML attribute value, quotes included."""
    text = escape_xml(text)
    for ch, entity in (('"', "&quot;"), ("\n", "&#10;"), ("\r", "&#13;"), ("\t", "&#9;")):
        if ch in text:
            text = text.replace(ch, entity)
    return f'"{text}"'
