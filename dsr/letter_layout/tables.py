"""The letters' data tables: a grid of fixed columns drawn where and as ReportLab's platypus Table draws it.

The letters' tables are the simplest a Table lays out: fixed column widths, cells aligned top, one padding each
side, a thin rule under each row, cells spanning columns and a heading row repeated on each page the table runs
onto. A Table spends a third of a letter's layout on the general case (a style per cell, spans in both directions,
rows split inside). DataTable does only this case, with a Table's arithmetic, so the pages are the same pixels.
"""

from reportlab.lib.colors import HexColor
from reportlab.lib.units import mm
from reportlab.platypus.flowables import Flowable

from dsr.letter_layout.styles import RULE

RIGHT_PADDING, BOTTOM_PADDING, RULE_WEIGHT = 2 * mm, 1.5 * mm, 0.5


def _positions(sizes: list) -> list:
    """The running sums from 0, as a Table sums its column widths."""
    total, positions = 0, [0]
    for size in sizes:
        total = total + size
        positions.append(total)
    return positions


def _row_positions(heights: list) -> list:
    """Each row's top, last row's bottom 0, summed bottom up with a Table's compensated (Kahan) sum."""
    positions, height, carry = [], 0, 0
    for row_height in reversed(heights):
        positions.append(height)
        step = row_height - carry
        total = height + step
        carry = (total - height) - step
        height = total
    positions.append(height)
    positions.reverse()
    return positions


class DataTable(Flowable):
    """Rows of cells (a list of flowables and the columns it spans) under fixed column widths; splits between rows.

    ``tops`` is each row's padding above its cells; ``heading_rows`` the rows repeated at the top of each page.
    """

    def __init__(self, rows: list, widths: list, tops: list, heading_rows: int = 0, heights: list | None = None):
        super().__init__()
        self.rows, self.widths, self.tops, self.heading_rows, self.heights = rows, widths, tops, heading_rows, heights
        self.hAlign = "CENTER"  # as a Table's: its width, the columns' sum, may be a hair off the frame's
        self._columns = _positions(widths)
        self._spans = any(span > 1 for row in rows for _, span in row)
        self.width = self._columns[-1]
        self._sizes: dict = {}  # id(cell's flowables) -> (width, their sizes): wrapped once, drawn from the pieces

    def _cells(self, row: list, drawn: bool) -> list:
        """Each cell's flowables, left edge and width: a Table's width of the columns spanned, or of the column."""
        cells, column = [], 0
        for flowables, span in row:
            end = self._columns[column + span]
            spanned = span > 1 or (drawn and self._spans)
            cells.append(
                (flowables, self._columns[column], end - self._columns[column] if spanned else self.widths[column])
            )
            column += span
        return cells

    def _wrapped(self, flowables: list, width: float, height: float) -> list:
        known = self._sizes.get(id(flowables))
        if known is None or known[0] != width:
            canvas = getattr(self, "canv", None)
            known = self._sizes[id(flowables)] = (
                width,
                [f.wrapOn(canvas, width - RIGHT_PADDING, height) for f in flowables],
            )
        return known[1]

    def wrap(self, availWidth, availHeight):
        if self.heights is None:
            self.heights = []
            for row, top in zip(self.rows, self.tops, strict=True):
                height = 0
                for flowables, _, width in self._cells(row, drawn=False):
                    total = 0
                    for flowable, (_, size) in zip(flowables, self._wrapped(flowables, width, 72000), strict=True):
                        total += size + flowable.getSpaceAfter() + flowable.getSpaceBefore()
                    total = total - flowables[0].getSpaceBefore() - flowables[-1].getSpaceAfter()
                    height = max(height, total + (BOTTOM_PADDING + top))
                self.heights.append(height)
        self._rows_top = _row_positions(self.heights)
        self.height = self._rows_top[0]
        return self.width, self.height

    def split(self, availWidth, availHeight):
        self.wrap(availWidth, availHeight)
        used, fits = 0, 0
        for height in self.heights:
            if used + height > availHeight:
                break
            used, fits = used + height, fits + 1
        if fits <= self.heading_rows:
            return []
        if fits == len(self.rows):
            return [self]
        heading = self.heading_rows
        first = DataTable(self.rows[:fits], self.widths, self.tops[:fits], heading, self.heights[:fits])
        first.spaceBefore = getattr(self, "spaceBefore", 0)
        rest = DataTable(self.rows[:heading] + self.rows[fits:], self.widths, self.tops[:heading] + self.tops[fits:],
                         heading, self.heights[:heading] + self.heights[fits:])  # fmt: skip
        first._sizes = rest._sizes = self._sizes
        return [first, rest]

    def draw(self):
        canvas, rows_top = self.canv, self._rows_top
        for number, (row, top) in enumerate(zip(self.rows, self.tops, strict=True)):
            bottom = rows_top[number + 1]
            height = rows_top[number] - bottom if self._spans else self.heights[number]
            for flowables, x, width in self._cells(row, drawn=True):
                y = bottom + height - top + flowables[0].getSpaceBefore()
                for flowable, (_, size) in zip(flowables, self._wrapped(flowables, width, height), strict=True):
                    y -= flowable.getSpaceBefore()
                    y -= size
                    flowable.drawOn(canvas, x, y)
                    y -= flowable.getSpaceAfter()
        canvas.saveState()
        canvas.setLineCap(1)
        canvas.setLineJoin(1)
        canvas.setStrokeColor(HexColor(RULE))
        canvas.setLineWidth(RULE_WEIGHT)
        for y in rows_top[1:]:
            canvas.line(0, y, self.width, y)
        canvas.restoreState()
