"""The letters' data tables (dsr.letter_layout.tables) look and read exactly as ReportLab's platypus Table draws them.

Each document is laid out twice: as it is, and with every data table a platypus Table styled as the layout styled
it before it had a table of its own. The text must read the same, the same runs of text be drawn at the same places,
the same rules be drawn, and the pages be pixel-identical at 100 dpi, with one difference: after a page break a Table
strokes the rule under its repeated heading row twice (its line commands for the heading rows and for the rest both
cover that row), and the anti-aliased pixels at the rule's two round ends come out a shade darker where it does.
The same rule stroked once in the same place with an opaque colour is the same ink; only those two pixels differ.
"""

import io
import re
from collections import Counter

import pytest
from PIL import ImageChops
from pypdf import PdfReader
from reportlab.lib.colors import HexColor
from reportlab.lib.units import mm

from dsr import letter_layout
from dsr.letter_layout import LayoutUnsupported, letter_render
from dsr.letter_layout.styles import RULE
from dsr.letter_layout.tables import DataTable
from dsr.letters import LETTER_KINDS, LETTER_LANGUAGES, letter_html
from dsr.message_samples import sample_context
from dsr.pdf import letter_pdf_render
from tests.pdf import pdf_pages_rasterised, pdf_text
from tests.test_letter_layout import SAMPLE_MESSAGE, _base_font, _drawn, _producer, _report_html

DOCUMENTS = [(kind, language) for kind in [*LETTER_KINDS, "report"] for language in LETTER_LANGUAGES]
DPI = 100


def _platypus_table(grid: DataTable):
    """The data table as a platypus Table, with the style the layout gave its Tables."""
    rows, widths, tops, heading_rows = grid.rows, grid.widths, grid.tops, grid.heading_rows
    data, commands = [], [
        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 2 * mm),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5 * mm), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5 * mm),
        ("LINEBELOW", (0, 0), (-1, -1), 0.5, HexColor(RULE)),
    ]  # fmt: skip
    for number, (row, top) in enumerate(zip(rows, tops, strict=True)):
        cells = []
        for flowables, span in row:
            cells.append(flowables)
            if span > 1:
                commands.append(("SPAN", (len(cells) - 1, number), (len(cells) + span - 2, number)))
                cells += [""] * (span - 1)
        if top != 1.5 * mm:
            commands.append(("TOPPADDING", (0, number), (-1, number), top))
        data.append(cells)
    return letter_layout.layout._cell_table(data, widths, commands, repeatRows=heading_rows)


@pytest.fixture
def as_platypus(monkeypatch):
    """Return a function laying out HTML with a platypus Table for every data table."""

    table = letter_layout.layout._table

    def render(html: str) -> bytes:
        with monkeypatch.context() as patched:
            patched.setattr(letter_layout.layout, "_table", lambda node: _platypus_table(table(node)))
            return letter_render(html)

    return render


def _html(kind: str, language: str) -> str:
    if kind == "report":
        return _report_html(language)
    return letter_html(kind, sample_context(SAMPLE_MESSAGE[kind], language), language)


def _letter_with(blocks: str) -> str:
    letter = letter_html("refused", sample_context("refused", "en"), "en")
    return letter.replace("<h1>", f"{blocks}<h1>", 1)


def _runs(pdf: bytes) -> list[tuple]:
    return [_base_font(run) for run in _drawn(pdf)]


def _rules(pdf: bytes) -> list[list[str]]:
    """Each page's straight lines stroked, as their PDF operators: the tables' rules and the letterhead's."""
    pages = PdfReader(io.BytesIO(pdf)).pages
    return [
        re.findall(r"[-\d.]+ [-\d.]+ m [-\d.]+ [-\d.]+ l S", page.get_contents().get_data().decode()) for page in pages
    ]


