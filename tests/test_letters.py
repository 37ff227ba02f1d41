"""Formal letters (dsr.letters): real PDFs from WeasyPrint with what the law requires in them."""

import io
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.utils import timezone
from pypdf import PdfReader

from dsr.exports.bundle import report_context, report_pdf
from dsr.letters import letter_filename, letter_html, letter_pdf
from dsr.models import Request
from tests.pdf import pdf_text

DATATILSYNET = {
    "name": "Datatilsynet",
    "address": "Carl Jacobsens Vej 35, 2500 Valby",
    "phone": "33 19 32 00",
    "email": "dt@datatilsynet.dk",
    "url": "https://www.datatilsynet.dk",
}


@pytest.fixture
def letter_context() -> dict:
    return {
        "request": SimpleNamespace(name="Ida Jensen", email="ida@example.com"),
        "reference": "DSR-7K3Q-9XW2-ABCD-EFGH",
        "right_label": "Access (Art. 15)",
        "deadline": SimpleNamespace(received=date(2026, 3, 5), due=date(2026, 4, 7), effective_due=date(2026, 6, 5)),
        "controller": {
            "name": "Madkassen A/S",
            "address": "Vestergade 1, 1456 København K",
            "cvr": "12345678",
            "email": "privacy@madkassen.dk",
            "phone": "70 10 10 10",
            "dpo_email": "dpo@madkassen.dk",
            "authority": DATATILSYNET,
        },
        "reasons": "You sent the same request four times in two weeks.",
        "ground_label": "Excessive, in particular repetitive (Art. 12(5))",
        "outcome": _outcome_view(),
        "recipients": ["PostNord"],
    }


def _outcome_view(**changes) -> dict:
    """Return an erasure outcome as dsr.rights.outcome.outcome_view gives it to a letter."""
    view = {
        "right": "erasure",
        "found": True,
        "changed": True,
        "erased": [{"source": "Webshop", "table": "address", "count": 2, "item": ""}],
        "anonymised": [{"source": "Webshop", "table": "customer", "count": 1, "item": ""}],
        "already_done": [],
        "kept": [
            {
                "source": "Webshop",
                "table": "Invoices",
                "count": 3,
                "item": "",
                "hold": "Bookkeeping obligation",
                "law": "Bookkeeping Act § 10",
                "until": date(2031, 12, 31),
                "ended": False,
                "minimised": 0,
            }
        ],
        "shared": [],
        "changed_rows": [],
        "unchanged_rows": [],
        "by_hand": [],
        "processors": [],
        "records": [],
        "nothing_found": [],
        "nothing_found_elsewhere": [],
        "not_finished": [],
        "items": [],
        "notified": ["PostNord"],
        "minimised": 0,
        "searched": ["Webshop"],
        "holding": ["Webshop"],
    }
    view.update(changes)
    return view


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    return pdf_text(pdf)


@pytest.mark.parametrize("language", ["da", "en"])
@pytest.mark.parametrize("kind", ["refused", "extended", "erasure_confirmation"])
def test_every_letter_renders_as_a_pdf_with_controller_reference_and_date(kind, language, letter_context, tmp_path):
    pdf = letter_pdf(kind, letter_context, language, today=date(2026, 3, 20))
    assert pdf.startswith(b"%PDF-")
    text = _pdf_text(pdf, tmp_path)
    assert "Madkassen A/S" in text
    assert "CVR 12345678" in text
    assert "DSR-7K3Q-9XW2-ABCD-EFGH" in text
    assert ("20. marts 2026" if language == "da" else "20 March 2026") in text
    assert "Datatilsynet" in text


def test_refusal_letter_names_the_complaint_and_the_courts_art_12_4(letter_context):
    html = letter_html("refused", letter_context, "en")
    assert "Article 12(4)" in html
    assert "Carl Jacobsens Vej 35" in html
    assert "33 19 32 00" in html
    assert "dt@datatilsynet.dk" in html
    assert "courts (Article 79)" in html
    assert "You sent the same request four times" in html
    assert "Excessive, in particular repetitive" in html


def test_danish_refusal_letter_is_in_danish(letter_context):
    html = letter_html("refused", letter_context, "da")
    assert 'lang="da"' in html
    assert "artikel 12, stk. 4" in html
    assert "indbringe sagen for domstolene" in html


def test_extension_letter_gives_old_and_new_time_limit_and_art_12_3(letter_context):
    html = letter_html("extended", letter_context, "en")
    assert "7 April 2026" in html
    assert "5 June 2026" in html
    assert "Article 12(3)" in html


def test_erasure_confirmation_lists_what_is_kept_why_and_until_when(letter_context):
    html = letter_html("erasure_confirmation", letter_context, "da")
    assert "Invoices" in html
    assert "Bookkeeping Act § 10" in html
    assert "31. december 2031" in html
    assert "PostNord" in html  # GDPR Art. 19


def test_erasure_confirmation_has_no_keep_section_when_nothing_is_kept(letter_context):
    letter_context["outcome"] = _outcome_view(kept=[])
    html = letter_html("erasure_confirmation", letter_context, "en")
    assert "What we must keep" not in html
    assert "What we erased" in html


