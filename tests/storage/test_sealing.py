"""Sealed files: what goes in comes out, and any change, cut or wrong key is refused."""

import io
import os
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsr.storage.sealing import HEADER_SIZE, SealedWriter, SealError, sealed_open

KEY = os.urandom(32)


def _seal(data: bytes, *, chunk_size: int = 64) -> bytes:
    out = io.BytesIO()
    writer = SealedWriter(out, key=KEY, chunk_size=chunk_size)
    for start in range(0, len(data), 37):
        writer.write(data[start : start + 37])
    writer.close()
    return out.getvalue()


def _open(sealed: bytes, *, keys=None) -> bytes:
    with sealed_open(io.BytesIO(sealed), size=len(sealed), keys=keys or [KEY]) as plain:
        return plain.read()


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=700), st.sampled_from([1, 16, 64, 100]))
def test_round_trip_at_any_size_and_chunk_size(data, chunk_size):
    assert _open(_seal(data, chunk_size=chunk_size)) == data


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=1, max_size=400), st.data())
def test_any_changed_byte_is_refused(data, draw):
    sealed = bytearray(_seal(data))
    position = draw.draw(st.integers(min_value=0, max_value=len(sealed) - 1))
    sealed[position] ^= 0x01
    with pytest.raises(SealError):
        _open(bytes(sealed))


@pytest.mark.parametrize("cut", [1, 16, 64 + 16, 64 + 16 + 5])
def test_a_file_cut_short_is_refused_even_at_a_chunk_boundary(cut):
    sealed = _seal(os.urandom(64 * 3 + 10))
    with pytest.raises(SealError):
        _open(sealed[:-cut])


def test_chunks_swapped_are_refused():
    sealed = _seal(os.urandom(64 * 3))
    body = sealed[HEADER_SIZE:]
    size = 64 + 16
    swapped = sealed[:HEADER_SIZE] + body[size : 2 * size] + body[:size] + body[2 * size :]
    with pytest.raises(SealError):
        _open(swapped)


def test_a_wrong_key_is_named_as_the_problem():
    with pytest.raises(SealError, match="key that is not configured"):
        _open(_seal(b"secret"), keys=[os.urandom(32)])


def test_an_old_key_still_opens_what_it_sealed():
    assert _open(_seal(b"kept"), keys=[os.urandom(32), KEY]) == b"kept"


def test_not_a_sealed_file():
    with pytest.raises(SealError, match="not a sealed file"):
        _open(b"PK\x03\x04" + b"\x00" * 60)


def test_the_bundle_key_must_be_32_bytes(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.DSR_BUNDLE_KEY = "too-short"
    with pytest.raises(ImproperlyConfigured, match="32 random bytes"):
        SealedWriter(io.BytesIO())


def test_a_zip_streams_in_and_reads_back_with_seeks():
    out = io.BytesIO()
    writer = SealedWriter(out, key=KEY)
    with zipfile.ZipFile(writer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.txt", "æøå" * 50_000)
        archive.writestr("b.bin", os.urandom(200_000))
    writer.close()
    sealed = out.getvalue()
    with sealed_open(io.BytesIO(sealed), size=len(sealed), keys=[KEY]) as plain, zipfile.ZipFile(plain) as archive:
        assert archive.testzip() is None
        assert archive.read("a.txt").decode() == "æøå" * 50_000
    # The sealed bytes give nothing of the plaintext away.
    assert "æøå".encode() not in out.getvalue()


def test_closing_the_reader_closes_the_sealed_file():
    source = io.BytesIO(_seal(b"data"))
    reader = sealed_open(source, size=len(source.getvalue()), keys=[KEY])
    assert reader.read() == b"data"
    reader.close()
    assert source.closed
