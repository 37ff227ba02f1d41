"""The letters and the access report laid out by ReportLab, from the same HTML WeasyPrint renders.

A letter's words stay in its Django template (templates/dsr/letters/, templates/dsr/exports/report.*.html), in
Danish and English; this module draws that HTML with the look letter.css gives it, in about a fifth of the time
WeasyPrint takes to lay it out (docs/decisions/0018-letters-laid-out-by-reportlab.md). It knows the letters' small
vocabulary of elements and classes and nothing more: anything else in the HTML, a character DejaVu Sans has no
glyph for, a missing font file, or a row too tall for a page raises LayoutUnsupported, and dsr.pdf then renders
the letter with WeasyPrint, which lays out any HTML and finds a font for any script.
"""

import io
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from html import escape
from html.parser import HTMLParser

from reportlab.lib.colors import HexColor
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, CondPageBreak, Frame, PageTemplate, Paragraph, Table, TableStyle
from reportlab.platypus.doctemplate import LayoutError
from reportlab.platypus.flowables import Flowable

# letter.css, in points: the page's margins (top, right, bottom, left) and the colours it names.
MARGINS = (18 * mm, 20 * mm, 22 * mm, 24 * mm)
WIDTH = A4[0] - MARGINS[1] - MARGINS[3]
INK, BLUE, NAVY, GREY, MUTED, RULE, SHADE = "#111827", "#1d4ed8", "#1e3a8a", "#374151", "#6b7280", "#d1d5db", "#f3f4f6"
NOTE_GREY = "#4b5563"
# At most this much of a block other than a table or a paragraph stays with the heading above it.
HEADING_ROOM = 20 * mm
# A table's column is as wide as its header cell's class says; the others share the rest equally.
COLUMN_SHARES = {"count": 0.13, "reference": 0.31, "wide": 0.40}
# Elements and the classes each may carry; anything else is not a letter this layout knows.
KNOWN = {
    "html": set(), "head": set(), "meta": set(), "title": set(), "style": set(), "body": set(),
    "h1": set(), "h2": set(), "p": {"legal", "sender-name", "sender-lines"}, "ul": set(), "li": set(),
    "table": set(), "thead": set(), "tbody": set(), "tr": set(), "th": {"count", "reference", "wide", "group"},
    "td": set(), "div": {"letterhead", "sender", "contact", "addresses", "recipient", "meta", "reasons",
                         "authority", "signature", "note"},
    "strong": set(), "b": set(), "em": set(), "i": set(), "br": set(), "span": {"law", "label"},
}  # fmt: skip
VOID = {"meta", "br"}
FACES = {"regular": "DejaVu Sans:style=Book", "bold": "DejaVu Sans:style=Bold",
         "italic": "DejaVu Sans:style=Oblique", "bold_italic": "DejaVu Sans:style=Bold Oblique"}  # fmt: skip
FAMILY = "dsr-letter"
# Bidirectional classes of right-to-left text (Hebrew, Arabic, Arabic numbers): laid out by WeasyPrint.
SHAPED = {"R", "AL", "AN"}


class LayoutUnsupported(Exception):
    """The HTML holds something this layout does not draw; WeasyPrint renders the letter instead."""


@dataclass
class Node:
    tag: str
    attrs: dict
    children: list = field(default_factory=list)  # Node or str

    @property
    def classes(self) -> set:
        return set((self.attrs.get("class") or "").split())

    def elements(self, tag: str | None = None) -> list:
        return [child for child in self.children if isinstance(child, Node) and tag in (None, child.tag)]

    def text(self) -> str:
        return "".join(child if isinstance(child, str) else child.text() for child in self.children)


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.open = [self.root]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        unknown = set((attrs.get("class") or "").split()) - KNOWN.get(tag, set())
        if tag not in KNOWN or unknown:
            raise LayoutUnsupported(f"<{tag} class={attrs.get('class')!r}> is not an element of the letters.")
        node = Node(tag, attrs)
        self.open[-1].children.append(node)
        if tag not in VOID:
            self.open.append(node)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.open.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if self.open[-1].tag != tag:
            raise LayoutUnsupported(f"</{tag}> closes <{self.open[-1].tag}>.")
        self.open.pop()

    def handle_data(self, data):
        self.open[-1].children.append(data)


