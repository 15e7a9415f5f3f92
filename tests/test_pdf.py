"""PDF rendering: Thai text, the embedded font, templates, the sandbox.

# R: IS-1  licences, results and letters are produced as (PDF) files
Text is read back with pypdf (no poppler needed).
"""
from __future__ import annotations

import io
import shutil
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from pypdf import PdfReader

from eservice.renderers import fonts
from eservice.renderers.pdf import (
    PdfRenderError,
    display_value,
    normalize_extracted_thai,
    render_pdf,
    render_template_file_pdf,
    render_template_pdf,
    thai_datetime,
)

UTC = timezone.utc


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def squashed(pdf: bytes) -> str:
    """Extracted text, comparable with the source (see normalize_extracted_thai)."""
    return normalize_extracted_thai(text_of(pdf))


def embedded_fonts(pdf: bytes) -> list[dict]:
    found = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = descendant["/FontDescriptor"].get_object()
            program = None
            for key in ("/FontFile2", "/FontFile3", "/FontFile"):
                if key in descriptor:
                    program = descriptor[key].get_object().get_data()
            found.append({"name": str(font["/BaseFont"]), "program": program})
    return found


# --------------------------------------------------------------------------- #
# Thai text and the font
# --------------------------------------------------------------------------- #

STACKED = ["ปั้น", "ที่นี่", "น้ำ", "ญี่ปุ่น", "กั๊ก", "ผู้ใหญ่"]


def test_thai_with_stacked_marks_comes_back_out_of_the_pdf():  # R: IS-1
    # "ทำ" comes first on purpose: WeasyPrint alone then maps the SARA AA glyph
    # to "ำ" for the rest of the document ("ภาษา" read back as "ภำษำ").
    words = ["ทำ", "ภาษา", "ค่ำ", *STACKED, "คำขอ", "เลขประจำตัวประชาชน"]
    pdf = render_pdf(f"<p>{' '.join(words)}</p>")
    raw = text_of(pdf)
    assert "ภาษา" in raw and "ภำษำ" not in raw and "ค้ำ" not in raw
    back = squashed(pdf)
    for word in words:
        assert word in back, (word, raw)


def test_the_thai_font_is_embedded_not_referenced():
    pdf = render_pdf("<p>สวัสดีครับ Hello</p>")
    found = embedded_fonts(pdf)
    assert found, "no font in the page resources"
    for font in found:
        assert font["program"], f"font {font['name']} is not embedded"
    # the embedded (subset) program really holds the Thai glyphs drawn
    from fontTools.ttLib import TTFont

    tt = TTFont(io.BytesIO(found[0]["program"]))
    regular = TTFont(str(fonts.find_thai_font().regular))
    ko_kai = regular.getGlyphID(regular.getBestCmap()[0x0E2A])  # ส
    assert tt["glyf"][tt.getGlyphName(ko_kai)].numberOfContours > 0


def test_page_is_a4_and_line_height_is_generous():
    pdf = render_pdf("<p>บรรทัดหนึ่ง<br>บรรทัดสอง</p>")
    box = PdfReader(io.BytesIO(pdf)).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    # line-height 1.6 at 12 pt: baselines 19.2 pt apart
    ys = []
    PdfReader(io.BytesIO(pdf)).pages[0].extract_text(
        visitor_text=lambda t, cm, tm, fd, fs: ys.append(round(tm[5] * cm[3] + cm[5], 1)) if t.strip() else None
    )
    distinct = sorted(set(ys), reverse=True)
    assert len(distinct) >= 2
    assert distinct[0] - distinct[1] == pytest.approx(19.2, abs=0.6)


def test_long_thai_lines_break_between_words_not_inside_them():
    pdf = render_pdf(f"<div style='width: 40mm'>{'สวัสดี' * 30}</div>")
    lines = [normalize_extracted_thai(line) for line in text_of(pdf).splitlines() if line.strip()]
    assert len(lines) > 3
    for line in lines:
        assert line and line.replace("สวัสดี", "") == "", line


def test_sarabun_from_fontpkg_is_the_default_font():
    font = fonts.find_thai_font()
    assert font.name == "Sarabun" and font.source == "fontpkg-sarabun"
    faces = {(f.weight, f.style) for f in font.faces}
    assert {(400, "normal"), (700, "normal")} <= faces
    assert all(f.path.is_file() for f in font.faces)


def test_system_fallback_finds_a_thai_font_by_its_debian_file_name(tmp_path, monkeypatch):
    tlwg = tmp_path / "truetype" / "tlwg"
    tlwg.mkdir(parents=True)
    sarabun = fonts.find_thai_font()
    shutil.copy(sarabun.regular, tlwg / "Loma.ttf")
    monkeypatch.setattr(fonts, "_from_fontpkg", lambda: None)
    fonts.find_thai_font.cache_clear()
    try:
        found = fonts.find_thai_font((tmp_path,))
        assert found.name == "Loma" and found.source == "system"
        assert found.regular == tlwg / "Loma.ttf"
    finally:
        fonts.find_thai_font.cache_clear()


