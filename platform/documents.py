"""Checking the files citizens attach to an application (PR-4, A-F4, A-F6, A-F9).

An upload is judged by its bytes, never by its name or the browser's content
type.  :func:`check_upload` refuses, with a Thai and an English message that
names the file and says what to do:

* an empty file, or one over the document's ``max_size_mb`` (checked first,
  before anything parses the bytes);
* content whose real type (sniffed from magic numbers) is not among the
  document's ``formats``, or that is not recognised at all;
* a name whose extension claims one type while the bytes are another (a
  ``.pdf`` that is really a PNG, or not a PDF at all);
* a damaged or incomplete file: a PDF that pypdf cannot read, an image that
  Pillow cannot verify and decode, a DOCX that is not a sound Office Open XML
  zip, a DOC that is not a sound OLE2 Word file;
* a password-protected file (PDF with an open password, encrypted DOCX, DOC
  with fEncrypted), since officers could not open it;
* a PDF with active content, which a PDF reader may run or open on an
  officer's computer: JavaScript (``/JS``, a ``/JavaScript`` name tree or
  action, an XFA form), launch actions, embedded files and file attachment
  annotations, form submit/import actions and rich media, unless the
  document's ``allow_active_content`` is true;
* a text file that is neither UTF-8 nor TIS-620/cp874, or contains NUL or other
  control characters;
* decompression bombs: images over Pillow's ``Image.MAX_IMAGE_PIXELS`` and
  zips whose entries expand absurdly, refused before they are decoded, and
  PDFs whose compressed streams together expand by more than
  :data:`MAX_PDF_INFLATED` (pypdf stops decoding there).

:func:`store_upload` checks and then stores the bytes in the content-addressed
:class:`~eservice.files.FileStore`, returning what ``Applications.attach``
records.  The bytes are stored exactly as uploaded (they are the evidence);
only the file name is cleaned (:func:`safe_filename`).
"""
from __future__ import annotations

import hashlib
import io
import math
import re
import unicodedata
import zipfile
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, NoReturn

from .engine import EngineError
from .filetypes import (  # noqa: F401  (FORMATS, MEDIA_TYPES, EXTENSIONS, sniff_format: re-exported)
    DESCRIPTIONS, DOCX_MAIN, EXT_KIND, EXTENSIONS, FORMATS, LABELS, MEDIA_TYPES, MIB, decode_text, sniff_format,
)

__all__ = [
    "FORMATS", "MEDIA_TYPES", "EXTENSIONS", "CheckedFile", "UploadError", "accept_attribute",
    "accepted_text", "check_upload", "format_label", "limit_bytes", "safe_filename",
    "sniff_format", "store_upload",
]

# Limits against decompression bombs and absurd inputs.
MAX_TIFF_FRAMES = 1000
MAX_ZIP_ENTRIES = 10_000
MAX_ZIP_TOTAL = 512 * MIB  # uncompressed bytes, all entries together
MAX_ZIP_RATIO = 200  # uncompressed / compressed, for entries over 1 MiB
# How much one PDF's compressed streams may expand by, all together, when we decode
# them (one at a time, then dropped) to check it: about 5 pages of lossless 300 dpi
# colour scans.  Beyond it the PDF is refused as a possible decompression bomb.
MAX_PDF_INFLATED = 128 * MIB
MAX_FILENAME_CHARS = 150
MAX_FILENAME_BYTES = 240  # UTF-8; file systems allow 255
_DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's default, if an operator set it to None


class UploadError(EngineError):
    """An attached file refused, with a stable ``code`` and Thai and English text
    that name the file and say what to do.  ``details`` always has ``filename``
    (cleaned) and ``document`` (its id)."""

    def __init__(self, code: str, th: str, en: str, status: int = 422, **details: Any):
        super().__init__(code, th, en, status=status, **details)


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed :func:`check_upload`.

    ``filename`` is cleaned (see :func:`safe_filename`) and ends in the extension
    of its real type; ``media_type`` is ``MEDIA_TYPES[format]``; ``pages`` is the
    page count of a PDF, the frame count of a TIFF, 1 for other images and None
    otherwise; ``encoding`` is ``"utf-8"`` or ``"windows-874"`` for text (serve
    it with that charset), else None."""

    sha256: str
    filename: str
    media_type: str
    format: str
    size: int
    pages: int | None = None
    encoding: str | None = None

    def stored(self) -> dict[str, Any]:
        """What ``Applications.attach`` records."""
        return {"sha256": self.sha256, "filename": self.filename, "media_type": self.media_type,
                "size": self.size}


# ----------------------------------------------------------------- public helpers
def format_label(fmt: str) -> str:
    """The short name people know a format by: ``"pdf"`` → ``"PDF"``."""
    return LABELS.get(fmt, fmt.upper())


def accepted_text(document: Any) -> str:
    """The document's formats for a message: ``"PDF, JPEG, PNG"``."""
    return ", ".join(format_label(f) for f in document.formats)