def html_tree(html: str) -> Node:
    """Return the HTML as a tree of Nodes; raise LayoutUnsupported for any element or class the letters never use."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    if len(builder.open) != 1:
        raise LayoutUnsupported(f"<{builder.open[-1].tag}> is never closed.")
    return builder.root


# --- fonts ---------------------------------------------------------------------------------------------------


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


# --- styles --------------------------------------------------------------------------------------------------


@cache
def styles() -> dict:
    """The paragraph styles letter.css describes, in points."""
    face = fonts()
    body = ParagraphStyle("body", fontName=face["regular"], fontSize=10, leading=14.2, textColor=HexColor(INK))
    cell = ParagraphStyle("cell", body, fontSize=9, leading=12.8)
    return {
        "body": body,
        "h1": ParagraphStyle("h1", body, fontName=face["bold"], fontSize=12.5, leading=17.75),
        "h2": ParagraphStyle("h2", body, fontName=face["bold"], fontSize=10.5, leading=14.9),
        "li": ParagraphStyle("li", body, leftIndent=5 * mm, bulletIndent=1.2 * mm, bulletFontName=face["regular"]),
        "legal": ParagraphStyle("legal", body, fontSize=8, leading=11.4, textColor=HexColor(NOTE_GREY)),
        "sender-name": ParagraphStyle(
            "sender", body, fontName=face["bold"], fontSize=15, leading=20, textColor=HexColor(NAVY)
        ),
        "sender-lines": ParagraphStyle(
            "sender-lines", body, fontSize=9, leading=12.8, textColor=HexColor(GREY), spaceBefore=mm
        ),
        "contact": ParagraphStyle(
            "contact", body, fontSize=8.5, leading=12, textColor=HexColor(GREY), alignment=TA_RIGHT
        ),
        "right": ParagraphStyle("right", body, alignment=TA_RIGHT),
        "cell": cell,
        "th": ParagraphStyle("th", cell, fontName=face["bold"]),
        "group": ParagraphStyle("group", cell, fontName=face["bold"], textColor=HexColor(NAVY)),
        "note": ParagraphStyle("note", cell, fontSize=8.5, leading=12, textColor=HexColor(NOTE_GREY), spaceBefore=mm),
    }


# --- inline text ----------------------------------------------------------------------------------------------

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


# --- blocks ---------------------------------------------------------------------------------------------------


@dataclass
class Block:
    """A flowable with letter.css's margins above and below it; neighbours' margins collapse, as in CSS."""

    flowable: object
    top: float = 0
    bottom: float = 0
    # A heading starts a new page unless the room left holds it and the first lines of what it heads
    # (``break-after: avoid``); ReportLab's own keepWithNext would move a whole long table with its heading.
    keep_with_next: bool = False


def _cell_table(rows: list, widths: list, commands: list, **options) -> Table:
    table = Table(rows, colWidths=widths, **options)
    # The font is that of the cells spanned over (empty), so no page names ReportLab's default Helvetica.
    commands = [("VALIGN", (0, 0), (-1, -1), "TOP"), ("FONTNAME", (0, 0), (-1, -1), fonts()["regular"]), *commands]
    table.setStyle(TableStyle(commands))
    return table


def _two_columns(node: Node, cell: str, border: bool) -> Table:
    """The letterhead or the address block: two cells side by side, the left one 42% wide."""
    sides = node.elements("div")
    if len(sides) != 2 or len(sides) != len(node.elements()):
        raise LayoutUnsupported(f"<div class={node.attrs.get('class')!r}> without exactly two columns.")
    left, right = sides
    content = [[], []]
    for index, (side, style) in enumerate(((left, cell), (right, "contact" if border else "right"))):
        for p in side.elements("p"):
            content[index].append(plain_or_paragraph(p, next(iter(p.classes), style)))
    commands = [
        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, -1), 5 * mm if border else 0),
    ]  # fmt: skip
    if border:
        commands.append(("LINEBELOW", (0, 0), (-1, -1), 1.5, HexColor(BLUE)))
    return _cell_table([content], [0.42 * WIDTH, 0.58 * WIDTH], commands)


def _cell(node: Node, style: str) -> list:
    """A table cell's paragraphs: its text, then any note under it."""
    inline = [child for child in node.children if isinstance(child, str) or child.tag != "div"]
    text = Node(node.tag, node.attrs, inline)
    flowables = [plain_or_paragraph(text, style)]
    flowables += [plain_or_paragraph(note, "note") for note in node.elements("div")]
    return flowables


