"""The letters and report.pdf as ReportLab lays them out (dsr.letter_layout), and WeasyPrint where it declines."""

import io
import logging
import re
from collections import Counter
from datetime import date
from html.parser import HTMLParser

import pytest
from django.template.loader import render_to_string
from django.test import override_settings
from django.utils import timezone, translation
from pypdf import PdfReader

from dsr import pdf as pdf_module
from dsr.exports.bundle import report_context
from dsr.letter_layout import LayoutUnsupported, letter_render
from dsr.letters import LETTER_KINDS, LETTER_LANGUAGES, letter_html, letter_pdf
from dsr.message_samples import sample_context
from dsr.models import Request
from dsr.pdf import letter_pdf_render
from tests.pdf import pdf_text

SAMPLE_MESSAGE = {"refused": "refused", "extended": "extended", "fee": "fee", "erasure_confirmation": "completed"}


class _BodyText(HTMLParser):
    """The words a reader sees in an HTML letter: the body's text, the head left out, a bullet for each item."""

    INLINE = {"strong", "b", "em", "i", "span"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.in_body = False
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.in_body = self.in_body or tag == "body"
        if tag not in self.INLINE:
            self.text.append(" • " if tag == "li" else " ")

    def handle_endtag(self, tag):
        if tag not in self.INLINE:
            self.text.append(" ")

    def handle_data(self, data):
        if self.in_body:
            self.text.append(data)


def _html_words(html: str) -> Counter:
    parser = _BodyText()
    parser.feed(html)
    return Counter("".join(parser.text).split())


def _pdf_words(pdf: bytes) -> Counter:
    return Counter(pdf_text(pdf).split())


def _producer(pdf: bytes) -> str:
    return PdfReader(io.BytesIO(pdf)).metadata.producer or ""


def _footer_words(pdf: bytes, html: str) -> Counter:
    """The words of every page's footer: the sender and CVR on the left, "Side n / N" on the right."""
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    left = re.search(r'@bottom-left \{ content: "([^"]*)"', html).group(1)
    left = re.sub(r"\\u([0-9A-Fa-f]{4})", lambda escaped: chr(int(escaped.group(1), 16)), left)
    label = re.search(r'@bottom-right \{ content: "([^"]*) "', html).group(1)
    words = Counter()
    for number in range(1, pages + 1):
        words.update(f"{left} {label} {number} / {pages}".split())
    return words


def _report_html(language: str, **information) -> str:
    info = {
        "found": True,
        "sources": [
            {
                "name": "Web shop",
                "origin": "From you when you bought something",
                "files": [],
                "tables": [{"name": f"table_{n}", "records": n, "categories": ["Contact data"]} for n in range(1, 25)],
            },
            {
                "name": "CRM",
                "origin": "Copied from the web shop",
                "files": [{"path": "notes/ida.txt"}],
                "tables": [{"name": "customer", "records": 1, "categories": ["Contact data", "Profile data"]}],
            },
        ],
        "purposes": [
            {
                "name": "Purchases",
                "legal_bases": ["contract (Art. 6(1)(b))"],
                "categories": ["Contact data"],
                "retention": "5 years after the order",
                "legitimate_interest": "",
            },
            {
                "name": "Marketing",
                "legal_bases": ["legitimate interests (Art. 6(1)(f))"],
                "categories": [],
                "retention": "Until you object",
                "legitimate_interest": "Telling customers about similar products",
            },
        ],
        "categories": [{"name": "Contact data", "description": "Name, address, email"}, {"name": "Profile data"}],
        "recipients": [{"name": "PostNord", "role": "processor", "countries": ["DK"], "purposes": ["Purchases"]}],
        "legal_holds": [{"name": "Bookkeeping", "law": "Bookkeeping Act § 10", "description": "Invoices, 5 years"}],
        "profiling": [{"name": "Fraud checks", "profiling_description": "A score from the order's details"}],
        "transfers": [{"name": "Mailer Inc.", "outside_eea": ["US"], "safeguard": "Standard contractual clauses"}],
        "controller": {"name": "Madkassen A/S", "email": "privacy@madkassen.dk"},
        "authority": {"name": "Datatilsynet", "address": "Carl Jacobsens Vej 35, 2500 Valby", "phone": "33 19 32 00"},
        "history": [
            {
                "reference": "DSR-7K3Q-9XW2-ABCD-EFGH",
                "right": "Access",
                "received": date(2026, 3, 5),
                "closed": None,
                "current": True,
                "status": "",
            }
        ],
        **information,
    }
    request = Request(reference="DSR-7K3Q-9XW2-ABCD-EFGH", email="ida@example.com", language=language, right="access")
    context = report_context(request, info, manifest=[], when=timezone.now())
    context["controller"] = {**sample_context("completed", language)["controller"]}
    with translation.override(language):
        return render_to_string(f"dsr/exports/report.{language}.html", context)


@pytest.mark.parametrize("language", LETTER_LANGUAGES)
@pytest.mark.parametrize("kind", LETTER_KINDS)
def test_every_letter_is_laid_out_with_every_word_of_its_html(kind, language):
    html = letter_html(kind, sample_context(SAMPLE_MESSAGE[kind], language), language)

    pdf = letter_render(html)  # raises LayoutUnsupported if anything in the letter is beyond the layout

    assert _pdf_words(pdf) == _html_words(html) + _footer_words(pdf, html)
    assert "ReportLab" in _producer(letter_pdf_render(html))


@pytest.mark.parametrize("language", LETTER_LANGUAGES)
def test_the_access_report_runs_over_pages_with_every_word_and_its_table_heading_on_each_page(language):
    html = _report_html(language)

    pdf = letter_render(html)

    heading = ("Data", "Records") if language == "en" else ("Oplysninger", "Poster")
    # Every word once, but the found-data table's heading row twice: the table runs onto a second page.
    assert _pdf_words(pdf) == _html_words(html) + _footer_words(pdf, html) + Counter(heading)
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]
    assert len(pages) >= 3
    heading = heading[1]
    # The found-data table runs onto the next page and its heading row comes with it.
    first_table_pages = [text for text in pages if "table_" in text]
    assert len(first_table_pages) == 2
    assert all(heading in text for text in first_table_pages)
    assert f"Page 1 / {len(pages)}" in pages[0] or f"Side 1 / {len(pages)}" in pages[0]


