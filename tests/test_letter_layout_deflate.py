"""The letters' PDF streams are deflated at level 3 (dsr.letter_layout.deflate), and nothing else's is."""

import base64
import re
import threading
import zlib

from reportlab.pdfbase import pdfdoc

from dsr.letter_layout import letter_render
from dsr.letter_layout.deflate import LETTER_LEVEL, deflate_level
from dsr.letters import letter_html
from dsr.message_samples import sample_context
from tests.pdf import pdf_words

STREAM = re.compile(rb"<<([^<>]*)>>\s*stream\n(.*?)endstream", re.DOTALL)
SAMPLE = b"BT /F1 10 Tf 12 TL 70 770 Td (Confirmation of the erasure of your personal data) Tj T* ET\n" * 200


def _streams(pdf: bytes) -> list[tuple[bytes, bytes]]:
    """Each deflated stream of a PDF: as written, and inflated."""
    found = []
    for dictionary, written in STREAM.findall(pdf):
        if b"/FlateDecode" not in dictionary:
            continue
        if b"/ASCII85Decode" in dictionary:  # the page streams: deflated, then written as ASCII
            written = base64.a85decode(written[: written.index(b"~>")])
        inflater = zlib.decompressobj()
        content = inflater.decompress(written)
        found.append((written[: len(written) - len(inflater.unused_data)], content))
    return found


def test_every_stream_of_a_letter_is_deflated_at_the_letters_level_and_reads_the_same():
    pdf = letter_render(letter_html("erasure_confirmation", sample_context("completed", "en"), "en"))

    streams = _streams(pdf)

    assert len(streams) >= 6  # two pages and the subsets of the faces used
    assert all(written == zlib.compress(content, LETTER_LEVEL) for written, content in streams)
    assert any(zlib.compress(content, LETTER_LEVEL) != zlib.compress(content) for _, content in streams)
    assert "Confirmation of the erasure of your personal data" in pdf_words(pdf)


def test_reportlab_deflates_at_zlibs_default_outside_a_letter():
    with deflate_level(1):
        pass

    assert pdfdoc.PDFZCompress.encode(SAMPLE) == zlib.compress(SAMPLE)
    assert pdfdoc.PDFZCompress.encode(SAMPLE.decode()) == zlib.compress(SAMPLE)


def test_the_level_of_a_render_in_one_thread_is_not_seen_by_another():
    inside, done, seen = threading.Event(), threading.Event(), {}

    def render():
        with deflate_level(1):
            seen["inside"] = pdfdoc.PDFZCompress.encode(SAMPLE)
            inside.set()
            done.wait(10)

    thread = threading.Thread(target=render)
    thread.start()
    inside.wait(10)
    elsewhere = pdfdoc.PDFZCompress.encode(SAMPLE)
    done.set()
    thread.join(10)

    assert seen["inside"] == zlib.compress(SAMPLE, 1) != zlib.compress(SAMPLE)
    assert elsewhere == zlib.compress(SAMPLE)