def _table(node: Node) -> Table:
    rows, heading_rows = [], 0
    for part in node.elements():
        if part.tag == "tr":
            rows.append(part)
        elif part.tag in ("thead", "tbody"):
            if part.tag == "thead" and not rows:
                heading_rows = len(part.elements("tr"))  # repeated at the top of each page the table runs onto
            rows += part.elements("tr")
        else:
            raise LayoutUnsupported(f"<{part.tag}> inside a table.")
    if not rows:
        raise LayoutUnsupported("A table without rows.")
    header = rows[0].elements()
    shares = [COLUMN_SHARES.get(next(iter(cell.classes & COLUMN_SHARES.keys()), ""), 0) for cell in header]
    columns = sum(int(cell.attrs.get("colspan") or 1) for cell in header)
    if len(shares) != columns:
        raise LayoutUnsupported("A table whose first row spans columns.")
    free = sum(1 for share in shares if not share)
    rest = (1 - sum(shares)) / free if free else 0
    widths = [(share or rest) * WIDTH for share in shares]
    data, commands = [], [
        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 2 * mm),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5 * mm), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5 * mm),
        ("LINEBELOW", (0, 0), (-1, -1), 0.5, HexColor(RULE)),
    ]  # fmt: skip
    for number, row in enumerate(rows):
        cells = []
        for cell in row.elements():
            if cell.tag not in ("th", "td"):
                raise LayoutUnsupported(f"<{cell.tag}> inside a table row.")
            style = "group" if "group" in cell.classes else "th" if cell.tag == "th" else "cell"
            cells.append(_cell(cell, style))
            span = int(cell.attrs.get("colspan") or 1)
            if span > 1:
                commands.append(("SPAN", (len(cells) - 1, number), (len(cells) + span - 2, number)))
                cells += [""] * (span - 1)
            if "group" in cell.classes:
                commands.append(("TOPPADDING", (0, number), (-1, number), 2.5 * mm))
        if len(cells) != columns:
            raise LayoutUnsupported("A table whose rows have different numbers of cells.")
        data.append(cells)
    return _cell_table(data, widths, commands, repeatRows=heading_rows)


