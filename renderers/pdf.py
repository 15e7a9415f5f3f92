"""PDF rendering: HTML (Jinja2 templates) → PDF with an embedded Thai font.

ARCHITECTURE "PDF": licences, receipts, letters and the submission summary are
HTML templates rendered with WeasyPrint (it shapes Thai with HarfBuzz and
breaks Thai lines at word boundaries), with the Thai font from
:mod:`eservice.renderers.fonts` embedded, then signed (:mod:`eservice.signing`).

Entry points
------------
``render_pdf(html, base_url=None)``
    any HTML string → PDF bytes (A4, Thai font, line-height 1.6 unless the
    HTML's own CSS says otherwise).
``render_template_pdf(name, **context)``
    one of the platform's templates in ``renderers/templates/pdf/`` (for
    example ``submission_summary.html``).
``render_template_file_pdf(path, context)``
    a template file written by agency staff (a licence template next to its
    service definition), rendered in Jinja2's *sandbox*: a template can read
    the values it is given but cannot call into Python, and may only include
    files from its own folder (plus the platform's ``eservice/base.html``).

Safety of resources
-------------------
WeasyPrint would otherwise fetch any URL a template names (``file:///etc/…``,
``http://169.254.169.254/…``).  Here only ``data:`` URLs and files inside the
font folders, the platform's template folder, the template's own folder and
``base_url`` (when it is a local folder) are read; everything else is refused
and left out of the page (network access only with ``allow_network=True``).

Text layer
----------
WeasyPrint maps each glyph to the text of the first cluster it was drawn in,
so with Thai SARA AM (ำ, which HarfBuzz splits into NIKHAHIT + SARA AA) the
copy-paste/search text of a whole document can go wrong: after "ทำ", every
"า" came out as "ำ" ("ภาษา" → "ภำษำ", "ค่ำ" → "ค้ำ"; measured with
WeasyPrint 70).  :func:`render_pdf` therefore rewrites each font's
``/ToUnicode`` map from the font's own character map (and its GSUB
alternates and ligatures), so every glyph stands for its own character(s).
The text layer then equals the NFKC form of the source: "ำ" reads back as
"ํา" (U+0E4D U+0E32, its compatibility decomposition) and everything else
unchanged.  Extractors (pypdf, pdftotext) may still insert a space after a
stacked mark ("ปั้ น"): the marks are positioned with text-rise moves that
their heuristics take for a gap.  :func:`normalize_extracted_thai` undoes
both for comparisons.

Dates
-----
:func:`thai_date` / :func:`thai_datetime` show the Buddhist Era in Bangkok time
("23 มกราคม 2566 เวลา 08:30 น."); they are also Jinja2 filters.  They are the
``style="document"`` forms of :mod:`eservice.dates` (which web pages
use in its default style), refusing naive datetimes.

Requirements: IS-1, A-L2, A-L5 (documents produced as files), A-F10 (the submission summary).
"""
from __future__ import annotations

import functools
import hashlib
import io
import logging
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from eservice.clock import BANGKOK, require_aware

from . import fonts
from ..dates import format_date, format_datetime, thai_digits

__all__ = [
    "PDF_TEMPLATE_DIR",
    "PdfRenderError",
    "display_value",
    "english_date",
    "english_datetime",
    "normalize_extracted_thai",
    "pdf_environment",
    "render_pdf",
    "render_pdf_with_boxes",
    "render_template_file_html",
    "render_template_file_pdf",
    "render_template_pdf",
    "thai_date",
    "thai_datetime",
    "thai_digits",
]

log = logging.getLogger(__name__)

PDF_TEMPLATE_DIR = Path(__file__).resolve().parent / "templates" / "pdf"

# The user-agent-level defaults for every PDF; a template's own CSS overrides them.
DEFAULT_CSS = f"""
@page {{ size: A4; margin: 20mm 20mm 20mm 25mm; }}
html {{ font-family: '{fonts.FAMILY}', sans-serif; font-size: 12pt; line-height: 1.6; }}
"""


class PdfRenderError(Exception):
    """A template or document could not be turned into a PDF."""

    def __init__(self, th: str, en: str):
        super().__init__(f"{th} / {en}")
        self.th = th
        self.en = en


# --------------------------------------------------------------------------- #
# Dates: the "document" style of eservice.dates (the form official
# documents use); here only naive datetimes are refused
# --------------------------------------------------------------------------- #

def _aware(value: Any) -> Any:
    return require_aware(value, "datetime") if isinstance(value, datetime) else value


