"""Reading the text of the PDFs dsr makes (letters, reports), in pure Python: no system tool needed."""

import io

from pypdf import PdfReader


def pdf_text(data: bytes) -> str:
    """Return a PDF's text in the order it is drawn (reading order for dsr's documents), page after page."""
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def pdf_words(data: bytes) -> str:
    """Return a PDF's text with whitespace collapsed to single spaces, for phrase checks across line breaks."""
    return " ".join(pdf_text(data).split())