def accept_attribute(document: Any) -> str:
    """The ``accept`` attribute of the document's ``<input type=file>``:
    each format's extensions and media type, e.g. ``.pdf,application/pdf,.jpg,…``."""
    parts: list[str] = []
    for fmt in document.formats:
        parts.extend(EXTENSIONS.get(fmt, ()))
        if fmt in MEDIA_TYPES:
            parts.append(MEDIA_TYPES[fmt])
    return ",".join(dict.fromkeys(parts))


def limit_bytes(document: Any) -> int:
    """The document's size limit in bytes (``max_size_mb`` MiB, as file managers count)."""
    return int(Decimal(document.max_size_mb) * MIB)


_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                     *(f"LPT{i}" for i in range(1, 10))}
_WINDOWS_FORBIDDEN = dict.fromkeys(map(ord, '<>:"|?*'), "_")


def safe_filename(name: object, fallback: str = "document") -> str:
    """A file name safe to store, show and offer for download: the last path part
    only (``/`` and ``\\`` both separate), NFC, no control or format characters
    (bidi overrides, zero-width marks), no characters Windows forbids, no leading
    dots, at most 150 characters and 240 UTF-8 bytes with the extension kept.
    Thai and other letters are kept.  Empty → ``fallback``."""
    text = unicodedata.normalize("NFC", name if isinstance(name, str) else "")
    text = re.split(r"[/\\]", text)[-1]
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\t\n\r\v\f" or cat in ("Zs", "Zl", "Zp"):
            out.append(" ")
        elif cat not in ("Cc", "Cf", "Cs"):
            out.append(ch)
    text = re.sub(r" +", " ", "".join(out).translate(_WINDOWS_FORBIDDEN))
    text = text.strip(" ").lstrip(".").rstrip(". ")
    stem, dot, ext = text.rpartition(".")
    if not dot or not stem or len(ext) > 10 or not ext.isalnum():
        stem, ext = text, ""
    suffix = f".{ext}" if ext else ""
    stem = stem[:MAX_FILENAME_CHARS - len(suffix)]
    while stem and len((stem + suffix).encode("utf-8")) > MAX_FILENAME_BYTES:
        stem = stem[:-1]
    stem = stem.rstrip(". ")
    if not stem:
        return fallback
    if stem.split(".")[0].upper() in _WINDOWS_RESERVED:
        stem = "_" + stem
    return stem + suffix


