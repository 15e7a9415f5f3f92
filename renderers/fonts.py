"""Finding a Thai font for PDFs.

A fresh machine has no Thai font, and a PDF rendered without one shows empty
boxes where the Thai should be.  So every PDF the platform makes embeds a font
found here, in this order:

1. a folder named by ``ESERVICE_THAI_FONT_DIR`` (an agency's own licensed font,
   e.g. TH Sarabun New): the ``*.ttf``/``*.otf`` files in it that cover Thai;
2. **Sarabun** from the PyPI package ``fontpkg-sarabun`` (SIL OFL 1.1), found
   through ``fontpkg``'s registry (entry-point group ``fontpkg.family``), or
   directly from the ``fontpkg_sarabun`` package folder if ``fontpkg`` itself
   cannot be imported.  This is the default: it is a project dependency, so
   it is there on every installation, and Sarabun is the open redesign of the
   TH Sarabun face Thai government documents are set in;
3. Debian/Ubuntu system fonts: Loma and Garuda (``fonts-thai-tlwg``), Noto
   Sans Thai (``fonts-noto-core``).

If none is found, :class:`ThaiFontNotFound` says (in Thai and English) what to
install.  Every candidate file is checked to have Thai glyphs (ก and ำ) in its
character map before it is used.

The result is cached for the life of the process; call
:func:`find_thai_font.cache_clear` after installing a font.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from eservice.settings import FONT_DIR_VARIABLE, env_font_folder

__all__ = [
    "FAMILY",
    "FontFace",
    "ThaiFont",
    "ThaiFontNotFound",
    "find_thai_font",
    "font_face_css",
]

#: The CSS family name under which the Thai font is declared in every PDF.
FAMILY = "eservice-thai"

ENV_FONT_DIR = FONT_DIR_VARIABLE  # "ESERVICE_THAI_FONT_DIR", read by eservice.settings

# Weights and styles we declare in CSS (others are synthesised by the renderer).
_WANTED = ((400, "normal"), (700, "normal"), (400, "italic"), (700, "italic"), (600, "normal"))

SYSTEM_FONT_DIRS = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".local/share/fonts",
    Path.home() / ".fonts",
)

# (family, {(weight, style): file name}) in order of preference.  File names as
# shipped by Debian's fonts-thai-tlwg (truetype/tlwg/*.ttf, opentype/tlwg/*.otf)
# and fonts-noto-core (truetype/noto/*.ttf).
SYSTEM_CANDIDATES: tuple[tuple[str, dict[tuple[int, str], tuple[str, ...]]], ...] = (
    ("Loma", {
        (400, "normal"): ("Loma.ttf", "Loma.otf"),
        (700, "normal"): ("Loma-Bold.ttf", "Loma-Bold.otf"),
        (400, "italic"): ("Loma-Oblique.ttf", "Loma-Oblique.otf"),
        (700, "italic"): ("Loma-BoldOblique.ttf", "Loma-BoldOblique.otf"),
    }),
    ("Garuda", {
        (400, "normal"): ("Garuda.ttf", "Garuda.otf"),
        (700, "normal"): ("Garuda-Bold.ttf", "Garuda-Bold.otf"),
        (400, "italic"): ("Garuda-Oblique.ttf", "Garuda-Oblique.otf"),
        (700, "italic"): ("Garuda-BoldOblique.ttf", "Garuda-BoldOblique.otf"),
    }),
    ("Noto Sans Thai", {
        (400, "normal"): ("NotoSansThai-Regular.ttf", "NotoSansThai-Regular.otf"),
        (700, "normal"): ("NotoSansThai-Bold.ttf", "NotoSansThai-Bold.otf"),
        (600, "normal"): ("NotoSansThai-SemiBold.ttf",),
    }),
)


class ThaiFontNotFound(RuntimeError):
    """No font with Thai glyphs is installed."""

    def __init__(self, th: str, en: str):
        super().__init__(f"{th} / {en}")
        self.th = th
        self.en = en


@dataclass(frozen=True)
class FontFace:
    path: Path
    weight: int = 400
    style: str = "normal"  # "normal" | "italic"


@dataclass(frozen=True)
class ThaiFont:
    """A Thai font family: its name, where it came from, and its files."""

    name: str  # the family's own name, e.g. "Sarabun"
    source: str  # "fontpkg-sarabun" | "system" | "ESERVICE_THAI_FONT_DIR"
    faces: tuple[FontFace, ...]

    @property
    def regular(self) -> Path:
        for face in self.faces:
            if face.weight == 400 and face.style == "normal":
                return face.path
        return self.faces[0].path

    @property
    def folders(self) -> tuple[Path, ...]:
        """The folders holding the font files (the PDF renderer may read them)."""
        return tuple(dict.fromkeys(face.path.parent for face in self.faces))


def _has_thai(path: Path) -> bool:
    """True if the font file maps KO KAI (ก) and SARA AM (ำ) to glyphs."""
    try:
        from fontTools.ttLib import TTFont

        with TTFont(str(path), lazy=True, fontNumber=0) as tt:
            cmap = tt.getBestCmap() or {}
        return 0x0E01 in cmap and 0x0E33 in cmap
    except Exception:  # unreadable, not a font, …
        return False


def _from_fontpkg() -> ThaiFont | None:
    files: dict[tuple[int, str], Path] = {}
    try:
        import fontpkg

        family = fontpkg.family("sarabun")
        for f in family.files:
            if f.weight is not None and not f.variable:
                files[(f.weight, f.style)] = Path(f.path)
    except Exception:
        # fontpkg missing or its registry broken: read the package folder.
        try:
            import fontpkg_sarabun
        except ImportError:
            return None
        root = Path(fontpkg_sarabun.ROOT) / "files"
        names = {
            (400, "normal"): "Sarabun-Regular.ttf",
            (700, "normal"): "Sarabun-Bold.ttf",
            (400, "italic"): "Sarabun-Italic.ttf",
            (700, "italic"): "Sarabun-BoldItalic.ttf",
            (600, "normal"): "Sarabun-SemiBold.ttf",
        }
        files = {key: root / name for key, name in names.items()}
    faces = tuple(
        FontFace(files[key], *key) for key in _WANTED if key in files and files[key].is_file()
    )
    if not faces or not any(f.weight == 400 and f.style == "normal" for f in faces):
        return None
    if not _has_thai(faces[0].path):
        return None
    return ThaiFont("Sarabun", "fontpkg-sarabun", faces)


def _guess_face(path: Path) -> tuple[int, str]:
    stem = path.stem.lower().replace("_", "-")
    italic = "italic" in stem or "oblique" in stem
    if "semibold" in stem or "semi-bold" in stem:
        weight = 600
    elif "bold" in stem:
        weight = 700
    else:
        weight = 400
    return weight, "italic" if italic else "normal"


def _from_folder(folder: Path) -> ThaiFont | None:
    if not folder.is_dir():
        return None
    faces: dict[tuple[int, str], Path] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in (".ttf", ".otf") or not _has_thai(path):
            continue
        key = _guess_face(path)
        # prefer the shortest name for a face ("X-Regular" over "X-RegularCondensed")
        if key not in faces or len(path.name) < len(faces[key].name):
            faces[key] = path
    if not faces:
        return None
    if (400, "normal") not in faces:
        faces[(400, "normal")] = faces[sorted(faces)[0]]
    ordered = tuple(FontFace(faces[k], *k) for k in _WANTED if k in faces)
    return ThaiFont(folder.name, ENV_FONT_DIR, ordered)


def _index_system_fonts(dirs: Iterable[Path]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for base in dirs:
        if not base.is_dir():
            continue
        for root, _dirs, names in os.walk(base):
            for name in names:
                found.setdefault(name, Path(root) / name)
    return found


def _from_system(dirs: Sequence[Path]) -> ThaiFont | None:
    index = _index_system_fonts(dirs)
    for family, wanted in SYSTEM_CANDIDATES:
        faces: list[FontFace] = []
        for (weight, style), names in wanted.items():
            path = next((index[n] for n in names if n in index), None)
            if path is not None:
                faces.append(FontFace(path, weight, style))
        if any(f.weight == 400 and f.style == "normal" for f in faces) and _has_thai(faces[0].path):
            return ThaiFont(family, "system", tuple(faces))
    return None


@functools.cache
def find_thai_font(system_dirs: tuple[Path, ...] = SYSTEM_FONT_DIRS) -> ThaiFont:
    """The Thai font to embed in PDFs (see the module docstring for the order).

    Raises :class:`ThaiFontNotFound` when there is none.
    """
    override = env_font_folder()
    if override:
        font = _from_folder(Path(override))
        if font is None:
            raise ThaiFontNotFound(
                f"โฟลเดอร์ {override} (ตั้งไว้ใน {ENV_FONT_DIR}) ไม่มีไฟล์ฟอนต์ .ttf/.otf ที่มีอักษรไทย",
                f"the folder {override} (set in {ENV_FONT_DIR}) has no .ttf/.otf font with Thai glyphs",
            )
        return font
    font = _from_fontpkg() or _from_system(system_dirs)
    if font is None:
        raise ThaiFontNotFound(
            "ไม่พบฟอนต์ภาษาไทยในเครื่องนี้ จึงสร้าง PDF ภาษาไทยไม่ได้ — ติดตั้งด้วย "
            "`pip install fontpkg-sarabun` (แนะนำ) หรือ `apt-get install fonts-thai-tlwg` "
            f"หรือกำหนด {ENV_FONT_DIR} ให้ชี้ไปยังโฟลเดอร์ฟอนต์ขององค์กร",
            "No Thai font is installed, so Thai PDFs cannot be made. Install one with "
            "`pip install fontpkg-sarabun` (recommended) or `apt-get install fonts-thai-tlwg`, "
            f"or set {ENV_FONT_DIR} to a folder holding your organisation's font",
        )
    return font


def font_face_css(font: ThaiFont | None = None, family: str = FAMILY) -> str:
    """``@font-face`` rules declaring *font*'s files (as ``file://`` URLs) under *family*."""
    font = font or find_thai_font()
    rules = []
    for face in font.faces:
        rules.append(
            "@font-face { "
            f"font-family: '{family}'; src: url('{face.path.resolve().as_uri()}'); "
            f"font-weight: {face.weight}; font-style: {face.style}; }}"
        )
    return "\n".join(rules)
