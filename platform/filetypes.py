"""The file types an upload may be: names, media types, extensions, and what the
bytes really are (PR-4, A-F4).

:func:`sniff_format` judges a file by its magic numbers, never by its name;
:mod:`eservice.documents` then checks that the file is sound and allowed.
"""
from __future__ import annotations

import io
import re
import zipfile

__all__ = [
    "DESCRIPTIONS", "DOCX_MAIN", "EXTENSIONS", "EXT_KIND", "FORMATS", "LABELS", "MEDIA_TYPES", "MIB", "decode_text",
    "sniff_format",
]

MIB = 1024 * 1024

# The formats a definition may list (spec.models.Document.formats), with the
# media type recorded for each and the extensions that name it (first = canonical).
FORMATS = ("pdf", "jpeg", "png", "tiff", "bmp", "doc", "docx", "txt")
MEDIA_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "tiff": "image/tiff",
    "bmp": "image/bmp",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "txt": "text/plain",
}
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "pdf": (".pdf",),
    "jpeg": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "png": (".png",),
    "tiff": (".tif", ".tiff"),
    "bmp": (".bmp", ".dib"),
    "doc": (".doc",),
    "docx": (".docx",),
    "txt": (".txt",),
}
# Types we recognise only to say what a refused file is (never accepted).
_OTHER_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "docm": (".docm", ".dotm"), "gif": (".gif",), "webp": (".webp",), "heic": (".heic", ".heif"),
    "avif": (".avif",), "xls": (".xls",), "xlsx": (".xlsx",), "ppt": (".ppt",), "pptx": (".pptx",),
    "odf": (".odt", ".ods", ".odp"), "zip": (".zip",), "rar": (".rar",), "7z": (".7z",),
    "rtf": (".rtf",),
}
EXT_KIND = {ext: kind for table in (EXTENSIONS, _OTHER_EXTENSIONS)
             for kind, exts in table.items() for ext in exts}

LABELS = {"pdf": "PDF", "jpeg": "JPEG", "png": "PNG", "tiff": "TIFF", "bmp": "BMP", "doc": "DOC",
           "docx": "DOCX", "txt": "TXT", "odf": "ODT/ODS/ODP", "7z": "7-Zip"}
# What a kind of content is, as a phrase: "…เป็น<th>" / "… is <en>".
DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "pdf": ("ไฟล์ PDF", "a PDF file"),
    "jpeg": ("ภาพ JPEG", "a JPEG image"),
    "png": ("ภาพ PNG", "a PNG image"),
    "tiff": ("ภาพ TIFF", "a TIFF image"),
    "bmp": ("ภาพ BMP", "a BMP image"),
    "doc": ("เอกสาร Word 97-2003 (DOC)", "a Word 97-2003 document (DOC)"),
    "docx": ("เอกสาร Word (DOCX)", "a Word document (DOCX)"),
    "txt": ("ไฟล์ข้อความ (TXT)", "a plain text file (TXT)"),
    "docm": ("เอกสาร Word ที่มีแมโคร (DOCM)", "a macro-enabled Word document (DOCM)"),
    "gif": ("ภาพ GIF", "a GIF image"),
    "webp": ("ภาพ WebP", "a WebP image"),
    "heic": ("ภาพ HEIC (มักมาจาก iPhone)", "a HEIC image (usually from an iPhone)"),
    "avif": ("ภาพ AVIF", "an AVIF image"),
    "xls": ("ไฟล์ Excel 97-2003 (XLS)", "an Excel 97-2003 workbook (XLS)"),
    "xlsx": ("ไฟล์ Excel (XLSX)", "an Excel workbook (XLSX)"),
    "ppt": ("ไฟล์ PowerPoint 97-2003 (PPT)", "a PowerPoint 97-2003 presentation (PPT)"),
    "pptx": ("ไฟล์ PowerPoint (PPTX)", "a PowerPoint presentation (PPTX)"),
    "odf": ("เอกสาร OpenDocument (ODT/ODS/ODP)", "an OpenDocument file (ODT/ODS/ODP)"),
    "ole": ("ไฟล์ Microsoft Office รุ่นเก่าที่ไม่ใช่ Word",
            "an older Microsoft Office file that is not Word"),
    "zip": ("ไฟล์บีบอัด ZIP", "a ZIP archive"),
    "rar": ("ไฟล์บีบอัด RAR", "a RAR archive"),
    "7z": ("ไฟล์บีบอัด 7-Zip", "a 7-Zip archive"),
    "rtf": ("เอกสาร RTF", "an RTF document"),
}


