"""The body of a letter as blocks (headings, paragraphs, lists, tables, boxes) and the story the frames lay out."""

from dataclasses import dataclass
from functools import cache

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Paragraph, Table, TableStyle

from dsr.letter_layout.flowables import LetterParagraph, PlainLine, inline_markup, lines_paragraph, plain_or_paragraph
from dsr.letter_layout.fonts import fonts
from dsr.letter_layout.styles import BLUE, SHADE, WIDTH, styles
from dsr.letter_layout.tables import DataTable
from dsr.letter_layout.tree import LayoutUnsupported, Node

# At most this much of a block other than a table or a paragraph stays with the heading above it.
HEADING_ROOM = 20 * mm
# A table's column is as wide as its header cell's class says; the others share the rest equally.
COLUMN_SHARES = {"count": 0.13, "reference": 0.31, "wide": 0.40}


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


def _table(node: Node) -> DataTable:
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
    data, tops = [], []
    for row in rows:
        cells, top = [], 1.5 * mm
        for cell in row.elements():
            if cell.tag not in ("th", "td"):
                raise LayoutUnsupported(f"<{cell.tag}> inside a table row.")
            style = "group" if "group" in cell.classes else "th" if cell.tag == "th" else "cell"
            cells.append((_cell(cell, style), int(cell.attrs.get("colspan") or 1)))
            if "group" in cell.classes:
                top = 2.5 * mm
        if sum(span for _, span in cells) != columns:
            raise LayoutUnsupported("A table whose rows have different numbers of cells.")
        data.append(cells)
        tops.append(top)
    return DataTable(data, widths, tops, heading_rows)


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
    if isinstance(flowable, DataTable):
        return sum(flowable.heights[: flowable.heading_rows + 1])
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
