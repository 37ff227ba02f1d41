"""Authenticated encryption of files of any size, in fixed-size chunks, so memory stays flat.

A sealed file is a 40-byte header followed by chunks. Each chunk is
AES-256-GCM with a key derived for this file alone (HKDF-SHA256 over the
master key and the file's random salt) and a nonce made of the file's random
prefix, the chunk's number and a flag set on the last chunk only (the "STREAM"
construction of Hoang, Reyhanitabar, Rogaway and Vizár, 2015). So a changed,
reordered, dropped or appended chunk, and a file cut short, all fail to open.
The header is authenticated as associated data of every chunk.

    header = b"DSRS" | version (1) | key id (8) | salt (16) | nonce prefix (7) | chunk size (4)

Chunks can be opened in any order, so a sealed ZIP can be read with seeks
(SealedReader) as well as streamed (plaintext_chunks).
"""

import base64
import hashlib
import io
import os
import struct
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MAGIC = b"DSRS"
VERSION = 1
HEADER = struct.Struct(">4sB8s16s7sI")
HEADER_SIZE = HEADER.size  # 40
TAG_SIZE = 16
CHUNK_SIZE = 64 * 1024


class SealError(Exception):
    """A sealed file is damaged, was tampered with, or was sealed with a key we do not have."""


def key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"dsr.exports.key-id" + key).digest()[:8]


def _key_decode(value: str, *, name: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(value.strip() + "=" * (-len(value.strip()) % 4))
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ImproperlyConfigured(
            f"{name} must be 32 random bytes in URL-safe base64 (e.g. the output of "
            "python -c 'import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')."
        )
    return key


def master_keys() -> list[bytes]:
    """Return the bundle keys: the one that seals first, then older ones that may still open files."""
    if settings.DSR_BUNDLE_KEY:
        current = _key_decode(settings.DSR_BUNDLE_KEY, name="DSR_BUNDLE_KEY")
    else:
        # Without a key of its own, one is derived from SECRET_KEY: rotating SECRET_KEY then makes
        # stored bundles unreadable (they are rebuilt on request; docs/exports.md).
        current = hashlib.sha256(b"dsr.exports.bundle-key\x00" + settings.SECRET_KEY.encode()).digest()
    old = [_key_decode(value, name="DSR_BUNDLE_KEYS_OLD") for value in settings.DSR_BUNDLE_KEYS_OLD if value]
    return [current, *old]


def _file_key(master: bytes, salt: bytes) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"dsr sealed file v1").derive(master)
    return AESGCM(derived)


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    if counter >= 2**32:
        raise SealError("the file is too large to seal (more than 2^32 chunks)")
    return prefix + struct.pack(">I?", counter, last)


class SealedWriter(io.RawIOBase):
    """A write-only file object that seals what is written to ``out``; close() writes the last chunk.

    It reports tell() but cannot seek, so zipfile writes a ZIP into it as a stream.
    ``key`` is the master key (default: the bundle key); an ephemeral key seals temporary files.
    """

    def __init__(self, out: BinaryIO, *, key: bytes | None = None, chunk_size: int = CHUNK_SIZE):
        super().__init__()
        master = key if key is not None else master_keys()[0]
        salt, prefix = os.urandom(16), os.urandom(7)
        self._header = HEADER.pack(MAGIC, VERSION, key_id(master), salt, prefix, chunk_size)
        self._aead = _file_key(master, salt)
        self._prefix = prefix
        self._chunk_size = chunk_size
        self._out = out
        self._buffer = bytearray()
        self._counter = 0
        self._written = 0
        self.sealed_size = HEADER_SIZE
        out.write(self._header)

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if self.closed:
            raise ValueError("write to a closed sealed file")
        self._buffer += data
        size = self._chunk_size
        # Hold back at least one byte: the last chunk is only known at close().
        while len(self._buffer) > size:
            self._emit(bytes(self._buffer[:size]), last=False)
            del self._buffer[:size]
        self._written += len(data)
        return len(data)

    def _emit(self, chunk: bytes, *, last: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._prefix, self._counter, last), chunk, self._header)
        self._out.write(sealed)
        self.sealed_size += len(sealed)
        self._counter += 1

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        if not self.closed:
            self._out.flush()

    def close(self) -> None:
        if not self.closed:
            self._emit(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._out.flush()
        super().close()


class SeekableReader(io.RawIOBase):
    """A read-only raw file of ``_length()`` bytes whose position the reader moves (subclasses read)."""

    _position = 0

    def _length(self) -> int:
        raise NotImplementedError

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._length()}[whence]
        self._position = max(0, base + offset)
        return self._position


