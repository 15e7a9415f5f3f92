"""Checking attached files (eservice.documents).

Every sample is generated here: PDFs with pypdf, images with Pillow, DOCX with
zipfile, DOC as a minimal OLE2 compound file, Thai text in UTF-8 and TIS-620.
Refusals assert the exact code and that the Thai and English messages both
name the (cleaned) file.
"""
# R: PR-4 (common formats accepted as long as legible), A-F4 (formats, size limit),
# R: A-F6 (documents validated before submission), A-F9 (stored by SHA-256)
from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib
from decimal import Decimal

import pytest
from PIL import Image
from pypdf import PdfWriter

from eservice.documents import (
    EXTENSIONS, FORMATS, MEDIA_TYPES, CheckedFile, UploadError, accept_attribute, check_upload,
    format_label, safe_filename, sniff_format, store_upload,
)
from eservice.engine import EngineError
from eservice.files import FileStore
from eservice.spec.models import Document

ALL = FORMATS


def document(formats=("pdf", "jpeg", "png"), max_size_mb="10", **extra) -> Document:
    return Document(id="evidence", title="หลักฐานประกอบคำขอ", formats=formats,
                    max_size_mb=Decimal(max_size_mb), **extra)


# ------------------------------------------------------------------ sample files
def pdf_bytes(pages: int = 1, **encrypt) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if encrypt:
        writer.encrypt(**encrypt)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def image_bytes(fmt: str, size=(64, 48), frames: int = 1) -> bytes:
    images = [Image.new("RGB", size, (30 * i, 120, 200)) for i in range(frames)]
    out = io.BytesIO()
    if frames > 1:
        images[0].save(out, fmt, save_all=True, append_images=images[1:])
    else:
        images[0].save(out, fmt)
    return out.getvalue()


CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/{main}.main+xml"/></Types>')
RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="word/document.xml" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/officeDocument"/></Relationships>')
WORD_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    "<w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>")
DOCX_MAIN = "vnd.openxmlformats-officedocument.wordprocessingml.document"


def docx_bytes(text: str = "คำร้องขอรับใบอนุญาต", main: str = DOCX_MAIN, parts: dict | None = None,
               skip: tuple = ()) -> bytes:
    out = io.BytesIO()
    entries = {"[Content_Types].xml": CONTENT_TYPES.format(main=main), "_rels/.rels": RELS,
               "word/document.xml": WORD_XML.format(text=text), **(parts or {})}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in entries.items():
            if name not in skip:
                zf.writestr(name, content)
    return out.getvalue()


ENDOFCHAIN, FREESECT, FATSECT, NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


