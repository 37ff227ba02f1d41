"""PDF rendering: the letters and the access report by ReportLab, anything else (and any letter it cannot draw) by
WeasyPrint.

The letters and report.pdf are laid out by dsr.letter_layout from the HTML their templates render, with the look
letter.css gives them (docs/decisions/0018-letters-laid-out-by-reportlab.md). WeasyPrint renders the retention-sweep
report, and a letter whenever the fast layout declines it: markup it does not know, a character DejaVu Sans has no
glyph for, a missing font, or a project whose own templates folder restyles letter.css (WeasyPrint follows the
new stylesheet; the fast layout only knows the shipped one).

One font configuration serves every WeasyPrint render in a process, and a stylesheet file is parsed once per
process. A worker renders a letter once at start (dsr.letters.letters_warm, before its pool forks), so the first
letter a pool process sends does not pay for loading fonts and templates. bench/pdf.py measures the letters'
render times, and bench/pdf.py --report the access report's.
"""

import logging
from functools import cache
from pathlib import Path

from django.conf import settings
from django.template.loader import get_template
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from dsr.letter_layout import LayoutUnsupported, letter_render

LETTER_STYLESHEET = "dsr/letters/letter.css"

log = logging.getLogger(__name__)


@cache
def _fonts() -> FontConfiguration:
    return FontConfiguration()


@cache
def _stylesheet(name: str) -> CSS:
    # Found as templates are, so a project's own templates folder can restyle the letters.
    return CSS(filename=get_template(name).origin.name, font_config=_fonts())


def pdf_render(html: str, *, stylesheet: str | None = None) -> bytes:
    """Return ``html`` (a whole document) rendered as PDF bytes by WeasyPrint, styled by the template file
    ``stylesheet`` if given."""
    stylesheets = [_stylesheet(stylesheet)] if stylesheet else None
    return HTML(string=html).write_pdf(stylesheets=stylesheets, font_config=_fonts())


@cache
def letter_stylesheet_shipped() -> bool:
    """Whether letter.css is the one dsr ships, the look dsr.letter_layout draws (not a project's own)."""
    shipped = Path(settings.BASE_DIR) / "templates" / LETTER_STYLESHEET
    return Path(get_template(LETTER_STYLESHEET).origin.name).resolve() == shipped.resolve()


def letter_pdf_render(html: str) -> bytes:
    """Return a letter or the access report (HTML from templates/dsr/letters/_letter.html) as PDF bytes."""
    if letter_stylesheet_shipped():
        try:
            return letter_render(html)
        except LayoutUnsupported as reason:
            log.info("Letter rendered by WeasyPrint: %s", reason)
        except Exception:
            # A defect in the layout must not keep a letter from the person: WeasyPrint renders it, and the
            # defect is logged where the operators see it.
            log.exception("The letter layout failed; the letter was rendered by WeasyPrint")
    return pdf_render(html, stylesheet=LETTER_STYLESHEET)
