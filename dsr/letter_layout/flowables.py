"""The letters' text as flowables: inline markup for ReportLab's Paragraph, and plain lines drawn without one."""

import re
from html import escape

from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import Paragraph
from reportlab.platypus.flowables import Flowable

from dsr.letter_layout.fonts import fonts, glyphs_check
from dsr.letter_layout.styles import MUTED, styles
from dsr.letter_layout.tree import LayoutUnsupported, Node

SPACES = re.compile(r"\s+")


def inline_markup(node: Node) -> str:
    """Return the node's content as ReportLab paragraph markup: text escaped, emphasis and the letters' spans kept."""
    parts = []
    for child in node.children:
        if isinstance(child, str):
            glyphs_check(child)
            parts.append(escape(child, quote=False))
        elif child.tag == "br":
            parts.append("<br/>")
        elif child.tag in ("strong", "b"):
            parts.append(f"<b>{inline_markup(child)}</b>")
        elif child.tag in ("em", "i"):
            parts.append(f"<i>{inline_markup(child)}</i>")
        elif child.tag == "span" and "law" in child.classes:
            # Set upright and light inside a bold heading: the article the heading answers.
            parts.append(f'<font name="{fonts()["regular"]}" size="8.5" color="{MUTED}">{inline_markup(child)}</font>')
        elif child.tag == "span":
            parts.append(f'<font color="{MUTED}">{inline_markup(child)}</font>')
        else:
            raise LayoutUnsupported(f"<{child.tag}> inside a line of text.")
    return "".join(parts).strip()


class LetterParagraph(Paragraph):
    """A Paragraph that breaks its lines once for a width: a table and the page-break checks wrap it again and again."""

    def wrap(self, availWidth, availHeight):
        # A split drops blPara; a new style (the space above, set by story) is a new key.
        if getattr(self, "_wrapped_for", None) == (availWidth, id(self.style)) and hasattr(self, "blPara"):
            return self.width, self.height
        self._wrapped_for = (availWidth, id(self.style))
        return super().wrap(availWidth, availHeight)


def paragraph(node: Node, style: str) -> Paragraph:
    return LetterParagraph(inline_markup(node), styles()[style])


# Text a line may be drawn from as it stands: ReportLab's paragraphs treat other spaces (no-break ones) and soft
# hyphens (not drawn unless a line breaks there) apart.
PLAIN_SPACES = re.compile(r"[^\S \t\r\n]|\u00ad")


class PlainLine(Flowable):
    """Plain text in one style, drawn where and as ReportLab's Paragraph draws a line that fits.

    Most headings, short paragraphs and table cells of the letters are one line of plain text, for which a
    Paragraph parses markup and breaks lines. Text that does not fit the width is laid out by a Paragraph after all.
    """

    def __init__(self, text: str, style: ParagraphStyle):
        super().__init__()
        self.text = text
        self.style = style
        self._text_width = pdfmetrics.stringWidth(text, style.fontName, style.fontSize)
        self._paragraph: Paragraph | None = None

    def _fits(self, width: float) -> bool:
        # A hair of room to spare: at the very edge the Paragraph's own sum of word widths decides.
        return self._text_width < width - 0.01

    def wrap(self, availWidth, availHeight):
        self.width = availWidth
        if self._fits(availWidth):
            self.height = self.style.leading
            return self.width, self.height
        if self._paragraph is None:
            self._paragraph = LetterParagraph(escape(self.text, quote=False), self.style)
        self.width, self.height = self._paragraph.wrap(availWidth, availHeight)
        return self.width, self.height

    def split(self, availWidth, availHeight):
        if self._fits(availWidth):
            return []
        return self._paragraph.split(availWidth, availHeight) if self._paragraph is not None else []

    def draw(self):
        if not self._fits(self.width):
            self._paragraph.drawOn(self.canv, 0, 0)
            return
        canvas = self.canv
        canvas.saveState()
        canvas.setFillColor(self.style.textColor)
        canvas.setFont(self.style.fontName, self.style.fontSize, self.style.leading)
        # A Paragraph's first baseline (its height less the font size) and text operators: text extraction reads alike.
        line = canvas.beginText(0, self.height - self.style.fontSize)
        indent = self.width - self._text_width if self.style.alignment == TA_RIGHT else 0
        if indent:
            line.setXPos(indent)
        line.textLine(self.text)
        if indent:
            line.setXPos(-indent)
        canvas.drawText(line)
        canvas.restoreState()


def plain_or_paragraph(node: Node, style: str) -> Flowable:
    """A PlainLine for text with no markup in it, else a Paragraph."""
    text = node.text()
    if node.elements() or PLAIN_SPACES.search(text):
        return paragraph(node, style)
    glyphs_check(text)
    text = SPACES.sub(" ", text).strip()
    return PlainLine(text, styles()[style]) if text else paragraph(node, style)


def lines_paragraph(node: Node, style: str) -> Paragraph:
    """The node's text with its line breaks kept (``white-space: pre-line``): the staff's reasons as written."""
    if node.elements():
        raise LayoutUnsupported(f"<{node.elements()[0].tag}> inside text whose lines are kept.")
    text = node.text().strip()
    glyphs_check(text)
    lines = (escape(SPACES.sub(" ", line).strip(), quote=False) for line in text.split("\n"))
    return LetterParagraph("<br/>".join(lines), styles()[style])