def thai_date(value: date | datetime, short: bool = False, tz: tzinfo = BANGKOK) -> str:
    """``23 มกราคม 2566`` (Buddhist Era; ``short``: ``23 ม.ค. 2566``).  A datetime
    must be timezone-aware and is shown in *tz* (Bangkok)."""
    return format_date(_aware(value), "th", long=not short, style="document", tz=tz)


def thai_datetime(value: datetime, tz: tzinfo = BANGKOK) -> str:
    """``23 มกราคม 2566 เวลา 08:30 น.`` in *tz* (Bangkok); naive datetimes are refused."""
    return format_datetime(require_aware(value, "datetime"), "th", long=True, style="document", tz=tz)


def english_datetime(value: datetime, tz: tzinfo = BANGKOK) -> str:
    """``23 January 2023, 08:30 (UTC+07:00)``."""
    return format_datetime(require_aware(value, "datetime"), "en", long=True, style="document", tz=tz)


def english_date(value: date | datetime, tz: tzinfo = BANGKOK) -> str:
    """``23 January 2023``."""
    return format_date(_aware(value), "en", long=True, style="document", tz=tz)


def _pick(value: Any, lang: str = "th") -> Any:
    """``{"th": …, "en": …}`` → the text in *lang* (Thai when missing)."""
    if isinstance(value, Mapping) and ("th" in value or "en" in value):
        return value.get(lang) or value.get("th") or value.get("en") or ""
    return value