def cfb_bytes(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE2 compound file (version 3, 512-byte sectors): sector 0 the
    FAT, sector 1 the directory, then each stream (padded to 4096 bytes so it
    lives in the FAT rather than the mini stream).  Up to three streams."""
    assert len(streams) <= 3
    fat, body, entries, sector = [FATSECT, ENDOFCHAIN], b"", [], 2
    for name, data in streams.items():
        data = data.ljust(4096, b"\0")
        count = -(-len(data) // 512)
        fat += [sector + i + 1 for i in range(count - 1)] + [ENDOFCHAIN]
        entries.append((name, 2, sector, len(data)))
        body += data.ljust(count * 512, b"\0")
        sector += count

    def entry(name="", kind=0, start=0, size=0, child=NOSTREAM, right=NOSTREAM):
        raw = name.encode("utf-16-le") + b"\0\0" if name else b""
        return (raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), kind, 1)
                + struct.pack("<III", NOSTREAM, right, child) + bytes(16 + 4 + 16)
                + struct.pack("<IQ", start, size))

    directory = entry("Root Entry", 5, ENDOFCHAIN, 0, child=1 if entries else NOSTREAM)
    for i, (name, kind, start, size) in enumerate(entries):
        directory += entry(name, kind, start, size, right=i + 2 if i + 1 < len(entries) else NOSTREAM)
    directory = directory.ljust(512, b"\0")
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16)
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + bytes(6)
              + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, ENDOFCHAIN, 0, ENDOFCHAIN, 0)
              + struct.pack("<I", 0) + b"\xff" * (4 * 108))
    fat_sector = b"".join(struct.pack("<I", x) for x in fat).ljust(512, b"\xff")
    return header + fat_sector + directory + body


def doc_bytes(encrypted: bool = False, table: bool = True) -> bytes:
    fib = bytearray(4096)
    fib[0:2] = b"\xec\xa5"  # wIdent
    fib[2:4] = struct.pack("<H", 0x00C1)  # nFib: Word 97
    fib[10:12] = struct.pack("<H", 0x0200 | (0x0100 if encrypted else 0))  # fWhichTblStm, fEncrypted
    streams = {"WordDocument": bytes(fib)}
    if table:
        streams["1Table"] = b"\x01" * 4096
    return cfb_bytes(streams)


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width×height (a decompression bomb's calling card)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 4096)) + chunk(b"IEND", b""))


THAI_TEXT = "คำร้องขอใบอนุญาตประกอบกิจการ\nนายสมชาย ใจดี เลขที่ 99/1 ถนนพหลโยธิน\n"
GARBAGE = bytes(range(256)) * 8  # has NULs and bytes no Thai code page defines


def refused(data: bytes, filename: str, doc: Document, code: str, shown: str | None = None) -> UploadError:
    """Assert check_upload refuses with ``code``, both messages naming the file."""
    with pytest.raises(UploadError) as info:
        check_upload(data, filename, doc)
    err = info.value
    assert err.code == code, (err.code, err.en)
    assert err.th.strip() and err.en.strip()
    shown = shown or filename
    assert f'"{shown}"' in err.th and f'"{shown}"' in err.en
    assert err.details["filename"] == shown and err.details["document"] == doc.id
    assert isinstance(err, EngineError) and err.status in (413, 415, 422)
    return err


# ------------------------------------------------------------------- good files
GOOD = [
    ("pdf", "คำร้อง.pdf", lambda: pdf_bytes(), "application/pdf"),
    ("jpeg", "บัตรประชาชน.jpg", lambda: image_bytes("JPEG"), "image/jpeg"),
    ("jpeg", "photo.JPEG", lambda: image_bytes("JPEG"), "image/jpeg"),
    ("png", "แผนที่.png", lambda: image_bytes("PNG"), "image/png"),
    ("tiff", "scan.tif", lambda: image_bytes("TIFF"), "image/tiff"),
    ("bmp", "map.bmp", lambda: image_bytes("BMP"), "image/bmp"),
    ("docx", "หนังสือมอบอำนาจ.docx", lambda: docx_bytes(), MEDIA_TYPES["docx"]),
    ("doc", "letter.doc", lambda: doc_bytes(), "application/msword"),
    ("txt", "note-utf8.txt", lambda: THAI_TEXT.encode("utf-8"), "text/plain"),
    ("txt", "note-bom.txt", lambda: THAI_TEXT.encode("utf-8-sig"), "text/plain"),
    ("txt", "note-tis620.txt", lambda: THAI_TEXT.encode("tis-620"), "text/plain"),
]


@pytest.mark.parametrize("fmt,filename,make,media_type", GOOD, ids=[g[1] for g in GOOD])
def test_good_files_are_accepted_and_stored(tmp_path, fmt, filename, make, media_type):
    # R: PR-4, A-F4, A-F9
    data = make()
    doc = document(formats=ALL)
    checked = check_upload(data, filename, doc)
    assert isinstance(checked, CheckedFile)
    assert checked.format == fmt
    assert checked.media_type == media_type == MEDIA_TYPES[fmt]
    assert checked.sha256 == hashlib.sha256(data).hexdigest()
    assert checked.size == len(data)
    assert checked.filename == filename

    files = FileStore(tmp_path / "files", durable=False)
    stored = store_upload(files, data, filename, doc)
    assert stored == {"sha256": checked.sha256, "filename": filename, "media_type": media_type,
                      "size": len(data)}
    assert files.get(stored["sha256"]) == data
    assert files.verify(stored["sha256"])


def test_text_encoding_is_reported():
    doc = document(formats=("txt",))
    assert check_upload(THAI_TEXT.encode("utf-8"), "a.txt", doc).encoding == "utf-8"
    assert check_upload(THAI_TEXT.encode("tis-620"), "a.txt", doc).encoding == "windows-874"
    assert check_upload(THAI_TEXT.encode("cp874"), "a.txt", doc).pages is None


def test_page_counts():
    doc = document(formats=ALL)
    assert check_upload(pdf_bytes(pages=3), "three.pdf", doc).pages == 3
    assert check_upload(image_bytes("TIFF", frames=2), "fax.tiff", doc).pages == 2
    assert check_upload(image_bytes("PNG"), "one.png", doc).pages == 1
    assert check_upload(docx_bytes(), "a.docx", doc).pages is None


def test_pdf_with_only_an_owner_password_opens_for_anyone_and_is_accepted():
    # Permission restrictions only: every viewer opens it without asking.
    data = pdf_bytes(user_password="", owner_password="owner-secret")
    assert check_upload(data, "statement.pdf", document()).format == "pdf"


def test_type_comes_from_the_bytes_when_the_name_has_no_known_extension():
    doc = document(formats=ALL)
    assert check_upload(pdf_bytes(), "scan", doc).filename == "scan.pdf"
    assert check_upload(image_bytes("PNG"), "upload.bin", doc).filename == "upload.bin.png"
    assert check_upload(THAI_TEXT.encode(), "บันทึก", doc).filename == "บันทึก.txt"
    assert check_upload(pdf_bytes(), "", doc).filename == "evidence.pdf"


# ----------------------------------------------------------------------- refusals
def test_empty_file():
    refused(b"", "บัตรประชาชน.pdf", document(), "empty_file")


def test_over_the_size_limit_is_refused_before_any_parsing():
    # R: A-F4 size limit
    doc = document(max_size_mb="0.01")  # 10,485 bytes
    data = image_bytes("PNG", size=(400, 400)) + b"\0" * 20_000
    err = refused(data, "big.png", doc, "file_too_large")
    assert err.status == 413
    assert "0.01 MB" in err.th and "0.01 MB" in err.en
    size_mb = f"{-(-len(data) * 100 // (1024 * 1024)) / 100:.2f} MB"
    assert size_mb in err.th and size_mb in err.en
    # garbage is refused for its size, not its content: nothing parsed it
    refused(GARBAGE * 10, "junk.pdf", doc, "file_too_large")
    # exactly at the limit is fine
    exact = document(formats=("txt",), max_size_mb="0.001")
    limit = int(Decimal("0.001") * 1024 * 1024)
    assert check_upload(b"a" * limit, "a.txt", exact).size == limit
    refused(b"a" * (limit + 1), "a.txt", exact, "file_too_large")


def test_pdf_named_file_that_is_a_png():
    err = refused(image_bytes("PNG"), "หนังสือรับรอง.pdf", document(), "extension_mismatch")
    assert "PNG" in err.th and "PNG" in err.en
    assert ".png" in err.en  # PNG is accepted here: rename it
    only_pdf = refused(image_bytes("PNG"), "x.pdf", document(formats=("pdf",)), "extension_mismatch")
    assert "PDF" in only_pdf.en and ".png" not in only_pdf.en


def test_pdf_named_file_of_random_bytes():
    err = refused(GARBAGE, "statement.pdf", document(), "extension_mismatch")
    assert err.details["actual"] is None
    assert "PDF" in err.th and "not PDF" in err.en


def test_truncated_and_broken_pdfs():
    data = pdf_bytes(pages=2)
    refused(data[: len(data) // 2], "half.pdf", document(), "corrupt_file")
    refused(data[:-40], "cut.pdf", document(), "corrupt_file")
    refused(b"%PDF-1.7\n" + GARBAGE.replace(b"\0", b" ") + b"\n%%EOF\n", "fake.pdf", document(),
            "corrupt_file")


def test_truncated_images():
    png, jpeg = image_bytes("PNG", size=(300, 200)), image_bytes("JPEG", size=(300, 200))
    refused(png[: len(png) // 2], "map.png", document(), "corrupt_file")
    refused(png[:-12], "map.png", document(), "corrupt_file")  # IEND missing
    refused(jpeg[: len(jpeg) // 2], "photo.jpg", document(), "corrupt_file")
    tiff = image_bytes("TIFF", size=(300, 200))
    refused(tiff[: len(tiff) // 2], "scan.tiff", document(formats=("tiff",)), "corrupt_file")


@pytest.mark.parametrize("options", [{"user_password": "pw"},
                                     {"user_password": "pw", "algorithm": "AES-256"}],
                         ids=["rc4", "aes256"])
def test_password_protected_pdf(options):
    # R: PR-4 "as long as it is legible": officers cannot open it
    refused(pdf_bytes(**options), "locked.pdf", document(), "encrypted_file")


def test_format_not_in_the_documents_list():
    # R: A-F4 accepted formats
    err = refused(docx_bytes(), "แบบฟอร์ม.docx", document(formats=("pdf",)), "format_not_accepted")
    assert "DOCX" in err.th and "DOCX" in err.en
    assert "PDF" in err.th and "Accepted formats: PDF." in err.en
    err = refused(image_bytes("GIF"), "logo.gif", document(formats=("pdf", "jpeg", "png")),
                  "format_not_accepted")
    assert "GIF" in err.en and "PDF, JPEG, PNG" in err.th and "PDF, JPEG, PNG" in err.en
    refused(image_bytes("TIFF"), "scan.tiff", document(formats=("pdf",)), "format_not_accepted")


def test_unrecognised_content():
    err = refused(GARBAGE, "data.bin", document(), "unknown_format")
    assert err.status == 415 and "PDF, JPEG, PNG" in err.en


def test_broken_docx():
    doc = document(formats=("docx",))
    data = docx_bytes(text="ก" * 2000)
    refused(data[:-30], "form.docx", doc, "corrupt_file")  # no end of central directory
    refused(data[: len(data) // 2], "form.docx", doc, "corrupt_file")
    refused(docx_bytes(skip=("[Content_Types].xml",)), "form.docx", doc, "corrupt_file")
    # a flipped byte inside word/document.xml: the CRC catches it
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo("word/document.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    damaged = bytearray(data)
    damaged[start + info.compress_size // 2] ^= 0xFF
    refused(bytes(damaged), "form.docx", doc, "corrupt_file")
    # a plain zip renamed .docx
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("readme.txt", "hello")
    err = refused(out.getvalue(), "form.docx", doc, "extension_mismatch")
    assert "ZIP" in err.en


def test_docx_zip_bomb():
    huge = {"word/media/blank.xml": "\0" * (20 * 1024 * 1024)}  # 20 MiB that deflates to ~20 KB
    data = docx_bytes(parts=huge)
    assert len(data) < 100_000
    err = refused(data, "bomb.docx", document(formats=("docx",)), "content_too_large")
    assert err.status == 413


def test_macro_enabled_word_is_not_docx():
    data = docx_bytes(main="vnd.ms-word.document.macroEnabled")
    assert sniff_format(data) == "docm"
    refused(data, "form.docm", document(formats=("docx",)), "format_not_accepted")
    refused(data, "form.docx", document(formats=("docx",)), "extension_mismatch")


def test_encrypted_docx_and_doc():
    encrypted_ooxml = cfb_bytes({"EncryptionInfo": b"\x04\x00\x04\x00" + bytes(100),
                                 "EncryptedPackage": b"\x99" * 5000})
    refused(encrypted_ooxml, "สัญญา.docx", document(formats=("docx",)), "encrypted_file")
    refused(doc_bytes(encrypted=True), "สัญญา.doc", document(formats=("doc",)), "encrypted_file")


def test_broken_doc():
    doc = document(formats=("doc",))
    data = doc_bytes()
    refused(data[: len(data) - 3000], "letter.doc", doc, "corrupt_file")
    refused(doc_bytes(table=False), "letter.doc", doc, "corrupt_file")
    not_word = cfb_bytes({"WordDocument": b"\x00" * 4096})  # no FIB
    refused(not_word, "letter.doc", doc, "corrupt_file")
    excel = cfb_bytes({"Workbook": b"\x09\x08" + bytes(100)})
    err = refused(excel, "letter.doc", doc, "extension_mismatch")
    assert "Excel" in err.en


def test_bad_text_files():
    doc = document(formats=("txt",))
    refused(b"hello\x00world", "note.txt", doc, "invalid_text")
    refused(THAI_TEXT.encode("utf-16"), "note.txt", doc, "invalid_text")  # Notepad's "Unicode"
    refused(b"\xff\xfe\xfd\xfc", "note.txt", doc, "invalid_text")  # neither UTF-8 nor cp874
    refused(b"bell\x07", "note.txt", doc, "invalid_text")


def test_image_bomb_headers():
    # over twice Pillow's limit: refused as the file is opened, nothing decoded
    err = refused(png_header(100_000, 100_000), "bomb.png", document(), "image_too_large")
    assert err.status == 413
    # over the limit but under twice it: refused by our own check before load()
    with pytest.warns(Image.DecompressionBombWarning):
        err = refused(png_header(10_000, 10_000), "big.png", document(), "image_too_large")
    assert "10000×10000" in err.th and "10000×10000" in err.en


# ------------------------------------------------------------------ file names
def test_filenames_are_cleaned():
    doc = document(formats=ALL)
    pdf = pdf_bytes()
    assert check_upload(pdf, "../../etc/passwd", doc).filename == "passwd.pdf"
    assert check_upload(pdf, "..\\..\\Windows\\system.ini.pdf", doc).filename == "system.ini.pdf"
    assert check_upload(pdf, "C:\\Users\\somchai\\สำเนา\x00ทะเบียน\x1b\tบ้าน.pdf", doc).filename == \
        "สำเนาทะเบียน บ้าน.pdf"
    # a right-to-left override that would display "invoice_fdp.exe" as "invoice_exe.pdf"
    assert check_upload(pdf, "invoice_\u202efdp.pdf", doc).filename == "invoice_fdp.pdf"
    assert check_upload(pdf, "...hidden.pdf", doc).filename == "hidden.pdf"
    assert check_upload(pdf, 'a<b>c:"d"|e?*.pdf', doc).filename == "a_b_c__d__e__.pdf"
    assert check_upload(pdf, "CON.pdf", doc).filename == "_CON.pdf"
    assert check_upload(pdf, "\x00\x01", doc).filename == "evidence.pdf"
    long_name = check_upload(pdf, "ก" * 400 + ".pdf", doc).filename
    assert long_name.endswith(".pdf") and len(long_name) <= 150
    assert len(long_name.encode("utf-8")) <= 240


def test_refusals_name_the_cleaned_file():
    err = refused(b"", "../../etc/pass\x07wd.pdf", document(), "empty_file", shown="passwd.pdf")
    assert "../" not in err.th and "\x07" not in err.en


def test_safe_filename_keeps_thai_and_is_idempotent():
    for name in ("สำเนาบัตรประจำตัวประชาชน.pdf", "ใบ  อนุญาต .pdf", "a.b.c.PDF", "ก" * 300 + ".pdf"):
        once = safe_filename(name)
        assert safe_filename(once) == once
    assert safe_filename("สำเนาบัตรประจำตัวประชาชน.pdf") == "สำเนาบัตรประจำตัวประชาชน.pdf"
    assert safe_filename("ใบ  อนุญาต .pdf") == "ใบ อนุญาต.pdf"
    assert safe_filename(None, fallback="x") == "x"


# --------------------------------------------------------------------- helpers
def test_media_types_labels_and_accept_attribute():
    model_formats = Document.model_fields["formats"].annotation.__args__[0].__args__
    assert set(model_formats) == set(FORMATS) == set(MEDIA_TYPES) == set(EXTENSIONS)
    assert [format_label(f) for f in ("pdf", "jpeg", "png", "docx", "txt")] == \
        ["PDF", "JPEG", "PNG", "DOCX", "TXT"]
    accept = accept_attribute(document(formats=("pdf", "jpeg")))
    assert accept == ".pdf,application/pdf,.jpg,.jpeg,.jpe,.jfif,image/jpeg"
    full = accept_attribute(document(formats=ALL)).split(",")
    for fmt in FORMATS:
        assert MEDIA_TYPES[fmt] in full and EXTENSIONS[fmt][0] in full


def test_sniffing_ignores_names_and_knows_common_refused_types():
    assert sniff_format(pdf_bytes()) == "pdf"
    assert sniff_format(image_bytes("PNG")) == "png"
    assert sniff_format(image_bytes("BMP")) == "bmp"
    assert sniff_format(docx_bytes()) == "docx"
    assert sniff_format(doc_bytes()) == "doc"
    assert sniff_format(image_bytes("GIF")) == "gif"
    assert sniff_format(b"{\\rtf1\\ansi hello}") == "rtf"
    assert sniff_format(b"BMW 320i registration") == "txt"  # "BM" alone is not a bitmap
    assert sniff_format(GARBAGE) is None


def test_bytearray_and_memoryview_uploads():
    data = pdf_bytes()
    assert check_upload(bytearray(data), "a.pdf", document()).sha256 == hashlib.sha256(data).hexdigest()
    assert check_upload(memoryview(data), "a.pdf", document()).size == len(data)
    refused(memoryview(b"x" * 20_000), "a.txt", document(formats=("txt",), max_size_mb="0.01"),
            "file_too_large")
    with pytest.raises(TypeError):
        check_upload("not bytes", "a.txt", document(formats=("txt",)))


def test_truncated_images_are_refused_after_a_pdf_was_rendered():
    # WeasyPrint's import turns Pillow's LOAD_TRUNCATED_IMAGES on for the whole process;
    # an upload after the platform rendered any document must still be checked strictly.
    from eservice.renderers.pdf import render_pdf

    assert render_pdf("<p>ทดสอบ</p>").startswith(b"%PDF")
    png = image_bytes("PNG", size=(300, 200))
    refused(png[:-12], "map.png", document(), "corrupt_file")
