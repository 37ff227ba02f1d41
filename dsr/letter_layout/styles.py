"""letter.css in points: the page's measures, its colours and the paragraph styles of its rules."""

from functools import cache

from reportlab.lib.colors import HexColor
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm

from dsr.letter_layout.fonts import fonts

# letter.css, in points: the page's margins (top, right, bottom, left) and the colours it names.
MARGINS = (18 * mm, 20 * mm, 22 * mm, 24 * mm)
WIDTH = A4[0] - MARGINS[1] - MARGINS[3]
INK, BLUE, NAVY, GREY, MUTED, RULE, SHADE = "#111827", "#1d4ed8", "#1e3a8a", "#374151", "#6b7280", "#d1d5db", "#f3f4f6"
NOTE_GREY = "#4b5563"


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