def display_value(value: Any, lang: str = "th") -> str:
    """How an answer is printed in a summary: dates in the Buddhist Era,
    booleans as ใช่/ไม่ใช่, lists joined, money with separators, empty as "—"."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return ("ใช่" if value else "ไม่ใช่") if lang == "th" else ("Yes" if value else "No")
    if isinstance(value, datetime):
        return thai_datetime(value) if lang == "th" else english_datetime(value)
    if isinstance(value, date):
        return thai_date(value) if lang == "th" else english_date(value)
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, Mapping):
        if "th" in value or "en" in value:
            return str(_pick(value, lang))
        return "; ".join(f"{k}: {display_value(v, lang)}" for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(display_value(v, lang) for v in value)
    return str(value)


# --------------------------------------------------------------------------- #
# Resource fetching
# --------------------------------------------------------------------------- #


def _local_dir(base_url: str | Path | None) -> Path | None:
    if base_url is None:
        return None
    text = str(base_url)
    if text.startswith("file:"):
        text = unquote(urlparse(text).path)
    elif "://" in text:
        return None
    path = Path(text).resolve()
    return path if path.is_dir() else path.parent


@functools.cache
def _fetcher_class():
    from weasyprint.urls import URLFetcher

    class SafeURLFetcher(URLFetcher):
        """Reads ``data:`` URLs and files under the allowed folders only."""

        def __init__(self, allowed_dirs: Iterable[Path], allow_network: bool = False):
            super().__init__(timeout=10, allow_redirects=False)
            self._allowed = tuple(Path(d).resolve() for d in allowed_dirs)
            self._network = allow_network

        def fetch(self, url, headers=None):
            scheme = url.split(":", 1)[0].lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                path = Path(unquote(urlparse(url).path)).resolve()
                if any(path.is_relative_to(d) for d in self._allowed):
                    return super().fetch(url, headers)
                raise ValueError(f"file outside the allowed folders refused: {url}")
            if scheme in ("http", "https") and self._network:
                return super().fetch(url, headers)
            raise ValueError(f"URL refused (no network access for PDFs): {url}")

    return SafeURLFetcher


# --------------------------------------------------------------------------- #
# Text-layer repair (see the module docstring)
# --------------------------------------------------------------------------- #


@functools.lru_cache(maxsize=16)
def _glyph_text_table(font_digest: str, font_bytes: bytes) -> dict[int, str]:
    """glyph id → the text that glyph stands for, from the font's cmap, its
    single substitutions (alternate forms) and its ligatures."""
    from fontTools.ttLib import TTFont

    tt = TTFont(io.BytesIO(font_bytes), lazy=True, fontNumber=0)
    order = tt.getGlyphOrder()
    text: dict[str, str] = {}
    # lowest code point wins when several map to one glyph
    for codepoint, name in sorted((tt.getBestCmap() or {}).items(), reverse=True):
        text[name] = chr(codepoint)
    if "GSUB" in tt and tt["GSUB"].table.LookupList is not None:
        subtables = []
        for lookup in tt["GSUB"].table.LookupList.Lookup:
            for st in lookup.SubTable:
                if lookup.LookupType == 7:
                    st = st.ExtSubTable
                subtables.append(st)
        changed = True
        while changed:  # alternates of alternates
            changed = False
            for st in subtables:
                kind = getattr(st, "LookupType", None)
                if kind == 1:
                    for src, dst in st.mapping.items():
                        if dst not in text and src in text:
                            text[dst] = text[src]
                            changed = True
                elif kind == 4:
                    for first, ligatures in st.ligatures.items():
                        for lig in ligatures:
                            parts = [first, *lig.Component]
                            if lig.LigGlyph not in text and all(p in text for p in parts):
                                text[lig.LigGlyph] = "".join(text[p] for p in parts)
                                changed = True
    return {gid: text[name] for gid, name in enumerate(order) if name in text}


def _tounicode_stream(mapping: Mapping[int, str]) -> list[bytes]:
    lines = [
        b"/CIDInit /ProcSet findresource begin", b"12 dict begin", b"begincmap",
        b"/CIDSystemInfo", b"<< /Registry (Adobe)", b"/Ordering (UCS)", b"/Supplement 0",
        b">> def", b"/CMapName /Adobe-Identity-UCS def", b"/CMapType 2 def",
        b"1 begincodespacerange", b"<0000> <ffff>", b"endcodespacerange",
    ]
    items = sorted(mapping.items())
    for i in range(0, len(items), 100):
        chunk = items[i:i + 100]
        lines.append(f"{len(chunk)} beginbfchar".encode())
        for gid, text in chunk:
            lines.append(f"<{gid:04x}> <{text.encode('utf-16-be').hex()}>".encode())
        lines.append(b"endbfchar")
    lines += [b"endcmap", b"CMapName currentdict /CMap defineresource pop", b"end", b"end"]
    return lines


def _repair_text_layer(document, pdf) -> None:
    """WeasyPrint finisher: rebuild each font's /ToUnicode from the font itself."""
    try:
        import pydyf
        from weasyprint.text.fonts import get_hb_object_data

        by_ref = {getattr(o, "reference", None): o for o in pdf.objects}
        font_dicts = [
            o for o in pdf.objects
            if isinstance(o, pydyf.Dictionary) and "ToUnicode" in o and "BaseFont" in o
        ]
        for font in document.fonts.values():
            if font.bitmap or not font.to_unicode:
                continue
            data = get_hb_object_data(font.hb_face)
            table = _glyph_text_table(hashlib.sha256(data).hexdigest(), data)
            fixed = {gid: table.get(gid, text) for gid, text in font.to_unicode.items()}
            if fixed == font.to_unicode:
                continue
            for fd in font_dicts:
                if fd["BaseFont"] == font.name:
                    stream = by_ref.get(fd["ToUnicode"])
                    if isinstance(stream, pydyf.Stream):
                        stream.stream[:] = _tounicode_stream(fixed)
    except Exception:  # never lose a PDF over its text layer
        log.warning("could not repair the PDF text layer; leaving WeasyPrint's", exc_info=True)


_SARA_AM_SPLIT = re.compile("([\u0e48-\u0e4b]?)\u0e4d([\u0e48-\u0e4b]?)\u0e32")


def normalize_extracted_thai(text: str, *, drop_spaces: bool = True) -> str:
    """Text extracted from our PDFs, made comparable with the source: NIKHAHIT
    (+ tone mark) + SARA AA back to tone mark + SARA AM, NFC, and (by default)
    all whitespace removed, since extractors put spaces after stacked marks."""
    text = _SARA_AM_SPLIT.sub(lambda m: f"{m[1] or m[2]}\u0e33", text)
    text = unicodedata.normalize("NFC", text)
    if drop_spaces:
        text = "".join(text.split())
    return text


# --------------------------------------------------------------------------- #
# Rendering
# --------------------------------------------------------------------------- #


@functools.lru_cache(maxsize=8)
def _font_css_for(font: fonts.ThaiFont) -> str:
    return fonts.font_face_css(font) + "\n" + DEFAULT_CSS


def _font_css() -> tuple[str, tuple[Path, ...]]:
    font = fonts.find_thai_font()  # cached; follows find_thai_font.cache_clear()
    return _font_css_for(font), font.folders


_FONT_SETUP = threading.local()


