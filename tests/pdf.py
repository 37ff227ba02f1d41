"""Reading the text of the PDFs dsr makes (letters, reports), in pure Python: no system tool needed.

``pdf_pages_rasterised`` alone needs poppler's pdftoppm (Debian: poppler-utils, which `make test` installs), for
comparing pages pixel by pixel.
"""

import io
import shutil
import subprocess
import tempfile
from pathlib import Path

from PIL import Image
from pypdf import PdfReader

PDFTOPPM = shutil.which("pdftoppm")


def pdf_text(data: bytes) -> str:
    """Return a PDF's text in the order it is drawn (reading order for dsr's documents), page after page."""
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def pdf_words(data: bytes) -> str:
    """Return a PDF's text with whitespace collapsed to single spaces, for phrase checks across line breaks."""
    return " ".join(pdf_text(data).split())


def pdf_pages_rasterised(data: bytes, dpi: int = 100) -> list[Image.Image]:
    """Return each page of a PDF as an RGB image, as pdftoppm draws it at ``dpi``."""
    assert PDFTOPPM, "pdftoppm is missing: `bash .ci/system-packages test` installs poppler-utils"
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "document.pdf"
        source.write_bytes(data)
        subprocess.run([PDFTOPPM, "-r", str(dpi), "-png", source, Path(folder) / "page"], check=True)
        return [Image.open(page).convert("RGB") for page in sorted(Path(folder).glob("page-*.png"))]
