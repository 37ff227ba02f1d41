"""Plain lines and once-broken paragraphs (dsr.letter_layout) look and read exactly as ReportLab's Paragraph draws them.

Each document is laid out twice: as it is, and with every line of text a Paragraph broken into lines on every wrap
(the layout before plain lines were drawn directly). The pages must be pixel-identical, draw the same runs of text
at the same places, and read the same to a text extractor.
"""

import io

import pytest
from PIL import ImageChops
from pypdf import PdfReader
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import Paragraph

from dsr import letter_layout
from dsr.letter_layout import LayoutUnsupported, LetterParagraph, PlainLine, glyphs_check, letter_render, styles
from dsr.letters import LETTER_KINDS, LETTER_LANGUAGES, letter_html
from dsr.message_samples import sample_context
from tests.pdf import pdf_pages_rasterised, pdf_text
from tests.test_letter_layout import SAMPLE_MESSAGE, _base_font, _drawn, _report_html

DOCUMENTS = [(kind, language) for kind in [*LETTER_KINDS, "report"] for language in LETTER_LANGUAGES]


def _html(kind: str, language: str) -> str:
    if kind == "report":
        return _report_html(language)
    return letter_html(kind, sample_context(SAMPLE_MESSAGE[kind], language), language)


@pytest.fixture
def as_paragraphs(monkeypatch):
    """Return a function laying out HTML with a Paragraph for every text, each broken into lines on every wrap."""

    def render(html: str) -> bytes:
        with monkeypatch.context() as patched:
            patched.setattr(letter_layout.layout, "plain_or_paragraph", letter_layout.paragraph)
            patched.setattr(LetterParagraph, "wrap", Paragraph.wrap)
            return letter_render(html)

    return render


def _runs(pdf: bytes) -> list[tuple]:
    return [_base_font(run) for run in _drawn(pdf)]


def _pixels_differing(pdf: bytes, reference: bytes) -> list[int]:
    pages, expected = pdf_pages_rasterised(pdf), pdf_pages_rasterised(reference)
    assert len(pages) == len(expected)
    differences = [ImageChops.difference(page, other).convert("L") for page, other in zip(pages, expected, strict=True)]
    return [difference.width * difference.height - difference.histogram()[0] for difference in differences]


@pytest.mark.parametrize(("kind", "language"), DOCUMENTS)
def test_every_document_reads_and_draws_its_text_as_paragraphs_would(kind, language, as_paragraphs):
    html = _html(kind, language)

    pdf, reference = letter_render(html), as_paragraphs(html)

    assert pdf_text(pdf) == pdf_text(reference)
    assert _runs(pdf) == _runs(reference)


@pytest.mark.parametrize(("kind", "language"), DOCUMENTS)
def test_every_document_is_pixel_identical_to_its_paragraphs(kind, language, as_paragraphs):
    html = _html(kind, language)

    differing = _pixels_differing(letter_render(html), as_paragraphs(html))

    assert differing == [0] * len(differing)


def _letter_with(blocks: str) -> str:
    letter = letter_html("refused", sample_context("refused", "en"), "en")
    return letter.replace("<h1>", f"{blocks}<h1>", 1)


def test_a_heading_and_a_paragraph_too_long_for_one_line_wrap_as_paragraphs_do(as_paragraphs):
    heading = " ".join(f"Heading{n}" for n in range(20))
    html = _letter_with(f"<h2>{heading}</h2><p>{'A plain sentence that runs on. ' * 8}</p>")

    pdf = letter_render(html)

    heading_lines = {run[3] for run in _drawn(pdf) if run[1].startswith("Heading")}
    assert len(heading_lines) >= 2
    assert _runs(pdf) == _runs(as_paragraphs(html))


@pytest.mark.parametrize("filler", [30, 38, 44])
def test_a_long_paragraph_and_a_table_of_wrapped_cells_split_over_pages_as_paragraphs_do(filler, as_paragraphs):
    wrapped = " ".join(f"cellword{n}" for n in range(30))
    rows = "".join(f"<tr><td>{wrapped} {n}</td><td>{n}</td></tr>" for n in range(6))
    table = f'<table><thead><tr><th>Data</th><th class="count">Records</th></tr></thead><tbody>{rows}</tbody></table>'
    html = _letter_with("<p>Filler</p>" * filler + f"<p>{'Words of a long paragraph. ' * 40}</p>{table}")

    pdf, reference = letter_render(html), as_paragraphs(html)

    assert len(PdfReader(io.BytesIO(pdf)).pages) >= 2
    assert [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages] == [
        page.extract_text() for page in PdfReader(io.BytesIO(reference)).pages
    ]
    assert _runs(pdf) == _runs(reference)


def test_right_aligned_lines_end_at_the_right_margin():
    html = letter_html("refused", sample_context("refused", "en"), "en")
    contact = sample_context("refused", "en")["controller"]["email"]

    (run,) = [run for run in _drawn(letter_render(html)) if run[1] == contact]

    _, _, x, _, _, size = run
    right = letter_layout.MARGINS[3] + letter_layout.WIDTH
    assert x + pdfmetrics.stringWidth(contact, styles()["contact"].fontName, size) == pytest.approx(right, abs=0.01)


def test_a_paragraph_is_broken_into_lines_once_for_each_width_and_style(monkeypatch):
    broken = []
    monkeypatch.setattr(
        Paragraph,
        "breakLines",
        lambda self, widths, lines=Paragraph.breakLines: broken.append(widths) or lines(self, widths),
    )
    paragraph = LetterParagraph("Some words that will need more than one line at the narrower width", styles()["body"])

    first = paragraph.wrap(300, 800)
    again = paragraph.wrap(300, 500)
    narrower = paragraph.wrap(100, 800)
    paragraph.style = styles()["legal"]
    smaller = paragraph.wrap(100, 800)

    assert len(broken) == 3
    assert first == again
    assert narrower[1] > first[1]
    assert smaller[1] < narrower[1]


def test_a_plain_line_takes_the_space_above_from_its_style():
    (note,) = letter_layout.html_tree("<div>A note</div>").elements()

    line = letter_layout.plain_or_paragraph(note, "note")

    assert isinstance(line, PlainLine)
    assert line.getSpaceBefore() == styles()["note"].spaceBefore > 0


@pytest.mark.parametrize("text", ["Ærø, Øster Søgård & Åbenrå \u2013 “citat” § 10 €", "tab\tand\nnew line"])
def test_text_dejavu_sans_draws_passes_the_glyph_check(text):
    glyphs_check(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("王秀英", "no glyph"),
        ("שלום", "shaping"),
        ("محمد", "shaping"),
        ("Jose\u0301", "shaping"),
    ],
)
def test_text_dejavu_sans_cannot_set_fails_the_glyph_check(text, reason):
    with pytest.raises(LayoutUnsupported, match=reason):
        glyphs_check(f"Ida {text}")


@pytest.mark.parametrize("joiner", ["\u00ad", "\u00a0", "\u200b", " "])  # soft hyphen, no-break space, zero width
def test_a_name_with_a_soft_hyphen_or_an_odd_space_is_drawn_as_paragraphs_draw_it(joiner, as_paragraphs):
    context = sample_context("completed", "en")
    context["request"] = {**context["request"], "name": f"Ida{joiner}Jensen"}
    html = letter_html("erasure_confirmation", context, "en")

    pdf, reference = letter_render(html), as_paragraphs(html)

    assert pdf_text(pdf) == pdf_text(reference)
    assert _runs(pdf) == _runs(reference)