def _font_setup(font_css: str, font_dirs: tuple[Path, ...]):
    """The FontConfiguration with the Thai font's @font-face loaded, and that CSS,
    made once per thread (loading the font files and parsing the CSS cost more
    than laying out a one-page letter).  WeasyPrint documents one configuration
    for several documents; one per thread because Pango's font map is not shared
    safely between threads.  A new font (``find_thai_font.cache_clear()``) gives
    new CSS and so a new setup."""
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    key = (font_css, font_dirs)
    cached = getattr(_FONT_SETUP, "value", None)
    if cached is not None and cached[0] == key:
        return cached[1], cached[2]
    font_config = FontConfiguration()
    fetcher = _fetcher_class()([*font_dirs, PDF_TEMPLATE_DIR], allow_network=False)
    sheet = CSS(string=font_css, font_config=font_config, url_fetcher=fetcher)
    if not getattr(_FONT_SETUP, "value", None):
        import atexit

        # dropped before the interpreter tears modules down (WeasyPrint's __del__ needs them)
        atexit.register(_FONT_SETUP.__dict__.clear)
    _FONT_SETUP.value = (key, font_config, sheet)
    return font_config, sheet


def _render_document(html: str, base_url, stylesheets, allowed_dirs, allow_network, options):
    """WeasyPrint's laid-out document (with our fonts, CSS and safe fetcher)."""
    if not isinstance(html, str):
        raise TypeError("render_pdf expects the HTML as a str")
    from weasyprint import CSS, DEFAULT_OPTIONS, HTML

    font_css, font_dirs = _font_css()
    allowed = [*font_dirs, PDF_TEMPLATE_DIR, *map(Path, allowed_dirs)]
    base_dir = _local_dir(base_url)
    if base_dir is not None:
        allowed.append(base_dir)
    fetcher = _fetcher_class()(allowed, allow_network=allow_network)
    font_config, font_sheet = _font_setup(font_css, font_dirs)
    sheets = [font_sheet]
    sheets += [
        CSS(string=s, base_url=str(base_url) if base_url else None,
            font_config=font_config, url_fetcher=fetcher)
        for s in stylesheets
    ]
    document = HTML(string=html, base_url=str(base_url) if base_url else None, url_fetcher=fetcher)
    merged = {**DEFAULT_OPTIONS, **options, "stylesheets": sheets}
    rendered = document.render(font_config, **merged)
    return rendered, {key: merged[key] for key in DEFAULT_OPTIONS}


def render_pdf(
    html: str,
    base_url: str | Path | None = None,
    *,
    stylesheets: Sequence[str] = (),
    allowed_dirs: Iterable[str | Path] = (),
    allow_network: bool = False,
    **options: Any,
) -> bytes:
    """Render *html* to PDF bytes: A4, the Thai font embedded, line-height 1.6.

    *base_url* resolves relative links (a local folder is also readable).
    *stylesheets* are extra CSS strings.  *allowed_dirs* are extra folders whose
    files the document may use (images, CSS).  Other keyword arguments go to
    WeasyPrint's ``write_pdf`` (e.g. ``pdf_variant="pdf/a-3b"``).
    """
    return render_pdf_with_boxes(html, (), base_url, stylesheets=stylesheets, allowed_dirs=allowed_dirs,
                                 allow_network=allow_network, **options)[0]


def render_pdf_with_boxes(
    html: str,
    element_ids: Iterable[str],
    base_url: str | Path | None = None,
    *,
    stylesheets: Sequence[str] = (),
    allowed_dirs: Iterable[str | Path] = (),
    allow_network: bool = False,
    **options: Any,
) -> tuple[bytes, dict[str, tuple[int, tuple[float, float, float, float]]]]:
    """:func:`render_pdf`, and where the elements with the given ``id`` landed:
    ``{id: (page index, (x1, y1, x2, y2))}`` in PDF points from the page's
    bottom-left corner (the first fragment of each element).  An issued
    document uses this to put the signature stamp where its template left room."""
    if not isinstance(html, str):
        raise TypeError("render_pdf expects the HTML as a str")
    wanted = set(element_ids)
    try:
        document, options = _render_document(html, base_url, stylesheets, allowed_dirs, allow_network, options)
        found: dict[str, tuple[int, tuple[float, float, float, float]]] = {}
        if wanted:
            for index, page in enumerate(document.pages):
                for box in _descendants(page._page_box):
                    element = getattr(box, "element", None)
                    name = element.get("id") if element is not None else None
                    if name in wanted and name not in found:
                        x, y = box.border_box_x(), box.border_box_y()
                        w, h = box.border_width(), box.border_height()
                        pt = 0.75  # CSS px → PDF points
                        found[name] = (index, (x * pt, (page.height - y - h) * pt,
                                               (x + w) * pt, (page.height - y) * pt))
        return document.write_pdf(finisher=_repair_text_layer, **options), found
    except Exception as exc:  # WeasyPrint raises many kinds; name the problem once
        raise PdfRenderError(
            f"สร้าง PDF ไม่สำเร็จ: {exc}", f"could not render the PDF: {exc}"
        ) from exc