# --------------------------------------------------------------------- sniffing
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BMP_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}
_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"heif"}
DOCX_MAIN = (b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
              b"application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml")
_DOCM_MAIN = (b"application/vnd.ms-word.document.macroEnabled.main+xml",
              b"application/vnd.ms-word.template.macroEnabledTemplate.main+xml")


def sniff_format(data: bytes) -> str | None:
    """The real type of ``data`` from its bytes: one of :data:`FORMATS`, one of
    the refused kinds we can name (``"gif"``, ``"xlsx"``, ``"zip"``, …,
    ``"encrypted_office"`` for a password-protected DOCX/XLSX/PPTX), or None."""
    head = data[:64]
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if (head.startswith(b"BM") and len(head) >= 18
            and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES):
        return "bmp"
    if head.startswith(_OLE_MAGIC):
        return _sniff_ole(data)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _sniff_zip(data)
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp":
        if head[8:12] in (b"avif", b"avis"):
            return "avif"
        if head[8:12] in _HEIC_BRANDS:
            return "heic"
    if head.startswith(b"Rar!\x1a\x07"):
        return "rar"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if decode_text(data) is not None:
        return "txt"
    return None


def _sniff_ole(data: bytes) -> str:
    """Which OLE2 compound file: Word, encrypted OOXML, Excel, PowerPoint, other."""
    import olefile

    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            top = {entry[0] for entry in ole.listdir(streams=True, storages=True)}
    except Exception:  # damaged: guess from the directory names, then let the check say so
        return "doc" if "WordDocument".encode("utf-16-le") in data else "ole"
    if "EncryptedPackage" in top:
        return "encrypted_office"
    if "WordDocument" in top:
        return "doc"
    if top & {"Workbook", "Book"}:
        return "xls"
    if "PowerPoint Document" in top:
        return "ppt"
    return "ole"


def _sniff_zip(data: bytes) -> str:
    """Which zip: DOCX, DOCM, XLSX, PPTX, OpenDocument or a plain archive."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            if "word/document.xml" in names and "[Content_Types].xml" in names:
                info = zf.getinfo("[Content_Types].xml")
                if info.file_size <= MIB:
                    types = zf.read(info)
                    if any(t in types for t in _DOCM_MAIN):
                        return "docm"
                return "docx"
            if "xl/workbook.xml" in names:
                return "xlsx"
            if "ppt/presentation.xml" in names:
                return "pptx"
            if "mimetype" in names and zf.getinfo("mimetype").file_size < 256:
                if zf.read("mimetype").startswith(b"application/vnd.oasis.opendocument"):
                    return "odf"
            if "word/document.xml" in names:
                return "docx"  # missing [Content_Types].xml: the check reports it broken
            return "zip"
    except Exception:  # damaged (often truncated: no central directory)
        if b"word/" in data or b"[Content_Types].xml" in data:
            return "docx"
        return "zip"


_TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def decode_text(data: bytes) -> str | None:
    """``"utf-8"`` or ``"windows-874"`` (TIS-620 and its Windows superset) if
    ``data`` is text in one of them without NUL or other control characters
    (tab, newlines and form feed allowed), else None."""
    if b"\x00" in data:
        return None
    for encoding, codec in (("utf-8", "utf-8-sig"), ("windows-874", "cp874")):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        return None if _TEXT_CONTROLS.search(text) else encoding
    return None