def blocks(node: Node) -> list:
    """Return the body's (or a division's) blocks in order, each with its margins from letter.css."""
    found = []
    for child in node.children:
        if isinstance(child, str):
            if child.strip():
                raise LayoutUnsupported("Text outside a paragraph.")
            continue
        kind = child.tag
        if kind == "h1":
            found.append(Block(plain_or_paragraph(child, "h1"), 0, 6 * mm))
        elif kind == "h2":
            found.append(Block(plain_or_paragraph(child, "h2"), 5 * mm, 1.5 * mm, keep_with_next=True))
        elif kind == "p":
            style = "legal" if "legal" in child.classes else "body"
            found.append(Block(plain_or_paragraph(child, style), 5 * mm if style == "legal" else 0, 3 * mm))
        elif kind == "ul":
            items = child.elements("li")
            if len(items) != len(child.elements()):
                raise LayoutUnsupported("A list holding more than items.")
            for number, item in enumerate(items):
                bottom = 3 * mm if number == len(items) - 1 else 1 * mm
                found.append(Block(LetterParagraph(inline_markup(item), styles()["li"], bulletText="•"), 0, bottom))
        elif kind == "table":
            found.append(Block(_table(child), 2 * mm, 4 * mm))
        elif kind == "div" and "letterhead" in child.classes:
            found.append(Block(_two_columns(child, "sender-name", border=True), 0, 8 * mm))
        elif kind == "div" and "addresses" in child.classes:
            found.append(Block(_two_columns(child, "body", border=False), 0, 9 * mm))
        elif kind == "div" and "reasons" in child.classes:
            commands = [("LINEBEFORE", (0, 0), (0, 0), 2.25, HexColor(BLUE)), ("LEFTPADDING", (0, 0), (0, 0), 4 * mm),
                        ("TOPPADDING", (0, 0), (0, 0), 1 * mm), ("BOTTOMPADDING", (0, 0), (0, 0), 1 * mm)]  # fmt: skip
            found.append(Block(_cell_table([[[lines_paragraph(child, "body")]]], [WIDTH], commands), 2 * mm, 4 * mm))
        elif kind == "div" and "authority" in child.classes:
            commands = [("BACKGROUND", (0, 0), (0, 0), HexColor(SHADE)), ("LEFTPADDING", (0, 0), (0, 0), 4 * mm),
                        ("RIGHTPADDING", (0, 0), (0, 0), 4 * mm), ("TOPPADDING", (0, 0), (0, 0), 3 * mm),
                        ("BOTTOMPADDING", (0, 0), (0, 0), 3 * mm)]  # fmt: skip
            content = [plain_or_paragraph(p, "body") for p in child.elements("p")]
            found.append(Block(_cell_table([[content]], [WIDTH], commands), 2 * mm, 4 * mm))
        elif kind == "div" and "signature" in child.classes:
            inner = blocks(child)
            if inner:
                inner[0].top = max(inner[0].top, 6 * mm)
            found += inner
        else:
            raise LayoutUnsupported(f"<{kind} class={child.attrs.get('class')!r}> where a block belongs.")
    return found


def _first_piece(flowable) -> float:
    """The height of what must stay with a heading above it: a table's heading row and first row, two lines of a
    paragraph, or the whole of a shorter block."""
    _, height = flowable.wrap(WIDTH, A4[1])
    if isinstance(flowable, Table):
        return sum(flowable._rowHeights[: flowable.repeatRows + 1])
    if isinstance(flowable, (Paragraph, PlainLine)):
        return min(height, 2 * flowable.style.leading)
    return min(height, HEADING_ROOM)


@cache
def _spaced_above(style: ParagraphStyle, space: float) -> ParagraphStyle:
    return ParagraphStyle(f"{style.name}+", style, spaceBefore=space)


def story(found: list) -> list:
    """The flowables with the space above each: the larger of its own top margin and the bottom one before it."""
    below = 0
    for block in found:  # spaced first: a paragraph breaks its lines again for a new style
        space, below = max(below, block.top), block.bottom
        if isinstance(block.flowable, (Paragraph, PlainLine)):
            block.flowable.style = _spaced_above(block.flowable.style, space) if space else block.flowable.style
        else:
            block.flowable.spaceBefore = space
    flowables = []
    for block, after in zip(found, [*found[1:], None], strict=True):
        if block.keep_with_next and after is not None:
            height = block.flowable.getSpaceBefore() + block.flowable.wrap(WIDTH, A4[1])[1]
            flowables.append(CondPageBreak(height + max(block.bottom, after.top) + _first_piece(after.flowable)))
        flowables.append(block.flowable)
    return flowables


# --- the page -------------------------------------------------------------------------------------------------

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
        template.build(flowables, canvasmaker=_letter_canvas(left, label))
    except LayoutError as error:
        raise LayoutUnsupported(str(error)) from error
    return output.getvalue()
