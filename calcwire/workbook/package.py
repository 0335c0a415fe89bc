"""Checks a workbook file's bytes before anything parses them.

An upload can be anything: an empty file, a PDF renamed to .xlsx, a truncated
download, a password-protected workbook, an old binary .xls, a zip bomb, or XML
that declares entities. :func:`inspect_package` looks at the container only
(zip directory, OLE2 directory, part names, the first bytes of each XML part)
and refuses each of these with an :class:`~calcwire.errors.InvalidWorkbook`
(or :class:`~calcwire.errors.ResourceExhausted` for size) whose ``reason`` is
one of :data:`REASONS`. It decompresses nothing beyond the XML prologs, so it
is cheap enough to run on every upload before anything is queued.

The import service and ``calcwire check`` both call it; the workbook reader
calls it again before it parses, so a reader never meets a file that was not
screened.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO, Final, TypeAlias

from lxml import etree

from calcwire.errors import InvalidWorkbook, ResourceExhausted

__all__ = [
    "REASONS",
    "PackageInfo",
    "PackageLimits",
    "Source",
    "inspect_package",
    "open_source",
    "parse_xml",
]

#: A workbook as bytes or as a path on disk.
Source: TypeAlias = "bytes | bytearray | memoryview | str | os.PathLike[str]"

#: Every reason :func:`inspect_package` (and the reader) can give.
REASONS: Final[tuple[str, ...]] = (
    "FILE_NOT_FOUND",
    "FILE_NOT_READABLE",
    "EMPTY_FILE",
    "FILE_TOO_LARGE",
    "NOT_A_ZIP",
    "DAMAGED_ZIP",
    "NOT_A_SPREADSHEET",
    "BINARY_WORKBOOK",
    "ENCRYPTED_WORKBOOK",
    "LEGACY_XLS",
    "DECOMPRESSION_BOMB",
    "UNSAFE_XML",
    "MALFORMED_XML",
    "MALFORMED_WORKBOOK",
)

MIB: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class PackageLimits:
    """How much a package may hold before it is refused.

    ``max_compression_ratio`` applies to each part bigger than
    ``ratio_floor_bytes`` (small parts may compress extremely well and still be
    harmless). Excel's own parts compress 5 to 30 times; worksheets of
    repetitive generated formulas up to about 60; a zip bomb over 1,000.
    """

    max_file_bytes: int = 100 * MIB
    max_uncompressed_bytes: int = 2048 * MIB
    max_compression_ratio: float = 200.0
    ratio_floor_bytes: int = 1 * MIB
    max_parts: int = 10_000


DEFAULT_LIMITS: Final = PackageLimits()


@dataclass(frozen=True, slots=True)
class PackageInfo:
    """What the screening learned about a valid package."""

    workbook_part: str
    macro_enabled: bool
    part_count: int
    compressed_bytes: int
    uncompressed_bytes: int


# Content types of the main part of a package, by what they are.
_SPREADSHEET_TYPES: Final = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": False,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": False,
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": True,
    "application/vnd.ms-excel.template.macroEnabled.main+xml": True,
    "application/vnd.ms-excel.addin.macroEnabled.main+xml": True,
}
_BINARY_WORKBOOK_TYPE: Final = "application/vnd.ms-excel.sheet.binary.macroEnabled.main"
_OTHER_DOCUMENTS: Final = {
    "wordprocessingml": "a Word document",
    "presentationml": "a PowerPoint presentation",
}

_OFFICE_DOCUMENT_REL: Final = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument",
    "http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument",
)
_CT_NS: Final = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_REL_NS: Final = "{http://schemas.openxmlformats.org/package/2006/relationships}"

_OLE2_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS: Final = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")


def _refuse(reason: str, message: str) -> InvalidWorkbook:
    return InvalidWorkbook(message, reason=reason)


# --------------------------------------------------------------------------- sources


@contextmanager
def open_source(source: Source) -> Iterator[tuple[BinaryIO, int]]:
    """The source as a seekable binary stream and its size, without reading a file whole."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield io.BytesIO(source), len(source)
        return
    try:
        fh = open(source, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        raise InvalidWorkbook(f"no such file: {os.fspath(source)}", reason="FILE_NOT_FOUND")
    except IsADirectoryError:
        raise InvalidWorkbook(f"a directory, not a file: {os.fspath(source)}",
                              reason="FILE_NOT_FOUND")
    except OSError as exc:
        raise InvalidWorkbook(f"cannot open {os.fspath(source)}: {exc.strerror}",
                              reason="FILE_NOT_READABLE")
    with fh:
        yield fh, os.fstat(fh.fileno()).st_size


# --------------------------------------------------------------------------- entry point


def inspect_package(source: Source, limits: PackageLimits = DEFAULT_LIMITS) -> PackageInfo:
    """Screen a workbook file; raise :class:`InvalidWorkbook` saying why it is refused.

    >>> inspect_package(b"")
    Traceback (most recent call last):
    calcwire.errors.InvalidWorkbook: the file is empty
    """
    with open_source(source) as (fh, size):
        return inspect_stream(fh, size, limits)


def inspect_stream(fh: BinaryIO, size: int, limits: PackageLimits = DEFAULT_LIMITS) -> PackageInfo:
    """:func:`inspect_package` on an open seekable stream of ``size`` bytes."""
    if size == 0:
        raise _refuse("EMPTY_FILE", "the file is empty")
    if size > limits.max_file_bytes:
        raise ResourceExhausted(
            f"the file is {size / MIB:.1f} MiB, over the limit of "
            f"{limits.max_file_bytes / MIB:.0f} MiB",
            reason="FILE_TOO_LARGE",
        )
    fh.seek(0)
    head = fh.read(8)
    if head == _OLE2_MAGIC:
        raise _classify_ole2(fh)
    try:
        fh.seek(0)
        archive = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        if head.startswith(_ZIP_MAGICS):
            raise _refuse("DAMAGED_ZIP",
                          "the file is a damaged or truncated zip archive") from None
        raise _refuse("NOT_A_ZIP", _not_a_zip_message(head)) from None
    with archive:
        return _inspect_zip(archive, size, limits)


def _not_a_zip_message(head: bytes) -> str:
    if head.startswith(b"%PDF"):
        what = "a PDF document"
    elif head.lstrip().lower().startswith((b"<!doctype", b"<html", b"<?xml", b"<table")):
        what = "an HTML or XML text file (a web page saved as .xls?)"
    elif all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        what = "a text file (CSV?)"
    else:
        what = "not a zip archive"
    return f"not an Excel workbook: the file is {what}; .xlsx and .xlsm files are zip archives"


# --------------------------------------------------------------------------- zip packages


def _inspect_zip(archive: zipfile.ZipFile, size: int, limits: PackageLimits) -> PackageInfo:
    infos = archive.infolist()
    if len(infos) > limits.max_parts:
        raise _refuse("DECOMPRESSION_BOMB",
                      f"the archive holds {len(infos)} parts, over the limit of {limits.max_parts}")
    names = {info.filename for info in infos}
    total = 0
    compressed = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise _refuse("ENCRYPTED_WORKBOOK",
                          "the zip archive is password-protected; remove the password and retry")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _refuse("DAMAGED_ZIP",
                          f"part {info.filename} uses zip compression method "
                          f"{info.compress_type}, which Excel never writes")
        total += info.file_size
        compressed += info.compress_size
        if (info.file_size > limits.ratio_floor_bytes
                and info.file_size > limits.max_compression_ratio * max(info.compress_size, 1)):
            ratio = info.file_size / max(info.compress_size, 1)
            raise _refuse("DECOMPRESSION_BOMB",
                          f"part {info.filename} expands {ratio:.0f} times "
                          f"(limit {limits.max_compression_ratio:.0f}): a decompression bomb")
    if total > limits.max_uncompressed_bytes:
        raise _refuse("DECOMPRESSION_BOMB",
                      f"the archive expands to {total / MIB:.0f} MiB, over the limit of "
                      f"{limits.max_uncompressed_bytes / MIB:.0f} MiB")

    _check_xml_prologs(archive, infos)
    workbook_part, macro_enabled = _find_workbook_part(archive, names)
    return PackageInfo(
        workbook_part=workbook_part,
        macro_enabled=macro_enabled,
        part_count=len(infos),
        compressed_bytes=size,
        uncompressed_bytes=total,
    )


def _find_workbook_part(archive: zipfile.ZipFile, names: set[str]) -> tuple[str, bool]:
    """The main part (from _rels/.rels and [Content_Types].xml), refused unless a spreadsheet."""
    if "mimetype" in names:
        mimetype = _read_part(archive, "mimetype", 200).decode("ascii", "replace").strip()
        if "opendocument" in mimetype:
            raise _refuse("NOT_A_SPREADSHEET",
                          "an OpenDocument file (.ods), not an Excel workbook; save it as .xlsx")
    if "[Content_Types].xml" not in names or "_rels/.rels" not in names:
        raise _refuse("NOT_A_SPREADSHEET",
                      "a zip archive but not an Office document (no [Content_Types].xml)")

    rels = parse_xml(_read_part(archive, "_rels/.rels"), "_rels/.rels")
    target = None
    for rel in rels.iter(f"{_REL_NS}Relationship"):
        if rel.get("Type") in _OFFICE_DOCUMENT_REL and rel.get("TargetMode") != "External":
            target = rel.get("Target")
            break
    if not target:
        raise _refuse("NOT_A_SPREADSHEET",
                      "a zip archive but not an Office document (no main document part)")
    part = posixpath.normpath(target.lstrip("/"))

    types = parse_xml(_read_part(archive, "[Content_Types].xml"), "[Content_Types].xml")
    content_type = None
    for override in types.iter(f"{_CT_NS}Override"):
        if (override.get("PartName") or "").lstrip("/") == part:
            content_type = override.get("ContentType")
    if content_type is None:
        ext = posixpath.splitext(part)[1].lstrip(".").lower()
        for default in types.iter(f"{_CT_NS}Default"):
            if (default.get("Extension") or "").lower() == ext:
                content_type = default.get("ContentType")
    content_type = (content_type or "").strip()

    if content_type == _BINARY_WORKBOOK_TYPE:
        raise _refuse("BINARY_WORKBOOK",
                      "an Excel binary workbook (.xlsb), which calcwire cannot read; "
                      "save it as .xlsx")
    for marker, what in _OTHER_DOCUMENTS.items():
        if marker in content_type:
            raise _refuse("NOT_A_SPREADSHEET", f"{what}, not an Excel workbook")
    if content_type not in _SPREADSHEET_TYPES:
        raise _refuse("NOT_A_SPREADSHEET",
                      f"an Office package whose main part is not a workbook ({content_type or part})")
    if part not in names:
        raise _refuse("NOT_A_SPREADSHEET", f"the workbook part {part} is missing from the archive")
    return part, _SPREADSHEET_TYPES[content_type]


# What reading a damaged member raises: bad CRC, truncated or corrupt deflate data.
_READ_ERRORS: Final = (zipfile.BadZipFile, EOFError, OSError, RuntimeError,
                       NotImplementedError, zlib.error)


def _read_part(archive: zipfile.ZipFile, name: str, limit: int = 16 * MIB) -> bytes:
    try:
        with archive.open(name) as member:
            data = member.read(limit + 1)
    except _READ_ERRORS as exc:
        raise _refuse("DAMAGED_ZIP", f"part {name} cannot be read: {exc}") from None
    if len(data) > limit:
        raise _refuse("DECOMPRESSION_BOMB", f"part {name} is larger than {limit // MIB} MiB")
    return data


# --------------------------------------------------------------------------- XML safety

_PROLOG_SCAN_BYTES: Final = 64 * 1024
_XML_PART = re.compile(r"\.(xml|rels|vml)$", re.IGNORECASE)
# What may precede the root element: declaration, PIs, comments, whitespace.
_PROLOG_ITEM = re.compile(r"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)


def _check_xml_prologs(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> None:
    """Refuse any XML part with a document type declaration.

    A DTD is the only place entities can be declared (external entities, the
    "billion laughs"), and XML allows it only before the root element, so the
    first bytes of each part decide. The parsers refuse DTDs again.
    """
    for info in infos:
        if not _XML_PART.search(info.filename) or info.file_size == 0:
            continue
        try:
            with archive.open(info) as member:
                head = member.read(min(info.file_size, _PROLOG_SCAN_BYTES))
        except _READ_ERRORS as exc:
            raise _refuse("DAMAGED_ZIP", f"part {info.filename} cannot be read: {exc}") from None
        verdict = _prolog_verdict(head, complete=info.file_size <= _PROLOG_SCAN_BYTES)
        if verdict == "doctype":
            raise _refuse("UNSAFE_XML",
                          f"part {info.filename} declares a DOCTYPE (entities are refused)")
        if verdict == "unterminated":
            raise _refuse("UNSAFE_XML",
                          f"part {info.filename} has no root element in its first "
                          f"{_PROLOG_SCAN_BYTES // 1024} KiB")


def _prolog_verdict(head: bytes, *, complete: bool) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", "replace")
    else:
        text = head.decode("utf-8", "replace").lstrip("\ufeff")
    pos = 0
    while True:
        m = _PROLOG_ITEM.match(text, pos)
        if m is None or m.end() == pos:
            break
        pos = m.end()
    rest = text[pos:pos + 9]
    if rest.upper().startswith("<!DOCTYPE") or rest.startswith("<!ENTITY"):
        return "doctype"
    if rest.startswith("<") and len(rest) > 1 and rest[1] not in "!?":
        return "ok"
    if pos >= len(text) and complete:
        return "ok"  # empty or whitespace only: the parser will say it is malformed
    if not complete and (rest == "" or rest.startswith(("<?", "<!--"))):
        return "unterminated"
    return "ok"  # not XML at all: the parser reports it as malformed


_SAFE_PARSER: Final = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
    huge_tree=True, remove_comments=True, remove_pis=True,
)


def parse_xml(data: bytes, part: str) -> etree._Element:
    """Parse a whole (small) XML part safely: no DTD, no entities, no network."""
    try:
        root = etree.fromstring(data, _SAFE_PARSER)
    except etree.XMLSyntaxError as exc:
        raise _refuse("MALFORMED_XML", f"part {part} is not well-formed XML: {exc}") from None
    if root.getroottree().docinfo.doctype:
        raise _refuse("UNSAFE_XML", f"part {part} declares a DOCTYPE (entities are refused)")
    return root


# --------------------------------------------------------------------------- OLE2 files


class _CfbError(Exception):
    pass


def _classify_ole2(fh: BinaryIO) -> InvalidWorkbook:
    """An OLE2 compound file: an encrypted OOXML workbook, an old .xls, or something else."""
    try:
        names = _cfb_stream_names(fh)
    except (_CfbError, struct.error, OSError):
        return _refuse("NOT_A_SPREADSHEET",
                       "an OLE2 compound file (old Office format) whose directory is damaged")
    if "EncryptedPackage" in names or "EncryptionInfo" in names:
        return _refuse("ENCRYPTED_WORKBOOK",
                       "the workbook is password-protected (encrypted); save it without a "
                       "password to open and retry")
    if "Workbook" in names or "Book" in names:
        return _refuse("LEGACY_XLS",
                       "an old binary Excel file (.xls, Excel 97-2003); save it as .xlsx")
    if "WordDocument" in names:
        return _refuse("NOT_A_SPREADSHEET", "an old Word document (.doc), not a workbook")
    return _refuse("NOT_A_SPREADSHEET",
                   "an OLE2 compound file (old Office format) that holds no workbook")


_MAX_SECTORS: Final = 1 << 22
_ENDOFCHAIN: Final = 0xFFFFFFFE


def _cfb_stream_names(fh: BinaryIO) -> set[str]:
    """Names of the entries of a Compound File Binary directory ([MS-CFB] 2.2, 2.6)."""
    fh.seek(0)
    header = fh.read(512)
    if len(header) < 512:
        raise _CfbError("short header")
    sector_shift = struct.unpack_from("<H", header, 0x1E)[0]
    if sector_shift not in (9, 12):
        raise _CfbError("bad sector size")
    sector_size = 1 << sector_shift
    num_fat_sectors, first_dir = struct.unpack_from("<II", header, 0x2C)
    first_difat, num_difat = struct.unpack_from("<II", header, 0x44)

    def sector(n: int) -> bytes:
        if n >= _MAX_SECTORS:
            raise _CfbError("sector out of range")
        fh.seek((n + 1) * sector_size)
        data = fh.read(sector_size)
        if len(data) < sector_size:
            raise _CfbError("truncated")
        return data

    fat_sectors = list(struct.unpack_from("<109I", header, 0x4C))
    next_difat = first_difat
    per_sector = sector_size // 4
    for _ in range(min(num_difat, 1 << 16)):
        if next_difat >= _ENDOFCHAIN:
            break
        words = struct.unpack(f"<{per_sector}I", sector(next_difat))
        fat_sectors.extend(words[:-1])
        next_difat = words[-1]
    fat: list[int] = []
    for n in fat_sectors[:num_fat_sectors]:
        fat.extend(struct.unpack(f"<{per_sector}I", sector(n)))

    names: set[str] = set()
    current, seen = first_dir, set()
    while current < _ENDOFCHAIN:
        if current in seen or current >= len(fat):
            raise _CfbError("bad directory chain")
        seen.add(current)
        data = sector(current)
        for off in range(0, sector_size, 128):
            name_len = struct.unpack_from("<H", data, off + 0x40)[0]
            kind = data[off + 0x42]
            if kind in (1, 2) and 2 <= name_len <= 64:
                names.add(data[off:off + name_len - 2].decode("utf-16-le", "replace"))
        current = fat[current]
    return names
