"""Files that are not workbooks calcwire can read, made on the spot for tests.

Each function returns the bytes of one kind of bad upload; :data:`BAD_FILES`
maps each to the reason the screening must give, so the reader's tests and the
import service's bad-input suite check the same cases.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable
from typing import Final

from calcwire.workbook.model import Cell, Sheet, Workbook
from calcwire.workbook.writer import workbook_bytes

__all__ = [
    "BAD_FILES",
    "cfb_file",
    "decompression_bomb",
    "empty_file",
    "encrypted_workbook",
    "entity_expansion_workbook",
    "external_entity_workbook",
    "legacy_xls",
    "not_a_zip",
    "small_workbook",
    "truncated_zip",
    "word_document",
    "zip_without_workbook",
]


def small_workbook() -> bytes:
    """A valid two-cell workbook: the base the damaged variants start from."""
    sheet = Sheet("Sheet1", cells=[Cell(1, 1, 2.0), Cell(1, 2, 4.0, formula="A1*2")])
    return workbook_bytes(Workbook(sheets=[sheet]))


def empty_file() -> bytes:
    return b""


def not_a_zip() -> bytes:
    return b"date,amount\n2024-01-31,100\n2024-02-29,110\n"


def truncated_zip() -> bytes:
    """A download cut short: the zip's central directory is gone."""
    data = small_workbook()
    return data[: len(data) // 2]


def zip_without_workbook() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("readme.txt", "not a workbook")
        zf.writestr("data/values.csv", "a,b\n1,2\n")
    return buffer.getvalue()


def word_document() -> bytes:
    """The package skeleton of a .docx: an Office file, but not a spreadsheet."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'))
        zf.writestr("_rels/.rels", (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/officeDocument" Target="word/document.xml"/></Relationships>'))
        zf.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


def cfb_file(streams: dict[str, bytes]) -> bytes:
    """An OLE2 Compound File ([MS-CFB], version 3) holding the given streams at its root.

    Streams are stored in regular 512-byte sectors (padded to at least the 4 KiB
    mini-stream cutoff, so no mini stream is needed); the directory tree is a
    chain of right siblings.
    """
    sector = 512
    free, end_of_chain, fat_sect = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
    names = sorted(streams, key=lambda n: (len(n), n.upper()))
    entries_sectors = (len(names) + 1 + 3) // 4
    datas = [streams[n].ljust(4096, b"\0") for n in names]
    data_sectors = [(len(d) + sector - 1) // sector for d in datas]
    total = entries_sectors + sum(data_sectors)
    fat_sectors = 1
    while fat_sectors * (sector // 4) < total + fat_sectors:
        fat_sectors += 1
    if fat_sectors > 109:
        raise ValueError("too much data for a test file")

    fat = [fat_sect] * fat_sectors
    dir_start = len(fat)
    fat += [dir_start + i + 1 for i in range(entries_sectors - 1)] + [end_of_chain]
    starts = []
    for count in data_sectors:
        start = len(fat)
        starts.append(start)
        fat += [start + i + 1 for i in range(count - 1)] + [end_of_chain]
    fat += [free] * (fat_sectors * (sector // 4) - len(fat))

    def entry(name: str, kind: int, start: int, size: int, right: int, child: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0"
        return (raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), kind, 1)
                + struct.pack("<III", free, right, child) + b"\0" * 16 + b"\0" * 4
                + b"\0" * 16 + struct.pack("<IQ", start, size))

    directory = entry("Root Entry", 5, end_of_chain, 0, free, 1 if names else free)
    for i, (name, start, data) in enumerate(zip(names, starts, datas, strict=True), start=1):
        right = i + 1 if i < len(names) else free
        directory += entry(name, 2, start, len(data), right, free)
    directory = directory.ljust(entries_sectors * sector, b"\0")

    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", header, 0x28, 0, fat_sectors, dir_start, 0, 4096,
                     end_of_chain, 0, end_of_chain, 0)
    difat = list(range(fat_sectors)) + [free] * (109 - fat_sectors)
    struct.pack_into("<109I", header, 0x4C, *difat)
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    return bytes(header) + fat_bytes + directory + b"".join(
        d.ljust(n * sector, b"\0") for d, n in zip(datas, data_sectors, strict=True))


def encrypted_workbook() -> bytes:
    """What Excel saves for a workbook with a password to open: an OLE2 envelope."""
    return cfb_file({
        "EncryptionInfo": b"\x04\x00\x04\x00\x40\x00\x00\x00" + b"<encryption/>",
        "EncryptedPackage": struct.pack("<Q", 4096) + b"\x8f" * 4096,
    })


def legacy_xls() -> bytes:
    """An Excel 97-2003 file: a BIFF8 ``Workbook`` stream in an OLE2 container."""
    bof = struct.pack("<HHHHII", 0x0809, 16, 0x0600, 0x0005, 0, 0)
    return cfb_file({"Workbook": bof, "\x05SummaryInformation": b"\xfe\xff"})


def decompression_bomb() -> bytes:
    """A workbook whose worksheet part expands over a thousand times (about 64 MiB of zeros)."""
    buffer = io.BytesIO(small_workbook())
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("xl/worksheets/padding.xml", b"\0" * (64 * 1024 * 1024))
    return buffer.getvalue()


def _with_part(name: str, content: str) -> bytes:
    """The small workbook with one part replaced."""
    source = zipfile.ZipFile(io.BytesIO(small_workbook()))
    buffer = io.BytesIO()
    with source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in source.infolist():
            data = content.encode() if info.filename == name else source.read(info)
            zf.writestr(info.filename, data)
    return buffer.getvalue()


def external_entity_workbook() -> bytes:
    """XXE: the workbook part declares an entity that reads a local file."""
    xml = zipfile.ZipFile(io.BytesIO(small_workbook())).read("xl/workbook.xml").decode()
    body = xml.split("?>", 1)[1]
    return _with_part("xl/workbook.xml", (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
        '<!DOCTYPE workbook [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
        + body.replace("<sheets>", "<sheets><!-- &secret; -->")))


def entity_expansion_workbook() -> bytes:
    """The "billion laughs": nested entities in the shared strings part."""
    lol = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    return _with_part("xl/sharedStrings.xml", (
        '<?xml version="1.0"?>'
        f'<!DOCTYPE sst [<!ENTITY lol0 "lol">{lol}]>'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        "<si><t>&lol9;</t></si></sst>"))


#: Each bad file and the reason code the screening gives it.
BAD_FILES: Final[dict[str, tuple[Callable[[], bytes], str]]] = {
    "empty": (empty_file, "EMPTY_FILE"),
    "not_a_zip": (not_a_zip, "NOT_A_ZIP"),
    "truncated_zip": (truncated_zip, "DAMAGED_ZIP"),
    "zip_without_workbook": (zip_without_workbook, "NOT_A_SPREADSHEET"),
    "word_document": (word_document, "NOT_A_SPREADSHEET"),
    "encrypted_workbook": (encrypted_workbook, "ENCRYPTED_WORKBOOK"),
    "legacy_xls": (legacy_xls, "LEGACY_XLS"),
    "decompression_bomb": (decompression_bomb, "DECOMPRESSION_BOMB"),
    "external_entity": (external_entity_workbook, "UNSAFE_XML"),
    "entity_expansion": (entity_expansion_workbook, "UNSAFE_XML"),
}