def test_a_font_without_thai_glyphs_is_not_taken_for_one(tmp_path, monkeypatch):
    noto = tmp_path / "noto"
    noto.mkdir()
    (noto / "NotoSansThai-Regular.ttf").write_bytes(b"not a font at all")
    monkeypatch.setattr(fonts, "_from_fontpkg", lambda: None)
    fonts.find_thai_font.cache_clear()
    try:
        with pytest.raises(fonts.ThaiFontNotFound):
            fonts.find_thai_font((tmp_path,))
    finally:
        fonts.find_thai_font.cache_clear()


def test_no_thai_font_is_a_clear_bilingual_error(tmp_path, monkeypatch):
    monkeypatch.setattr(fonts, "_from_fontpkg", lambda: None)
    fonts.find_thai_font.cache_clear()
    try:
        with pytest.raises(fonts.ThaiFontNotFound) as info:
            fonts.find_thai_font((tmp_path,))
    finally:
        fonts.find_thai_font.cache_clear()
    assert "ฟอนต์ภาษาไทย" in info.value.th
    assert "fontpkg-sarabun" in info.value.en and "fonts-thai-tlwg" in info.value.en


def test_an_agency_font_folder_overrides_the_default(tmp_path, monkeypatch):
    sarabun = fonts.find_thai_font()
    shutil.copy(sarabun.regular, tmp_path / "THSarabunNew.ttf")
    monkeypatch.setenv(fonts.ENV_FONT_DIR, str(tmp_path))
    fonts.find_thai_font.cache_clear()
    try:
        found = fonts.find_thai_font()
        assert found.source == fonts.ENV_FONT_DIR and found.regular == tmp_path / "THSarabunNew.ttf"
        monkeypatch.setenv(fonts.ENV_FONT_DIR, str(tmp_path / "missing"))
        fonts.find_thai_font.cache_clear()
        with pytest.raises(fonts.ThaiFontNotFound):
            fonts.find_thai_font()
    finally:
        fonts.find_thai_font.cache_clear()


def test_normalize_extracted_thai():
    assert normalize_extracted_thai("ทํา น้ํา ค่ํา") == "ทำน้ำค่ำ"
    assert normalize_extracted_thai("ปั้ น", drop_spaces=False) == "ปั้ น"
    assert normalize_extracted_thai("ปั้ น") == "ปั้น"


# --------------------------------------------------------------------------- #
# The submission summary
# --------------------------------------------------------------------------- #


