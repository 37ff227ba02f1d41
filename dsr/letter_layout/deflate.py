"""The letters' PDF streams deflated at zlib level 3 instead of 6: a sixth of a letter's CPU is ReportLab's zlib.

Level 3 costs about 3 % in size (a letter 49 KB → 50 KB) for 6 % of a letter's time. ReportLab has no setting for
the level: its one Flate filter object, ``reportlab.pdfbase.pdfdoc.PDFZCompress``, is read by the page and font
streams as they are written. It is replaced once by a filter that asks a context variable for the level, which is
zlib's default except inside ``deflate_level``: other threads, other renders and any other use of ReportLab in the
process compress exactly as before.
"""

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from reportlab.pdfbase import pdfdoc

LETTER_LEVEL = 3
_level: ContextVar[int] = ContextVar("dsr_letter_deflate_level", default=zlib.Z_DEFAULT_COMPRESSION)


class _LevelledFlate(pdfdoc.PDFStreamFilterZCompress):
    def encode(self, text):
        if isinstance(text, str):
            text = text.encode("utf8")
        return zlib.compress(text, _level.get())


if not isinstance(pdfdoc.PDFZCompress, _LevelledFlate):
    pdfdoc.PDFZCompress = _LevelledFlate()


@contextmanager
def deflate_level(level: int) -> Iterator[None]:
    """Deflate the PDF streams ReportLab writes in this thread (or task) at ``level`` until the block ends."""
    token = _level.set(level)
    try:
        yield
    finally:
        _level.reset(token)