@pytest.mark.parametrize("heads", ["table", "paragraph"])
def test_a_heading_never_ends_a_page_without_what_it_heads(heads):
    letter = letter_html("refused", sample_context("refused", "en"), "en")
    rows = "".join(f"<tr><td>Row {n}</td><td>{n}</td></tr>" for n in range(8))
    headed = (
        f'<table><thead><tr><th>Data</th><th class="count">Records</th></tr></thead><tbody>{rows}</tbody></table>'
        if heads == "table"
        else "<p>" + "The first lines under the heading. " * 12 + "</p>"
    )
    # Filler moves the heading down the first page a line at a time, until it has passed the page's end.
    for lines in range(25, 50):
        html = letter.replace("<h1>", "<p>Filler</p>" * lines + f"<h2>The heading</h2>{headed}<h1>", 1)

        pages = [page.extract_text() for page in PdfReader(io.BytesIO(letter_render(html))).pages]

        [on_page] = [number for number, text in enumerate(pages) if "The heading" in text]
        after = pages[on_page].split("The heading", 1)[1]
        assert ("Row 0" if heads == "table" else "The first lines") in after, (lines, pages[on_page][-300:])


def test_text_that_looks_like_markup_is_printed_as_written():
    context = sample_context("refused", "en")
    context["reasons"] = 'Line one <b>not bold</b> & "quoted"\nLine two'
    context["request"] = {**context["request"], "name": "Ida <i>Jensen</i> & Co"}

    text = pdf_text(letter_render(letter_html("refused", context, "en")))

    assert 'Line one <b>not bold</b> & "quoted"\nLine two' in text  # the staff's lines as written
    assert "Ida <i>Jensen</i> & Co" in text


@pytest.mark.parametrize(
    "name",
    ["王秀英", "محمد الأحمد", "Jose\u0301 Garcia"],  # no glyph in DejaVu Sans; right to left; a combining accent
)
def test_a_name_the_layout_cannot_set_is_rendered_by_weasyprint_with_the_name_in_it(name):
    context = sample_context("completed", "en")
    context["request"] = {**context["request"], "name": name}
    html = letter_html("erasure_confirmation", context, "en")

    with pytest.raises(LayoutUnsupported):
        letter_render(html)
    pdf = letter_pdf_render(html)

    assert "WeasyPrint" in _producer(pdf)
    assert "Confirmation of the erasure of your personal data" in pdf_text(pdf)


def test_markup_the_letters_never_use_is_declined_and_rendered_by_weasyprint():
    html = letter_html("refused", sample_context("refused", "en"), "en").replace(
        "<h1>", '<blockquote>A quote</blockquote><h1 class="headline">'
    )

    with pytest.raises(LayoutUnsupported, match="blockquote"):
        letter_render(html)
    pdf = letter_pdf_render(html)

    assert "WeasyPrint" in _producer(pdf)
    assert "A quote" in pdf_text(pdf)


def test_reasons_longer_than_a_page_are_rendered_whole_by_weasyprint():
    context = sample_context("refused", "en")
    context["reasons"] = "\n".join(f"Reason line {n}" for n in range(1, 121))
    html = letter_html("refused", context, "en")

    with pytest.raises(LayoutUnsupported):
        letter_render(html)
    text = pdf_text(letter_pdf("refused", context, "en"))

    assert "Reason line 1\n" in text
    assert "Reason line 120" in text


