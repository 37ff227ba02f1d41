"""DejaVu Sans, found through fontconfig as WeasyPrint finds it, and the check that a text needs nothing more."""

import shutil
import subprocess
import unicodedata
from functools import cache

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from dsr.letter_layout.tree import LayoutUnsupported

FACES = {"regular": "DejaVu Sans:style=Book", "bold": "DejaVu Sans:style=Bold",
         "italic": "DejaVu Sans:style=Oblique", "bold_italic": "DejaVu Sans:style=Bold Oblique"}  # fmt: skip
FAMILY = "dsr-letter"
# Bidirectional classes of right-to-left text (Hebrew, Arabic, Arabic numbers): laid out by WeasyPrint.
SHAPED = {"R", "AL", "AN"}


def _font_file(pattern: str) -> str | None:
    command = shutil.which("fc-match")
    if not command:
        return None
    try:
        # Our own constant pattern, no shell.
        found = subprocess.run(  # noqa: S603
            [command, "--format=%{file}\n%{family}\n%{style}", pattern], capture_output=True, text=True, timeout=10
        ).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return None
    # fontconfig answers with its nearest font when it has not the one asked for: only the face itself will do.
    family, style = pattern.split(":style=")
    if len(found) < 3 or family not in found[1].split(",") or style not in found[2].split(","):
        return None
    return found[0]


def fonts() -> dict:
    """Return the registered faces' names; raise LayoutUnsupported when the regular or bold face is missing."""
    names = _fonts_registered()
    if names is None:
        raise LayoutUnsupported("DejaVu Sans (Debian: fonts-dejavu-core) is not installed.")
    return names


@cache
def _fonts_registered() -> dict | None:
    """Register DejaVu Sans (as WeasyPrint finds it, through fontconfig) once per process; None if it is missing.

    Looked for once either way. Without the oblique faces, emphasis is set in the upright ones.
    """
    files = {face: _font_file(pattern) for face, pattern in FACES.items()}
    if not files["regular"] or not files["bold"]:
        return None
    files["italic"] = files["italic"] or files["regular"]
    files["bold_italic"] = files["bold_italic"] or files["bold"]
    names = {}
    for face, path in files.items():
        names[face] = f"{FAMILY}-{face}"
        pdfmetrics.registerFont(TTFont(names[face], path))
    pdfmetrics.registerFontFamily(
        FAMILY, normal=names["regular"], bold=names["bold"], italic=names["italic"], boldItalic=names["bold_italic"]
    )
    return names


@cache
def _covered() -> frozenset:
    faces = fonts()
    regular = set(pdfmetrics.getFont(faces["regular"]).face.charToGlyph)
    return frozenset(regular & set(pdfmetrics.getFont(faces["bold"]).face.charToGlyph))


@cache
def _drawable() -> frozenset:
    """The characters drawn as they stand: a glyph in both faces (or a common space) and no shaping needed."""
    chars = {chr(code) for code in _covered()} | set(" \t\n\r\f\v")
    return frozenset(c for c in chars if not unicodedata.combining(c) and unicodedata.bidirectional(c) not in SHAPED)


def glyphs_check(text: str) -> None:
    """Raise LayoutUnsupported unless every character of ``text`` is one DejaVu Sans draws as it stands.

    Right-to-left scripts and combining marks need text shaping (Pango's, in WeasyPrint), which ReportLab lacks.
    """
    chars = set(text).difference(_drawable())
    missing = {char for char in chars if ord(char) not in _covered() and not char.isspace()}
    if missing:
        raise LayoutUnsupported(f"DejaVu Sans has no glyph for {''.join(sorted(missing))!r}.")
    shaped = {char for char in chars if unicodedata.combining(char) or unicodedata.bidirectional(char) in SHAPED}
    if shaped:
        raise LayoutUnsupported(f"{''.join(sorted(shaped))!r} needs text shaping.")