def test_erasure_confirmation_for_a_person_we_hold_nothing_about_says_so_and_claims_no_erasure(letter_context):
    letter_context["outcome"] = _outcome_view(
        found=False, changed=False, erased=[], anonymised=[], kept=[], notified=[], searched=["Webshop", "Chinook"]
    )
    letter_context["recipients"] = []
    html = letter_html("erasure_confirmation", letter_context, "en")
    assert "found no personal data about you, so there was nothing to erase" in html
    assert "Webshop, Chinook" in html
    assert "What we erased" not in html
    assert "Recipients we have told" not in html


def test_a_kept_row_whose_hold_has_ended_gets_no_date_in_the_letter(letter_context):
    kept = dict(_outcome_view()["kept"][0], until=None, ended=True)
    letter_context["outcome"] = _outcome_view(kept=[kept])
    html = letter_html("erasure_confirmation", letter_context, "da")
    assert "Den periode, loven fastsætter, er udløbet" in html
    assert "2031" not in html


def test_letter_text_is_escaped(letter_context):
    letter_context["reasons"] = "<script>alert(1)</script>"
    html = letter_html("refused", letter_context, "en")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_unknown_kind_or_language_is_refused_with_a_clear_error(letter_context):
    with pytest.raises(ValueError, match="Unknown letter 'receipt'"):
        letter_pdf("receipt", letter_context, "da")
    with pytest.raises(ValueError, match="not 'de'"):
        letter_pdf("refused", letter_context, "de")


def test_attachment_file_name_is_readable_in_each_language():
    assert letter_filename("refused", "DSR-A", "da") == "DSR-A-afslag.pdf"
    assert letter_filename("extended", "DSR-A", "en") == "DSR-A-extension.pdf"


@pytest.mark.parametrize(
    ("language", "heading", "words"),
    [
        ("en", "What we left as it is", "Accounting records, including invoices, are kept for 5 years"),
        ("da", "Det, vi har ladet være", "Regnskabsmateriale opbevares i 5 år"),
    ],
)
def test_erasure_confirmation_names_shared_rows_and_states_an_undated_hold_in_words(
    language, heading, words, letter_context, tmp_path
):
    kept = {**_outcome_view()["kept"][0], "until": None, "rule": words}
    letter_context["outcome"] = _outcome_view(
        kept=[kept],
        shared=[
            {"source": "Webshop", "table": "address", "count": 1, "item": "", "unlinked": 0},
            {"source": "Webshop", "table": "household", "count": 1, "item": "", "unlinked": 1},
        ],
    )
    html = letter_html("erasure_confirmation", letter_context, language)
    assert heading in html
    assert "Webshop: address (1)</li>" in html
    unlinked = "your own records no longer point at them" if language == "en" else "dine egne oplysninger peger ikke"
    assert f"Webshop: household (1); {unlinked}" in html
    assert words in html
    text = _pdf_text(letter_pdf("erasure_confirmation", letter_context, language, today=date(2026, 3, 20)), tmp_path)
    assert heading in text


def _fonts_used(pdf: bytes) -> set[str]:
    """Return the names of the fonts a PDF's pages draw with, without their subset prefix."""
    fonts = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]).lstrip("/").split("+")[-1].replace("-", ""))
    return fonts


@pytest.mark.parametrize(("language", "footer"), [("da", "Side 1 / 2"), ("en", "Page 1 / 2")])
def test_a_letter_keeps_its_typeface_and_its_footer_with_controller_and_page_count(
    language, footer, letter_context, tmp_path
):
    pdf = letter_pdf("erasure_confirmation", letter_context, language, today=date(2026, 3, 20))

    # The letters' typeface, and only it: not a default serif or Helvetica.
    assert {"DejaVuSans", "DejaVuSansBold"} <= _fonts_used(pdf) <= {"DejaVuSans", "DejaVuSansBold", "DejaVuSansOblique"}
    text = _pdf_text(pdf, tmp_path)
    assert "Madkassen A/S · CVR 12345678" in text
    assert footer in text


def _report_information() -> dict:
    """Return the Art. 15 information of a person found in two systems, as dsr.exports.art15 gives it."""

    def table(name: str, records: int) -> dict:
        return {"name": name, "records": records, "categories": ["Contact data"], "files": []}

    return {
        "found": True,
        "sources": [
            {"name": "Web shop", "origin": "From you", "tables": [table("customer", 1), table("orders", 3)]},
            {"name": "CRM", "origin": "From you", "tables": [table("customer", 1), table("address", 2)]},
        ],
        "purposes": [{"name": "Purchases", "legal_bases": ["contract"], "categories": ["Contact data"]}],
        "categories": [{"name": "Contact data"}],
        "recipients": [],
        "controller": {"name": "Madkassen A/S"},
        "authority": DATATILSYNET,
        "history": [],
    }


def test_report_names_each_system_once_above_the_data_found_in_it(letter_context):
    request = Request(reference="DSR-7K3Q-9XW2-ABCD-EFGH", email="ida@example.com", language="en", right="access")
    context = {
        **report_context(request, _report_information(), manifest=[], when=timezone.now()),
        "controller": letter_context["controller"],
    }

    text = pdf_text(report_pdf(context, "en"))
    lines = text.splitlines()

    assert lines.count("Web shop") == 1
    assert lines.count("CRM") == 1
    # Each system's tables under its name, each with its number of records beside it.
    found = " ".join(text[text.index("Web shop") :].split())
    assert found.startswith(
        "Web shop customer (Contact data) 1 orders (Contact data) 3 "
        "CRM customer (Contact data) 1 address (Contact data) 2"
    )
