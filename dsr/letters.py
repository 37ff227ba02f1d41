"""Formal letters as PDF (dsr.pdf.letter_pdf_render): refusal, extension, fee and erasure confirmation.

The emails carry the same message in plain words; the letter is the record a
person can keep, print or show to Datatilsynet. Templates live in
templates/dsr/letters/<kind>.<language>.html and share _letter.html and its stylesheet letter.css.
"""

from datetime import date

from django.template.loader import render_to_string
from django.utils import timezone, translation

from dsr.jurisdictions import jurisdiction_context, profile_default_code
from dsr.pdf import letter_pdf_render

LETTER_KINDS = ("refused", "extended", "erasure_confirmation", "fee")
LETTER_LANGUAGES = ("da", "en")


def letter_kind_for(message_kind: str, *, right: str, has_outcome: bool) -> str | None:
    """Return the letter that goes with an email of ``message_kind``, or None: the one rule emails and pages share."""
    if message_kind in ("refused", "extended", "fee"):
        return message_kind
    if message_kind in ("completed", "partially_completed") and right == "erasure" and has_outcome:
        return "erasure_confirmation"
    return None


def letter_html(kind: str, context: dict, language: str, *, today: date | None = None) -> str:
    """Return the letter's HTML; raise ValueError for an unknown kind or language."""
    if kind not in LETTER_KINDS:
        raise ValueError(f"Unknown letter {kind!r}; choose one of: {', '.join(LETTER_KINDS)}.")
    if language not in LETTER_LANGUAGES:
        raise ValueError(f"Letters are written in {' or '.join(LETTER_LANGUAGES)}, not {language!r}.")
    letter_date = today or context.get("letter_date") or timezone.localdate()
    if "law" not in context:
        # The law of the request (dsr/jurisdictions/): its authority's clause, periods and legal basis.
        code = getattr(context.get("request"), "jurisdiction", "") or profile_default_code()
        context = {**jurisdiction_context(code, language), **context}
    with translation.override(language):
        return render_to_string(f"dsr/letters/{kind}.{language}.html", {**context, "letter_date": letter_date})


def letter_pdf(kind: str, context: dict, language: str, *, today: date | None = None) -> bytes:
    """Render the formal letter `kind` in `language` as PDF bytes, ready to attach to its email."""
    html = letter_html(kind, context, language, today=today)
    return letter_pdf_render(html)


def letter_filename(kind: str, reference: str, language: str) -> str:
    """Return the attachment's file name, e.g. 'DSR-ABCD-...-afslag.pdf'."""
    names = {
        "da": {"refused": "afslag", "extended": "forlaengelse", "erasure_confirmation": "sletning", "fee": "gebyr"},
        "en": {"refused": "refusal", "extended": "extension", "erasure_confirmation": "erasure", "fee": "fee"},
    }
    return f"{reference}-{names.get(language, names['en']).get(kind, kind)}.pdf"


def letters_warm() -> None:
    """Render the erasure confirmation, the letter every erasure sends, from the sample values, and drop it.

    A worker calls this at start, before its pool forks: the letters' fonts (found through fontconfig and
    parsed) and their templates are then loaded once, not in the first request each pool process handles. No
    database query.
    """
    from dsr.message_samples import sample_context

    for language in LETTER_LANGUAGES:
        letter_pdf("erasure_confirmation", sample_context("completed", language), language)