def test_a_project_that_restyles_the_letters_gets_its_own_stylesheet_through_weasyprint(tmp_path, settings):
    stylesheet = tmp_path / "dsr" / "letters" / "letter.css"
    stylesheet.parent.mkdir(parents=True)
    stylesheet.write_text("@page { size: A5; } body { font-family: 'DejaVu Serif'; }")
    templates = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    html = letter_html("refused", sample_context("refused", "en"), "en")
    pdf_module.letter_stylesheet_shipped.cache_clear()
    pdf_module._stylesheet.cache_clear()
    try:
        with override_settings(TEMPLATES=templates):
            pdf = letter_pdf_render(html)
    finally:
        pdf_module.letter_stylesheet_shipped.cache_clear()
        pdf_module._stylesheet.cache_clear()

    assert "WeasyPrint" in _producer(pdf)
    width, height = PdfReader(io.BytesIO(pdf)).pages[0].mediabox.upper_right
    assert (round(float(width)), round(float(height))) == (420, 595)  # A5, as the project's stylesheet says
    assert "ReportLab" in _producer(letter_pdf_render(html))  # the shipped stylesheet again


def test_a_defect_in_the_layout_still_sends_the_letter_through_weasyprint_and_is_logged(monkeypatch, caplog):
    def broken(html):
        raise ZeroDivisionError("a defect")

    monkeypatch.setattr(pdf_module, "letter_render", broken)
    html = letter_html("refused", sample_context("refused", "en"), "en")

    with caplog.at_level(logging.ERROR, logger="dsr.pdf"):
        pdf = letter_pdf_render(html)

    assert "WeasyPrint" in _producer(pdf)
    assert "The letter layout failed" in caplog.text


def _drawn(pdf: bytes) -> list[tuple]:
    """Every run of text a PDF draws: page, text, position (to a hundredth of a point), font and size."""
    runs = []
    for number, page in enumerate(PdfReader(io.BytesIO(pdf)).pages):

        def visit(text, cm, tm, font, size, number=number):
            if text.strip():
                x, y = tm[4] * cm[0] + cm[4], tm[5] * cm[3] + cm[5]
                runs.append((number, text.strip(), round(x, 2), round(y, 2), (font or {}).get("/BaseFont"), size))

        page.extract_text(visitor_text=visit)
    return runs


def _base_font(run: tuple) -> tuple:
    # A subset's name carries a random-looking prefix per document (ABCDEF+DejaVuSans): the face is what counts.
    return (*run[:4], str(run[4]).split("+")[-1], run[5])


@pytest.mark.parametrize("document", ["erasure_confirmation", "report"])
def test_table_cells_drawn_as_plain_lines_land_exactly_where_paragraphs_put_them(document, monkeypatch):
    from dsr import letter_layout

    if document == "report":
        html = _report_html("en")
    else:
        html = letter_html(document, sample_context("completed", "da"), "da")
    drawn_plain = []
    monkeypatch.setattr(letter_layout.PlainLine, "draw", _counting(letter_layout.PlainLine.draw, drawn_plain))
    plain = letter_render(html)
    monkeypatch.setattr(letter_layout.layout, "plain_or_paragraph", letter_layout.paragraph)

    paragraphs = letter_render(html)

    assert len(drawn_plain) > 10  # the cells did go the plain way
    assert [_base_font(run) for run in _drawn(plain)] == [_base_font(run) for run in _drawn(paragraphs)]


def _counting(draw, calls: list):
    def counted(self):
        calls.append(self.text)
        return draw(self)

    return counted


def test_a_cell_too_long_for_its_column_wraps_as_a_paragraph_and_keeps_every_word():
    letter = letter_html("refused", sample_context("refused", "en"), "en")
    long = " ".join(f"word{n}" for n in range(60))
    table = (
        '<table><thead><tr><th>Data</th><th class="count">Records</th></tr></thead>'
        f"<tbody><tr><td>{long}</td><td>7</td></tr><tr><td>Short</td><td>8</td></tr></tbody></table>"
    )
    html = letter.replace("<h1>", f"{table}<h1>", 1)

    runs = _drawn(letter_render(html))

    words = [word for run in runs for word in run[1].split() if word.startswith("word")]
    assert words == [f"word{n}" for n in range(60)]
    lines = {run[3] for run in runs if run[1].startswith("word")}
    assert len(lines) >= 3  # wrapped over several lines of the column
    (below,) = [run[3] for run in runs if run[1] == "Short"]
    assert below < min(lines)  # the next row starts below the last of them


@pytest.mark.parametrize("cell", ["<strong>Bold</strong> text", "No\u00a0break", "Soft\u00adhyphen"])
def test_a_cell_with_markup_a_no_break_space_or_a_soft_hyphen_stays_a_paragraph(cell):
    from reportlab.platypus import Paragraph

    from dsr.letter_layout import Node, PlainLine, html_tree, plain_or_paragraph

    assert isinstance(plain_or_paragraph(Node("td", {}, ["Plain text"]), "cell"), PlainLine)

    (table,) = html_tree(f"<table><tr><td>{cell}</td></tr></table>").elements()
    assert isinstance(plain_or_paragraph(table.elements()[0].elements()[0], "cell"), Paragraph)
