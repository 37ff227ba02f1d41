"""The letters and the access report laid out by ReportLab, from the same HTML WeasyPrint renders.

A letter's words stay in its Django template (templates/dsr/letters/, templates/dsr/exports/report.*.html), in
Danish and English; this package draws that HTML with the look letter.css gives it, in about a fifth of the time
WeasyPrint takes to lay it out (docs/decisions/0018-letters-laid-out-by-reportlab.md). It knows the letters' small
vocabulary of elements and classes and nothing more: anything else in the HTML, a character DejaVu Sans has no
glyph for, a missing font file, or a row too tall for a page raises LayoutUnsupported, and dsr.pdf then renders
the letter with WeasyPrint, which lays out any HTML and finds a font for any script.

tree.py parses the HTML, fonts.py finds the faces and checks the glyphs, styles.py holds letter.css's measures,
flowables.py the text, tables.py the data tables, layout.py the blocks and the story, deflate.py the streams' zlib
level; the page and its footer are here.
"""

import io
import re

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate
from reportlab.platypus.doctemplate import LayoutError

from dsr.letter_layout.deflate import LETTER_LEVEL, deflate_level
from dsr.letter_layout.flowables import (
    LetterParagraph,
    PlainLine,
    inline_markup,
    lines_paragraph,
    paragraph,
    plain_or_paragraph,
)
from dsr.letter_layout.fonts import fonts, glyphs_check
from dsr.letter_layout.layout import Block, blocks, story
from dsr.letter_layout.styles import MARGINS, MUTED, WIDTH, styles
from dsr.letter_layout.tree import LayoutUnsupported, Node, html_tree

__all__ = [
    "MARGINS", "WIDTH", "Block", "LayoutUnsupported", "LetterParagraph", "Node", "PlainLine", "blocks", "fonts",
    "glyphs_check", "html_tree", "inline_markup", "letter_render", "lines_paragraph", "paragraph",
    "plain_or_paragraph", "story", "styles",
]  # fmt: skip

FOOTER_LEFT = re.compile(r'@bottom-left\s*\{\s*content:\s*"((?:[^"\\]|\\.)*)"')
FOOTER_RIGHT = re.compile(r'@bottom-right\s*\{\s*content:\s*"((?:[^"\\]|\\.)*)"\s*counter\(page\)')
JS_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})")


def _css_string(match: re.Match | None) -> str:
    return JS_ESCAPE.sub(lambda escaped: chr(int(escaped.group(1), 16)), match.group(1)).strip() if match else ""


def _letter_canvas(left: str, label: str):
    """A canvas that draws each page's footer once the page count is known: "<sender> · CVR …" and "Side 2 / 3"."""
    face = fonts()["regular"]

    class LetterCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            # Started in the letter's typeface, so no page names ReportLab's default Helvetica.
            super().__init__(*args, **{**kwargs, "initialFontName": face, "initialFontSize": 10})
            self.pages_laid = []

        def showPage(self):
            self.pages_laid.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self.pages_laid)
            for number, state in enumerate(self.pages_laid, 1):
                self.__dict__.update(state)
                self.setFont(face, 8)
                self.setFillColor(HexColor(MUTED))
                baseline = MARGINS[2] / 2 - 3
                self.drawString(MARGINS[3], baseline, left)
                self.drawRightString(A4[0] - MARGINS[1], baseline, f"{label} {number} / {total}".strip())
                super().showPage()
            super().save()

    return LetterCanvas


def letter_render(html: str) -> bytes:
    """Return the letter ``html`` (rendered from templates/dsr/letters/_letter.html) as PDF bytes.

    Raise LayoutUnsupported when the HTML, its characters or the fonts are beyond this layout.
    """
    document = html_tree(html)
    (page,) = document.elements("html") or [None]
    if page is None or len(page.elements("body")) != 1:
        raise LayoutUnsupported("Not a whole HTML document.")
    head = (page.elements("head") or [Node("head", {})])[0]
    title = " ".join(node.text().strip() for node in head.elements("title"))
    style = " ".join(node.text() for node in head.elements("style"))
    left = _css_string(FOOTER_LEFT.search(style))
    label = _css_string(FOOTER_RIGHT.search(style))
    glyphs_check(left + label + title)
    flowables = story(blocks(page.elements("body")[0]))
    output = io.BytesIO()
    top, _, bottom, left_margin = MARGINS
    frame = Frame(left_margin, bottom, WIDTH, A4[1] - top - bottom, id="text",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)  # fmt: skip
    template = BaseDocTemplate(
        output, pagesize=A4, pageTemplates=[PageTemplate("letter", [frame])],
        title=title, author=left.split(" · ")[0], creator="dsr", lang=page.attrs.get("lang") or None,
    )  # fmt: skip
    try:
        with deflate_level(LETTER_LEVEL):
            template.build(flowables, canvasmaker=_letter_canvas(left, label))
    except LayoutError as error:
        raise LayoutUnsupported(str(error)) from error
    return output.getvalue()
