"""PDF rendering with WeasyPrint, shared by letters, the access report and the retention-sweep report.

One font configuration serves every render in a process, and a document's stylesheet file is parsed once per
process: only what changes from document to document stays in the HTML. A worker renders a letter once at start
(dsr.letters.letters_warm, before its pool forks), so the first letter a pool process sends does not pay for
loading fontconfig, Pango, the templates and the stylesheet; the first access report then costs what the next
one does too, so it is not rendered at start. bench/pdf.py measures the letters' render times, and
bench/pdf.py --report the access report's.
"""

from functools import cache

from django.template.loader import get_template
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

LETTER_STYLESHEET = "dsr/letters/letter.css"


@cache
def _fonts() -> FontConfiguration:
    return FontConfiguration()


@cache
def _stylesheet(name: str) -> CSS:
    # Found as templates are, so a project's own templates folder can restyle the letters.
    return CSS(filename=get_template(name).origin.name, font_config=_fonts())


def pdf_render(html: str, *, stylesheet: str | None = None) -> bytes:
    """Return ``html`` (a whole document) rendered as PDF bytes, styled by the template file ``stylesheet`` if given."""
    stylesheets = [_stylesheet(stylesheet)] if stylesheet else None
    return HTML(string=html).write_pdf(stylesheets=stylesheets, font_config=_fonts())