def _descendants(box):
    yield box
    for child in getattr(box, "children", None) or ():
        yield from _descendants(child)


def _install_filters(env: jinja2.Environment) -> jinja2.Environment:
    env.filters.update(
        thai_date=thai_date,
        thai_datetime=thai_datetime,
        english_date=english_date,
        english_datetime=english_datetime,
        thai_digits=thai_digits,
        display=display_value,
        pick=_pick,
    )
    return env


@functools.cache
def pdf_environment() -> jinja2.Environment:
    """The Jinja2 environment of the platform's own PDF templates."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PDF_TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return _install_filters(env)


@functools.lru_cache(maxsize=64)
def _sandbox_environment(root: Path) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=jinja2.ChoiceLoader([
            jinja2.FileSystemLoader(root),
            # lets a licence template write {% extends "eservice/base.html" %}
            jinja2.PrefixLoader({"eservice": jinja2.FileSystemLoader(PDF_TEMPLATE_DIR)}),
        ]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return _install_filters(env)


def _template_error(exc: Exception, what: str) -> PdfRenderError:
    where = what
    lineno = getattr(exc, "lineno", None)
    name = getattr(exc, "filename", None) or getattr(exc, "name", None)
    if lineno is None:
        # Errors while rendering carry no position; Jinja2 rewrites the
        # traceback so that template frames name the template file and line.
        tb = exc.__traceback__
        while tb is not None:
            filename = tb.tb_frame.f_code.co_filename
            if filename.endswith((".html", ".htm", ".j2", ".jinja")):
                name, lineno = filename, tb.tb_lineno
            tb = tb.tb_next
    if name:
        where = str(name)
    if lineno:
        where += f", line {lineno}"
    return PdfRenderError(
        f"แม่แบบเอกสาร {where} ใช้งานไม่ได้: {exc}",
        f"the document template {where} failed: {exc}",
    )


def render_template_pdf(template_name: str, **context: Any) -> bytes:
    """Render one of the platform's PDF templates (``renderers/templates/pdf``)."""
    try:
        html = pdf_environment().get_template(template_name).render(**context)
    except (jinja2.TemplateError, ValueError, TypeError) as exc:
        raise _template_error(exc, template_name) from exc
    return render_pdf(html, base_url=PDF_TEMPLATE_DIR)


def render_template_file_pdf(
    path: str | Path,
    context: Mapping[str, Any] | None = None,
    *,
    root: str | Path | None = None,
) -> bytes:
    """Render a template file from disk (e.g.
    ``service_definitions/<agency>/templates/licence.html``) in the Jinja2
    sandbox.  *root* (default: the file's folder) is the folder it may include
    from and read images/CSS from; it may also extend ``eservice/base.html``.
    An undefined variable is an error, never a blank on a licence.
    """
    root_dir = Path(root).resolve() if root is not None else Path(path).resolve().parent
    return render_pdf(render_template_file_html(path, context, root=root_dir), base_url=root_dir)


def render_template_file_html(
    path: str | Path,
    context: Mapping[str, Any] | None = None,
    *,
    root: str | Path | None = None,
) -> str:
    """The HTML of :func:`render_template_file_pdf` (same sandbox, same checks),
    before it is laid out: for checking templates and for callers that lay
    out the page themselves."""
    path = Path(path).resolve()
    root_dir = Path(root).resolve() if root is not None else path.parent
    if not path.is_file():
        raise PdfRenderError(f"ไม่พบไฟล์แม่แบบ {path}", f"template file not found: {path}")
    if not path.is_relative_to(root_dir):
        raise PdfRenderError(
            f"ไฟล์แม่แบบ {path} อยู่นอกโฟลเดอร์ {root_dir}",
            f"template file {path} is outside the folder {root_dir}",
        )
    name = path.relative_to(root_dir).as_posix()
    try:
        return _sandbox_environment(root_dir).get_template(name).render(**(context or {}))
    except (jinja2.TemplateError, ValueError, TypeError) as exc:
        raise _template_error(exc, str(path)) from exc

