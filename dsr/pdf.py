"""PDF rendering with WeasyPrint, shared by letters, the access report and the retention-sweep report.

One font configuration serves every render in a process. A worker renders a letter once at start
(dsr.letters.letters_warm, before its pool forks), so the first letter a pool process sends does not pay for
loading fontconfig, Pango and the templates. bench/pdf.py measures each letter's render time.
"""

from functools import cache

from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration


@cache
def _fonts() -> FontConfiguration:
    return FontConfiguration()


def pdf_render(html: str) -> bytes:
    """Return ``html`` (a whole document, its CSS inline) rendered as PDF bytes."""
    return HTML(string=html).write_pdf(font_config=_fonts())