class SealedReader(SeekableReader):
    """A read-only, seekable file object over a sealed file; every chunk is authenticated before use."""

    def __init__(self, source: BinaryIO, *, size: int, keys: list[bytes] | None = None):
        super().__init__()
        source.seek(0)
        header = source.read(HEADER_SIZE)
        if len(header) != HEADER_SIZE:
            raise SealError("the file is shorter than a sealed file's header")
        magic, version, kid, salt, prefix, chunk_size = HEADER.unpack(header)
        if magic != MAGIC or version != VERSION or not 0 < chunk_size <= 2**24:
            raise SealError("the file is not a sealed file of a version this code reads")
        master = next((key for key in (keys or master_keys()) if key_id(key) == kid), None)
        if master is None:
            raise SealError("the file was sealed with a key that is not configured (DSR_BUNDLE_KEY)")
        body = size - HEADER_SIZE
        sealed_chunk = chunk_size + TAG_SIZE
        self._chunks = max(1, -(-body // sealed_chunk))
        last_sealed = body - (self._chunks - 1) * sealed_chunk
        if last_sealed < TAG_SIZE:
            raise SealError("the file was cut short")
        self._header = header
        self._aead = _file_key(master, salt)
        self._prefix = prefix
        self._chunk_size = chunk_size
        self._source = source
        self.plain_size = (self._chunks - 1) * chunk_size + last_sealed - TAG_SIZE
        self._position = 0
        self._cached: tuple[int, bytes] | None = None

    def _chunk(self, index: int) -> bytes:
        if self._cached and self._cached[0] == index:
            return self._cached[1]
        sealed_chunk = self._chunk_size + TAG_SIZE
        self._source.seek(HEADER_SIZE + index * sealed_chunk)
        sealed = self._source.read(sealed_chunk)
        last = index == self._chunks - 1
        try:
            plain = self._aead.decrypt(_nonce(self._prefix, index, last), sealed, self._header)
        except InvalidTag:
            raise SealError(f"chunk {index} does not authenticate: the file was changed or cut") from None
        self._cached = (index, plain)
        return plain

    def close(self) -> None:
        """Close the sealed file as well (a reader owns the source it was given)."""
        if not self.closed:
            self._source.close()
            self._cached = None
        super().close()

    def chunks(self) -> Iterator[bytes]:
        """Yield the plaintext chunk by chunk, from the start."""
        for index in range(self._chunks):
            yield self._chunk(index)

    def _length(self) -> int:
        return self.plain_size

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._position < self.plain_size:
            index, offset = divmod(self._position, self._chunk_size)
            chunk = self._chunk(index)
            piece = chunk[offset : offset + len(view) - done]
            if not piece:
                break
            view[done : done + len(piece)] = piece
            done += len(piece)
            self._position += len(piece)
        return done


def sealed_open(source: BinaryIO, *, size: int, keys: list[bytes] | None = None) -> io.BufferedReader:
    """Return a buffered, seekable reader of the plaintext of the sealed file ``source``."""
    return io.BufferedReader(SealedReader(source, size=size, keys=keys), buffer_size=CHUNK_SIZE)