# --------------------------------------------------------------------- checking
def check_upload(data: bytes, filename: str, document: Any) -> CheckedFile:
    """Check an attached file against its ``Document``; raise :class:`UploadError`."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("check_upload needs the file's bytes")
    name = safe_filename(filename, fallback=document.id)
    refuse = _Refusal(name, document)
    size = data.nbytes if isinstance(data, memoryview) else len(data)
    if size == 0:
        refuse.empty()
    if size > limit_bytes(document):  # before anything parses (or copies) the bytes
        refuse.too_large(size)
    data = bytes(data)

    kind = sniff_format(data)
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    claimed = EXT_KIND.get(f".{ext}") if ext else None
    if kind == "encrypted_office":
        refuse.encrypted()
    if claimed == "txt" and kind is None:
        refuse.bad_text()
    if claimed is not None and kind != claimed:
        refuse.mismatch(claimed, kind)
    if kind is None:
        refuse.unknown()
    if kind not in document.formats:
        refuse.not_accepted(kind)

    pages, encoding = _CHECKS[kind](data, refuse)
    if claimed is None:
        name = safe_filename(f"{name}{EXTENSIONS[kind][0]}", fallback=document.id)
    return CheckedFile(sha256=hashlib.sha256(data).hexdigest(), filename=name,
                       media_type=MEDIA_TYPES[kind], format=kind, size=size, pages=pages,
                       encoding=encoding)


def store_upload(files: Any, data: bytes, filename: str, document: Any) -> dict[str, Any]:
    """Check the upload, store its bytes in ``files`` (a FileStore) and return
    ``{sha256, filename, media_type, size}`` for ``Applications.attach``."""
    checked = check_upload(data, filename, document)
    sha = files.put(bytes(data))
    if sha != checked.sha256:  # cannot happen unless the store is broken
        raise RuntimeError("file store returned a different SHA-256")
    return checked.stored()


# ------------------------------------------------------------------ the refusals
def _mb(size: int) -> str:
    """A size in MB for a message, rounded up (so 10 MB + 1 byte reads 10.01 MB)."""
    return f"{math.ceil(size * 100 / MIB) / 100:.2f}"


class _Refusal:
    """Builds and raises the UploadError for one file."""

    def __init__(self, name: str, document: Any):
        self.name = name
        self.document = document
        self.accepted = accepted_text(document)

    def _raise(self, code: str, th: str, en: str, status: int = 422, **details: Any) -> NoReturn:
        raise UploadError(code, th, en, status=status, filename=self.name,
                          document=self.document.id, **details)

    def empty(self) -> NoReturn:
        self._raise("empty_file",
                    f'ไฟล์ "{self.name}" ว่างเปล่า (ขนาด 0 ไบต์) กรุณาตรวจสอบไฟล์แล้วแนบใหม่',
                    f'The file "{self.name}" is empty (0 bytes). Please check the file and attach it again.')

    def too_large(self, size: int) -> NoReturn:
        limit = f"{Decimal(self.document.max_size_mb).normalize():f}"
        self._raise("file_too_large",
                    f'ไฟล์ "{self.name}" มีขนาด {_mb(size)} MB เกินขนาดสูงสุดที่รับได้ {limit} MB '
                    "กรุณาลดขนาดไฟล์ (เช่น สแกนด้วยความละเอียดต่ำลง หรือบีบอัดภาพ) แล้วแนบใหม่",
                    f'The file "{self.name}" is {_mb(size)} MB, over the limit of {limit} MB. '
                    "Please make it smaller (for example scan at a lower resolution or compress "
                    "the images) and attach it again.",
                    status=413, size=size, limit=limit_bytes(self.document))

    def _advice(self, kind: str | None) -> tuple[str, str]:
        if kind in self.document.formats:
            ext = EXTENSIONS[kind][0]
            return (f"กรุณาเปลี่ยนชื่อไฟล์ให้ลงท้ายด้วย {ext} แล้วแนบใหม่",
                    f"Please rename it to end in {ext} and attach it again.")
        return (f"เอกสารนี้รับเฉพาะไฟล์ {self.accepted} กรุณาบันทึกหรือสแกนเป็นไฟล์ชนิดดังกล่าวแล้วแนบใหม่",
                f"This document accepts {self.accepted} only: please save or scan it in one of "
                "these formats and attach it again.")

    def mismatch(self, claimed: str, kind: str | None) -> NoReturn:
        label = format_label(claimed)
        if kind is None:
            what_th = f"แต่เนื้อไฟล์ไม่ใช่ {label} และระบบไม่รู้จักชนิดของเนื้อไฟล์"
            what_en = f"but its content is not {label}, and its type could not be recognised"
        else:
            th_desc, en_desc = DESCRIPTIONS.get(kind, (format_label(kind), format_label(kind)))
            what_th = f"แต่เนื้อไฟล์เป็น{th_desc} ไม่ใช่ {label}"
            what_en = f"but its content is {en_desc}, not {label}"
        advice_th, advice_en = self._advice(kind)
        self._raise("extension_mismatch",
                    f'ไฟล์ "{self.name}" มีนามสกุลเป็น {label} {what_th} '
                    f"(การเปลี่ยนนามสกุลไม่ได้เปลี่ยนชนิดของไฟล์) {advice_th}",
                    f'The file "{self.name}" is named as {label} {what_en} '
                    f"(renaming a file does not change its type). {advice_en}",
                    status=415, claimed=claimed, actual=kind, accepted=list(self.document.formats))

    def unknown(self) -> NoReturn:
        self._raise("unknown_format",
                    f'ระบบไม่รู้จักชนิดของไฟล์ "{self.name}" เอกสารนี้รับเฉพาะไฟล์ {self.accepted} '
                    "กรุณาบันทึกหรือสแกนเป็นไฟล์ชนิดดังกล่าวแล้วแนบใหม่",
                    f'The type of the file "{self.name}" could not be recognised. This document '
                    f"accepts {self.accepted} only: please save or scan it in one of these formats "
                    "and attach it again.",
                    status=415, accepted=list(self.document.formats))

    def not_accepted(self, kind: str) -> NoReturn:
        th_desc, en_desc = DESCRIPTIONS.get(kind, (format_label(kind), format_label(kind)))
        self._raise("format_not_accepted",
                    f'ไฟล์ "{self.name}" เป็น{th_desc} ซึ่งเอกสารนี้ไม่รับ เอกสารนี้รับเฉพาะไฟล์ '
                    f"{self.accepted} กรุณาบันทึกหรือสแกนเป็นไฟล์ชนิดดังกล่าวแล้วแนบใหม่",
                    f'The file "{self.name}" is {en_desc}, which this document does not accept. '
                    f"Accepted formats: {self.accepted}. Please save or scan it in one of these "
                    "formats and attach it again.",
                    status=415, actual=kind, accepted=list(self.document.formats))

    def corrupt(self, kind: str, reason: str = "") -> NoReturn:
        label = format_label(kind)
        self._raise("corrupt_file",
                    f'ไฟล์ "{self.name}" เสียหายหรือไม่สมบูรณ์ เปิดเป็นไฟล์ {label} ไม่ได้ '
                    "(อาจดาวน์โหลดหรือคัดลอกมาไม่ครบ) กรุณาตรวจว่าเปิดไฟล์ในเครื่องของท่านได้ "
                    "แล้วบันทึกหรือสแกนใหม่และแนบอีกครั้ง",
                    f'The file "{self.name}" is damaged or incomplete and cannot be opened as {label} '
                    "(it may not have been downloaded or copied completely). Please check that it "
                    "opens on your device, then save or scan it again and attach it.",
                    format=kind, reason=reason[:200])

    def encrypted(self) -> NoReturn:
        self._raise("encrypted_file",
                    f'ไฟล์ "{self.name}" ถูกป้องกันด้วยรหัสผ่าน เจ้าหน้าที่จึงเปิดอ่านไม่ได้ '
                    "กรุณาเอารหัสผ่านออก (หรือบันทึกสำเนาที่ไม่มีรหัสผ่าน) แล้วแนบใหม่",
                    f'The file "{self.name}" is protected by a password, so officers cannot open it. '
                    "Please remove the password (or save a copy without one) and attach it again.")

    def bad_text(self) -> NoReturn:
        self._raise("invalid_text",
                    f'ไฟล์ข้อความ "{self.name}" ต้องบันทึกด้วยรหัสอักขระ UTF-8 หรือ TIS-620 และต้องไม่มี'
                    "อักขระควบคุม (เช่น NUL) กรุณาบันทึกใหม่เป็น UTF-8 (ใน Notepad เลือก "
                    '"บันทึกเป็น" แล้วเลือกการเข้ารหัส UTF-8) แล้วแนบใหม่',
                    f'The text file "{self.name}" must be saved as UTF-8 or TIS-620 and must not '
                    "contain control characters such as NUL. Please save it again as UTF-8 (in "
                    'Notepad: "Save As", Encoding: UTF-8) and attach it again.')

    def image_too_large(self, size: tuple[int, int] | None, pixels: int | None, limit: int) -> NoReturn:
        mp = f"{limit / 1_000_000:.0f}"
        if size:
            dims = f"{size[0]}×{size[1]}"
            dims_th, dims_en = f"{dims} พิกเซล", f"{dims} pixels"
        elif pixels:
            mega = f"{pixels / 1_000_000:,.0f}"
            dims_th, dims_en = f"{mega} ล้านพิกเซล", f"{mega} megapixels"
        else:
            dims_th, dims_en = "ใหญ่มาก", "very large"
        self._raise("image_too_large",
                    f'ภาพในไฟล์ "{self.name}" มีขนาด {dims_th} เกินกว่าที่ระบบรับได้ ({mp} ล้านพิกเซล) '
                    "กรุณาลดความละเอียดของภาพ (เช่น สแกนที่ 300 dpi) แล้วแนบใหม่",
                    f'The image in "{self.name}" is {dims_en}, more than the system accepts '
                    f"({mp} megapixels). Please lower its resolution (for example scan at 300 dpi) "
                    "and attach it again.",
                    status=413, pixels=pixels, limit_pixels=limit)

    def active_content(self, found: list[str]) -> NoReturn:
        th = [_ACTIVE_LABELS[k][0] for k in found]
        en = [_ACTIVE_LABELS[k][1] for k in found]
        what_th = " และ".join(th)
        what_en = en[0] if len(en) == 1 else ", ".join(en[:-1]) + " and " + en[-1]
        self._raise("active_content",
                    f'ไฟล์ "{self.name}" มี{what_th} ซึ่งโปรแกรมอ่าน PDF อาจเรียกทำงานหรือเปิดได้เอง '
                    "เพื่อความปลอดภัยของเจ้าหน้าที่ผู้เปิดไฟล์ ระบบจึงไม่รับไฟล์นี้ กรุณาสั่งพิมพ์เอกสารเป็น PDF ใหม่ "
                    '(เลือก "พิมพ์" แล้วเลือก "บันทึกเป็น PDF" หรือ "Microsoft Print to PDF") ซึ่งจะไม่มีสิ่งเหล่านี้ '
                    "แล้วแนบไฟล์ใหม่ หากไฟล์ต้องคงลายมือชื่อดิจิทัลไว้ กรุณาขอสำเนาที่ไม่มีสิ่งเหล่านี้จากผู้ออกเอกสาร",
                    f'The file "{self.name}" contains {what_en}, which a PDF reader may run or open by '
                    "itself, so it is not accepted, for the safety of the officers who open it. Please "
                    'print it to PDF again ("Print", then "Save as PDF" or "Microsoft Print to PDF"), which '
                    "leaves these out, and attach the new file. If the file must keep a digital signature, "
                    "ask whoever issued it for a copy without them.",
                    found=found)

    def pdf_bomb(self) -> NoReturn:
        budget = MAX_PDF_INFLATED // MIB
        self._raise("content_too_large",
                    f'เนื้อหาที่บีบอัดไว้ในไฟล์ "{self.name}" เมื่อขยายออกมีขนาดเกิน {budget} MB หรือมีจำนวนมากเกิน'
                    "กว่าที่ระบบรับได้ (ไฟล์ลักษณะนี้อาจถูกทำขึ้นเพื่อโจมตีระบบ) กรุณาสั่งพิมพ์เอกสารเป็น PDF ใหม่ "
                    "หรือสแกนใหม่ด้วยความละเอียดต่ำลงหรือแบบ JPEG แล้วแนบใหม่",
                    f'The compressed content of "{self.name}" expands to more than {budget} MB, or has '
                    "more parts than the system accepts (files like this can be made to attack a system). "
                    "Please print it to PDF again, or scan it again at a lower resolution or as JPEG, and "
                    "attach it again.",
                    status=413, reason=f"over {MAX_PDF_INFLATED} bytes decoded, or another pypdf limit",
                    limit=MAX_PDF_INFLATED)

    def content_too_large(self, reason: str) -> NoReturn:
        self._raise("content_too_large",
                    f'เนื้อหาภายในไฟล์ "{self.name}" เมื่อขยายออกมีขนาดใหญ่หรือจำนวนมากเกินกว่าที่ระบบรับได้ '
                    "กรุณาลดขนาดเอกสาร (เช่น ลดความละเอียดของภาพในเอกสาร) หรือบันทึกเป็น PDF แล้วแนบใหม่",
                    f'The content of "{self.name}" expands to more than the system accepts. Please '
                    "make the document smaller (for example lower the resolution of its pictures) or "
                    "save it as PDF, and attach it again.",
                    status=413, reason=reason)


# --------------------------------------------------------------- per-format checks
def _check_pdf(data: bytes, refuse: _Refusal) -> tuple[int | None, None]:
    """pypdf must read the cross-reference table, every object and every page;
    a PDF that needs a password to open is refused (one with only an owner
    password, i.e. permissions, opens for anyone and is accepted).  Streams are
    decoded within :data:`MAX_PDF_INFLATED` and active content is refused
    unless the document allows it (:func:`_inspect_pdf`)."""
    from pypdf import PasswordType, PdfReader, apply_configuration

    if b"%%EOF" not in data[-1024:]:
        refuse.corrupt("pdf", "no %%EOF marker at the end: truncated")
    with apply_configuration(**_pypdf_limits(MAX_PDF_INFLATED, len(data))):
        try:
            reader = PdfReader(io.BytesIO(data), strict=False)
            encrypted = reader.is_encrypted
        except Exception as exc:
            refuse.corrupt("pdf", repr(exc))
        if encrypted:
            try:
                opened = reader.decrypt("") != PasswordType.NOT_DECRYPTED
            except Exception:  # e.g. an unknown security handler: nobody here can open it
                opened = False
            if not opened:
                refuse.encrypted()
        found = _inspect_pdf(reader, len(data), refuse)  # before pypdf unpacks object streams itself
        try:
            pages = len(reader.pages)
            for page in reader.pages:
                page.mediabox  # resolves each page object and its inherited attributes
        except Exception as exc:
            refuse.corrupt("pdf", repr(exc))
        if pages == 0:
            refuse.corrupt("pdf", "no pages")
        found |= _inspect_compressed(reader, refuse)
    if found and not getattr(refuse.document, "allow_active_content", False):
        refuse.active_content([kind for kind in _ACTIVE_LABELS if kind in found])
    return pages, None


# Active content in a PDF (ISO 32000-1 §12.6 actions, §7.11 embedded files, §12.5.6.15
# file attachment annotations, §12.7.8 XFA), by dictionary key or by the name an
# action's /S, an annotation's /Subtype or a stream's /Type gives.
_ACTIVE_KEYS = {"/JS": "javascript", "/JavaScript": "javascript", "/XFA": "xfa",
                "/EmbeddedFiles": "embedded_file", "/EF": "embedded_file"}
_ACTIVE_NAMES = {"/JavaScript": "javascript", "/Launch": "launch", "/EmbeddedFile": "embedded_file",
                 "/FileAttachment": "embedded_file", "/SubmitForm": "form_action",
                 "/ImportData": "form_action", "/RichMedia": "rich_media", "/RichMediaExecute": "rich_media"}
_ACTIVE_LABELS = {  # (Thai, English), in the order a message lists them
    "javascript": ("สคริปต์ (JavaScript)", "scripts (JavaScript)"),
    "xfa": ("แบบฟอร์ม XFA (ซึ่งมีสคริปต์ได้)", "an XFA form (which can carry scripts)"),
    "launch": ("คำสั่งเปิดโปรแกรมหรือไฟล์อื่น", "actions that launch programs or other files"),
    "embedded_file": ("ไฟล์อื่นที่ฝังหรือแนบอยู่ในเอกสาร", "embedded or attached files"),
    "form_action": ("คำสั่งส่งหรือนำเข้าข้อมูลแบบฟอร์ม", "form actions that send or import data"),
    "rich_media": ("สื่อแบบโต้ตอบ (เช่น Flash หรือวิดีโอ)", "interactive media (such as Flash or video)"),
}
# pypdf's per-stream output limits (pypdf.Configuration), all set to what is left of the budget.
_PYPDF_OUTPUT_LIMITS = ("zlib_maximum_output_length", "lzw_maximum_output_length",
                        "run_length_maximum_output_length", "brotli_maximum_output_length",
                        "jbig2_maximum_output_length", "array_based_stream_maximum_output_length")


def _pypdf_limits(output: int, size: int) -> dict[str, Any]:
    """Overrides of pypdf's limits for checking a PDF of ``size`` bytes: no
    stream decodes to more than ``output`` bytes (0 would mean no limit, so at
    least 1), none may declare itself longer than the file, and no external
    ``jbig2dec`` is run.  Only the fields this pypdf has."""
    from pypdf import Configuration

    limits: dict[str, Any] = dict.fromkeys(_PYPDF_OUTPUT_LIMITS, max(output, 1))
    limits.update(maximum_declared_stream_length=max(size, 1), jbig2dec_binary=None)
    known = {f.name for f in fields(Configuration)}
    return {name: value for name, value in limits.items() if name in known}


def _inspect_pdf(reader: Any, size: int, refuse: _Refusal) -> set[str]:
    """Read the trailer and every object stored plainly in the file (every
    stream is one, object streams included), decode each filtered stream with
    pypdf's output limits set so that what the file's streams expand by, all
    together, stays within :data:`MAX_PDF_INFLATED` (decoded data is measured,
    then dropped), and return the kinds of active content found.  A stream
    pypdf cannot decode (JBIG2 without jbig2dec, a damaged one) is skipped, as
    a viewer would; one that reaches a limit refuses the file."""
    from pypdf import apply_configuration
    from pypdf.errors import LimitReachedError
    from pypdf.filters import decode_stream_data
    from pypdf.generic import StreamObject

    found = _active_in(reader.trailer)
    left = MAX_PDF_INFLATED
    for num, gen in sorted((num, gen) for gen, table in reader.xref.items() for num in table):
        obj = _read_object(reader, num, gen, refuse)
        if isinstance(obj, StreamObject) and "/Filter" in obj:
            raw = len(obj._data)  # the stored bytes, as decode_stream_data reads them
            try:
                with apply_configuration(**_pypdf_limits(left + raw, size)):
                    left -= max(0, len(decode_stream_data(obj)) - raw)
            except LimitReachedError:
                refuse.pdf_bomb()
            except Exception:  # noqa: S110 - not decodable here, so nothing inflated
                pass
            if left < 0:
                refuse.pdf_bomb()
        found |= _active_in(obj)
    return found


def _inspect_compressed(reader: Any, refuse: _Refusal) -> set[str]:
    """The kinds of active content in the objects kept inside object streams
    (read after :func:`_inspect_pdf` has measured those streams)."""
    found: set[str] = set()
    for num in sorted(reader.xref_objStm):
        found |= _active_in(_read_object(reader, num, 0, refuse))
    return found


def _read_object(reader: Any, num: int, gen: int, refuse: _Refusal) -> Any:
    """Object ``num gen``, a limit of pypdf's refusing the file as too large
    and anything else as damaged.  (A reader treats references to objects the
    cross-reference tables do not list as null, ISO 32000-1 §7.3.10, so only
    listed objects are read.)"""
    from pypdf.errors import LimitReachedError
    from pypdf.generic import IndirectObject

    try:
        return reader.get_object(IndirectObject(num, gen, reader))
    except LimitReachedError:
        refuse.pdf_bomb()
    except Exception as exc:
        refuse.corrupt("pdf", f"object {num} {gen}: {exc!r}")


def _active_in(obj: Any) -> set[str]:
    """The kinds of active content one PDF object signals, looking into the
    dictionaries and arrays it holds directly (not into other objects it references)."""
    found: set[str] = set()
    todo = [obj]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key in _ACTIVE_KEYS:
                    found.add(_ACTIVE_KEYS[key])
                elif key in ("/S", "/Subtype", "/Type") and isinstance(value, str) and value in _ACTIVE_NAMES:
                    found.add(_ACTIVE_NAMES[value])
                elif key == "/URI" and isinstance(value, (str, bytes)) and _is_javascript_uri(value):
                    found.add("javascript")
                if isinstance(value, (dict, list)):
                    todo.append(value)
        elif isinstance(item, list):
            todo.extend(item)
    return found


def _is_javascript_uri(value: str | bytes) -> bool:
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    return re.sub(r"[\x00-\x20]", "", text).lower().startswith("javascript:")


_PIL_FORMATS = {"jpeg": "JPEG", "png": "PNG", "tiff": "TIFF", "bmp": "BMP"}


def _check_image(kind: str) -> Any:
    def check(data: bytes, refuse: _Refusal) -> tuple[int | None, None]:
        """Pillow (restricted to the sniffed format's plugin) must verify the file
        and decode every frame; sizes are checked before anything is decoded."""
        from PIL import Image, ImageFile

        # Importing WeasyPrint (any PDF the platform renders) sets Pillow's process-wide
        # LOAD_TRUNCATED_IMAGES to True, after which a cut-off image would pass here.
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        limit = Image.MAX_IMAGE_PIXELS or _DEFAULT_MAX_PIXELS
        formats = [_PIL_FORMATS[kind]]

        def guard(im: Any) -> None:
            width, height = im.size
            if width * height > limit:
                refuse.image_too_large((width, height), width * height, limit)

        try:
            with Image.open(io.BytesIO(data), formats=formats) as im:
                guard(im)
                im.verify()
            with Image.open(io.BytesIO(data), formats=formats) as im:
                frames = getattr(im, "n_frames", 1)
                if frames > MAX_TIFF_FRAMES:
                    refuse.content_too_large(f"{frames} frames")
                for index in range(frames):
                    if index:
                        im.seek(index)
                    guard(im)
                    im.load()
        except UploadError:
            raise
        except Image.DecompressionBombError as exc:  # over twice the limit: refused at open
            found = re.search(r"\((\d+) pixels\)", str(exc))
            refuse.image_too_large(None, int(found.group(1)) if found else None, limit)
        except Exception as exc:
            refuse.corrupt(kind, repr(exc))
        return frames, None

    return check


def _check_docx(data: bytes, refuse: _Refusal) -> tuple[None, None]:
    """A sound Office Open XML zip: readable central directory, no entry that
    expands absurdly, no encrypted entry, ``[Content_Types].xml`` declaring a
    Word main part, ``word/document.xml`` present, and every CRC right."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:
        refuse.corrupt("docx", repr(exc))
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            refuse.content_too_large(f"{len(infos)} zip entries")
        total = 0
        for info in infos:
            total += info.file_size
            if info.flag_bits & 0x1:
                refuse.encrypted()
            if info.file_size > MIB and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
                refuse.content_too_large(f"{info.filename}: ratio over {MAX_ZIP_RATIO}")
        if total > MAX_ZIP_TOTAL:
            refuse.content_too_large(f"{total} bytes uncompressed")
        names = {info.filename for info in infos}
        if "[Content_Types].xml" not in names or "word/document.xml" not in names:
            refuse.corrupt("docx", "missing [Content_Types].xml or word/document.xml")
        try:
            if zf.getinfo("[Content_Types].xml").file_size > MIB:
                refuse.corrupt("docx", "[Content_Types].xml too large")
            if not any(t in zf.read("[Content_Types].xml") for t in DOCX_MAIN):
                refuse.corrupt("docx", "[Content_Types].xml declares no Word document")
            for info in infos:  # read everything: zipfile checks each CRC at the end
                with zf.open(info) as f:
                    while f.read(MIB):
                        pass
        except UploadError:
            raise
        except Exception as exc:
            refuse.corrupt("docx", repr(exc))
    return None, None


def _check_doc(data: bytes, refuse: _Refusal) -> tuple[None, None]:
    """A sound OLE2 Word file: olefile parses it (raising on incorrect
    structures), its WordDocument stream starts with a Word FIB (wIdent 0xA5EC)
    whose fEncrypted flag is clear, and its table stream is there and readable."""
    import olefile

    try:
        with olefile.OleFileIO(io.BytesIO(data), raise_defects=olefile.DEFECT_INCORRECT) as ole:
            if not ole.exists("WordDocument"):
                refuse.corrupt("doc", "no WordDocument stream")
            word = ole.openstream("WordDocument").read()
            if len(word) < 32 or word[:2] != b"\xec\xa5":
                refuse.corrupt("doc", "WordDocument stream does not start with a FIB")
            flags = int.from_bytes(word[10:12], "little")
            if flags & 0x0100:  # fEncrypted (RC4 or XOR obfuscation)
                refuse.encrypted()
            table = "1Table" if flags & 0x0200 else "0Table"
            if not ole.exists(table):
                refuse.corrupt("doc", f"no {table} stream")
            ole.openstream(table).read()
    except UploadError:
        raise
    except Exception as exc:
        refuse.corrupt("doc", repr(exc))
    return None, None


def _check_txt(data: bytes, refuse: _Refusal) -> tuple[None, str | None]:
    encoding = decode_text(data)
    if encoding is None:
        refuse.bad_text()
    return None, encoding


_CHECKS = {"pdf": _check_pdf, "jpeg": _check_image("jpeg"), "png": _check_image("png"),
           "tiff": _check_image("tiff"), "bmp": _check_image("bmp"), "docx": _check_docx,
           "doc": _check_doc, "txt": _check_txt}