def _differing_pixels(pdf: bytes, reference: bytes) -> list[set]:
    pages, expected = pdf_pages_rasterised(pdf, DPI), pdf_pages_rasterised(reference, DPI)
    assert len(pages) == len(expected)
    found = []
    for page, other in zip(pages, expected, strict=True):
        difference = ImageChops.difference(page, other).convert("L")
        box = difference.getbbox()
        pixels = set()
        if box:
            crop = difference.crop(box)
            pixels = {(box[0] + n % crop.width, box[1] + n // crop.width) for n, v in enumerate(crop.getdata()) if v}
        found.append(pixels)
    return found


def _rule_ends(pixels: set) -> bool:
    """Whether the pixels are the two round ends of one rule across the text's width: the doubled rule's."""
    left = letter_layout.MARGINS[3] * DPI / 72
    right = (letter_layout.MARGINS[3] + letter_layout.WIDTH) * DPI / 72
    rows = {y for _, y in pixels}
    ends = all(abs(x - left) <= 1 or abs(x - right) <= 1 for x, _ in pixels)
    return len(pixels) <= 2 and len(rows) == 1 and ends


def _assert_same_as_platypus(pdf: bytes, reference: bytes) -> None:
    assert pdf_text(pdf) == pdf_text(reference)
    assert _runs(pdf) == _runs(reference)
    # The same rules (in each table's own coordinates), but for the Table's second stroke of a repeated heading rule.
    strokes = list(zip(map(Counter, _rules(pdf)), map(Counter, _rules(reference)), strict=True))
    assert all(not page - expected for page, expected in strokes)
    doubled = [expected - page for page, expected in strokes]
    assert all(sum(extra.values()) <= 1 for extra in doubled)
    for number, pixels in enumerate(_differing_pixels(pdf, reference)):
        assert not pixels or (doubled[number] and _rule_ends(pixels)), (number, sorted(pixels)[:10])


@pytest.mark.parametrize(("kind", "language"), DOCUMENTS)
def test_every_document_reads_draws_and_looks_as_with_platypus_tables(kind, language, as_platypus):
    html = _html(kind, language)

    pdf, reference = letter_render(html), as_platypus(html)

    _assert_same_as_platypus(pdf, reference)


def test_the_report_runs_its_table_onto_a_second_page_with_the_heading_row_repeated(as_platypus):
    html = _report_html("en")

    pdf, reference = letter_render(html), as_platypus(html)

    strokes = zip(_rules(pdf), _rules(reference), strict=True)
    assert [len(expected) - len(page) for page, expected in strokes] == [0, 1, 0]  # the Table's doubled rule
    assert sum(1 for run in _runs(pdf) if run[1] == "table_24 (Contact data)") == 1
    assert [run[0] for run in _runs(pdf) if run[1] == "Records"] == [0, 1]  # the heading row again on page 2
    _assert_same_as_platypus(pdf, reference)


def test_cells_too_long_for_their_column_wrap_as_in_a_platypus_table(as_platypus):
    long = " ".join(f"word{n}" for n in range(40))
    table = (
        '<table><thead><tr><th class="wide">Data</th><th>Where</th><th class="count">Records</th></tr></thead>'
        f"<tbody><tr><td>{long}</td><td>Short</td><td>7</td></tr>"
        f'<tr><th class="group" colspan="3">A group heading {long}</th></tr>'
        f"<tr><td>Short</td><td>{long}<div>A note under it</div></td><td>8</td></tr></tbody></table>"
    )
    html = _letter_with(table)

    pdf, reference = letter_render(html), as_platypus(html)

    lines = {run[3] for run in _drawn(pdf) if run[1].startswith("word")}
    assert len(lines) >= 6
    _assert_same_as_platypus(pdf, reference)


@pytest.mark.parametrize("filler", [20, 31, 36, 41])
def test_a_table_split_over_a_page_break_repeats_its_heading_as_a_platypus_table_does(filler, as_platypus):
    wrapped = " ".join(f"cellword{n}" for n in range(25))
    rows = "".join(f"<tr><td>{wrapped} {n}</td><td>{n}</td></tr>" for n in range(12))
    table = f'<table><thead><tr><th>Data</th><th class="count">Records</th></tr></thead><tbody>{rows}</tbody></table>'
    html = _letter_with("<p>Filler</p>" * filler + table)

    pdf, reference = letter_render(html), as_platypus(html)

    assert len(PdfReader(io.BytesIO(pdf)).pages) >= 2
    assert sum(1 for run in _runs(pdf) if run[1] == "Records") >= 2  # the heading row on each page
    _assert_same_as_platypus(pdf, reference)


def test_inline_markup_in_cells_is_drawn_as_in_a_platypus_table(as_platypus):
    cells = [
        "<strong>Bold</strong> and <em>emphasis</em>",
        '<span class="label">Label:</span> value',
        "No\u00a0break and a soft\u00adhyphen",
        "One<br>line break",
    ]
    rows = "".join(f"<tr><td>{cell}</td><td>{n}</td></tr>" for n, cell in enumerate(cells))
    html = _letter_with(f'<table><tr><th>Data</th><th class="count">Records</th></tr>{rows}</table>')

    pdf, reference = letter_render(html), as_platypus(html)

    assert "Label: value" in pdf_text(pdf)
    _assert_same_as_platypus(pdf, reference)


def test_a_cell_dejavu_sans_cannot_set_sends_the_letter_to_weasyprint_with_the_cell_in_it():
    html = _letter_with(
        '<table><tr><th>Name</th><th class="count">Records</th></tr><tr><td>王秀英</td><td>1</td></tr></table>'
    )

    with pytest.raises(LayoutUnsupported, match="glyph"):
        letter_render(html)
    pdf = letter_pdf_render(html)

    assert "WeasyPrint" in _producer(pdf)
    assert "Records" in pdf_text(pdf)  # WeasyPrint draws what no installed font has as boxes


def test_a_row_taller_than_a_page_is_declined_as_with_a_platypus_table(as_platypus):
    tall = "<br>".join(f"Line {n}" for n in range(80))
    html = _letter_with(
        f'<table><tr><th>Data</th><th class="count">Records</th></tr><tr><td>{tall}</td><td>1</td></tr></table>'
    )

    with pytest.raises(LayoutUnsupported):
        as_platypus(html)
    with pytest.raises(LayoutUnsupported):
        letter_render(html)


def test_a_data_table_measures_each_cell_once_and_splits_between_rows():
    (table,) = letter_layout.html_tree(
        "<table><thead><tr><th>Data</th></tr></thead><tbody><tr><td>One</td></tr><tr><td>Two</td></tr></tbody></table>"
    ).elements()
    grid = letter_layout.layout._table(table)

    width, height = grid.wrap(letter_layout.WIDTH, 800)
    first, rest = grid.split(letter_layout.WIDTH, height - 1)

    assert isinstance(grid, DataTable)
    assert width == pytest.approx(letter_layout.WIDTH)
    assert [len(first.rows), len(rest.rows)] == [2, 2]
    assert rest.rows[0] is grid.rows[0]  # the heading row again
    assert grid.split(letter_layout.WIDTH, grid.heights[0]) == []  # never the heading row alone