def summary_context() -> dict:
    return dict(
        agency={"th": "สำนักงานเขตบางรัก", "en": "Bang Rak District Office"},
        service_title={"th": "ขอใบอนุญาตจำหน่ายอาหาร", "en": "Food sale licence"},
        intake_number="123/2566",
        reference_code="K7Q2-9XRM-4TDA",
        received_at=datetime(2023, 1, 23, 1, 30, tzinfo=UTC),  # 08:30 in Bangkok
        sections=[
            {"title": {"th": "ผู้ยื่นคำขอ", "en": "Applicant"}, "rows": [
                {"label_th": "ชื่อ-นามสกุล", "label_en": "Full name", "value": "นางสาวปั้นหยา ที่นี่ดี"},
                {"label_th": "พื้นที่ร้าน", "label_en": "Shop area", "value": Decimal("1250.5")},
                {"label_th": "มีที่จอดรถ", "label_en": "Parking", "value": False},
            ]},
            {"title_th": "กิจการ", "title_en": "Business", "rows": [
                {"label_th": "ประเภท", "label_en": "Type", "value": ["ร้านอาหาร", "เครื่องดื่ม"]},
                {"label_th": "หมายเหตุ", "label_en": "Notes", "value": None},
            ]},
        ],
        documents=[{"label_th": "สำเนาบัตรประชาชน", "label_en": "ID card", "filename": "id.pdf",
                    "size": 18342, "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}],
        signature={"signer": "นางสาวปั้นหยา ที่นี่ดี", "signed_at": datetime(2023, 1, 22, 14, 33, tzinfo=UTC),
                   "declaration": {"th": "ข้าพเจ้าขอรับรองว่าข้อความข้างต้นเป็นความจริง",
                                   "en": "I certify the above is true."},
                   "submission_hash": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"},
    )


def test_submission_summary_shows_every_part():  # R: IS-1
    pdf = render_template_pdf("submission_summary.html", **summary_context())
    text = squashed(pdf)
    for expected in [
        "สำนักงานเขตบางรัก", "ขอใบอนุญาตจำหน่ายอาหาร", "Foodsalelicence",
        "เลขรับ", "123/2566", "K7Q2-9XRM-4TDA",
        "23มกราคม2566เวลา08:30น.",  # received, Buddhist Era, Bangkok time
        "22มกราคม2566เวลา21:33น.",  # signed (14:33 UTC)
        "ชื่อ-นามสกุล", "Fullname", "นางสาวปั้นหยาที่นี่ดี", "1,250.50", "ไม่ใช่",
        "ร้านอาหาร,เครื่องดื่ม", "—",
        "id.pdf", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "ข้าพเจ้าขอรับรองว่าข้อความข้างต้นเป็นความจริง", "Icertifytheaboveistrue.",
        "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
    ]:
        assert expected in text, expected


def test_summary_without_optional_parts_renders():
    context = summary_context()
    for key in ("documents", "signature"):
        del context[key]
    text = squashed(render_template_pdf("submission_summary.html", **context))
    assert "123/2566" in text and "SHA-256" not in text


def test_summary_missing_required_value_is_an_error_not_a_blank():
    context = summary_context()
    del context["intake_number"]
    with pytest.raises(PdfRenderError) as info:
        render_template_pdf("submission_summary.html", **context)
    assert "intake_number" in str(info.value)


def test_naive_datetime_is_refused():
    context = summary_context()
    context["received_at"] = datetime(2023, 1, 23, 8, 30)
    with pytest.raises(PdfRenderError):
        render_template_pdf("submission_summary.html", **context)
    with pytest.raises(ValueError):
        thai_datetime(datetime(2023, 1, 23, 8, 30))


def test_display_value():
    assert display_value(None) == "—"
    assert display_value(True) == "ใช่" and display_value(True, "en") == "Yes"
    assert display_value(Decimal("1234.5")) == "1,234.50"
    assert display_value({"th": "กรุงเทพ", "en": "Bangkok"}, "en") == "Bangkok"
    assert display_value(datetime(2023, 1, 23, 1, 30, tzinfo=UTC)) == "23 มกราคม 2566 เวลา 08:30 น."


# --------------------------------------------------------------------------- #
# Templates from disk: the sandbox and resource access
# --------------------------------------------------------------------------- #


def test_licence_template_from_disk_extends_the_base_layout(tmp_path):  # R: IS-1
    folder = tmp_path / "service_definitions" / "bangrak" / "templates"
    (folder / "parts").mkdir(parents=True)
    (folder / "parts" / "holder.html").write_text("<p>ผู้รับใบอนุญาต {{ holder }}</p>", encoding="utf-8")
    (folder / "licence.html").write_text(
        '{% extends "eservice/base.html" %}{% block content %}'
        "<h1>ใบอนุญาตเลขที่ {{ number | thai_digits }}</h1>{% include 'parts/holder.html' %}"
        "<p>ออกให้ ณ วันที่ {{ issued_at | thai_date }}</p>{% endblock %}",
        encoding="utf-8",
    )
    pdf = render_template_file_pdf(
        folder / "licence.html",
        {"holder": "บริษัท ปั้นดี จำกัด", "number": "12/2566", "issued_at": datetime(2023, 2, 1, 3, tzinfo=UTC),
         "agency": {"th": "สำนักงานเขตบางรัก", "en": "Bang Rak"}},
    )
    text = squashed(pdf)
    assert "ใบอนุญาตเลขที่๑๒/๒๕๖๖" in text
    assert "ผู้รับใบอนุญาตบริษัทปั้นดีจำกัด" in text
    assert "1กุมภาพันธ์2566" in text and "สำนักงานเขตบางรัก" in text


@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ holder.__class__.__base__ }}",
])
def test_templates_from_disk_cannot_reach_python(tmp_path, source):
    (tmp_path / "evil.html").write_text(source, encoding="utf-8")
    with pytest.raises(PdfRenderError):
        render_template_file_pdf(tmp_path / "evil.html", {"holder": "x"})


def test_templates_from_disk_cannot_include_outside_their_folder(tmp_path):
    (tmp_path / "secret.html").write_text("SECRET", encoding="utf-8")
    inner = tmp_path / "templates"
    inner.mkdir()
    (inner / "t.html").write_text("{% include '../secret.html' %}", encoding="utf-8")
    with pytest.raises(PdfRenderError):
        render_template_file_pdf(inner / "t.html", {})


def test_undefined_variable_in_a_licence_names_file_and_line(tmp_path):
    (tmp_path / "licence.html").write_text("<p>ok</p>\n<p>{{ holdr }}</p>", encoding="utf-8")
    with pytest.raises(PdfRenderError) as info:
        render_template_file_pdf(tmp_path / "licence.html", {"holder": "x"})
    assert "licence.html" in info.value.en and "line 2" in info.value.en and "holdr" in info.value.en


def test_only_files_in_allowed_folders_are_read(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "leak.css").write_text('body::after { content: "LEAKEDTEXT"; }', encoding="utf-8")
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "ok.css").write_text('body::before { content: "INSIDETEXT"; }', encoding="utf-8")
    (folder / "t.html").write_text(
        '<link rel="stylesheet" href="ok.css">'
        f'<link rel="stylesheet" href="{(outside / "leak.css").as_uri()}">'
        '<link rel="stylesheet" href="http://127.0.0.1:9/net.css"><p>เนื้อหา</p>',
        encoding="utf-8",
    )
    text = squashed(render_template_file_pdf(folder / "t.html", {}))
    assert "INSIDETEXT" in text  # the template's own folder is readable
    assert "LEAKEDTEXT" not in text  # a file elsewhere on disk is not


def test_render_pdf_rejects_non_text():
    with pytest.raises(TypeError):
        render_pdf(b"<p>bytes</p>")
