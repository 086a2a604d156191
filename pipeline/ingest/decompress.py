"""Reading a log file whole or compressed: its bytes after decompression.

In: an input file (plain, gzip or zstd, the members or frames one after another as the
tools write them). Out: a reader that decompresses into buffers the caller owns
(``open_decompressed``), or the same bytes in blocks (``decompressed_blocks``); each read
of the file told to a listener (the progress bar); a clear error naming the file when an
archive is damaged, cut or empty.
"""

from __future__ import annotations

import contextlib
import gzip
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

import zstandard
from isal import isal_zlib

from pipeline.errors import ForensicsError

READ_BYTES = 1 << 20
"""Compressed bytes taken from the file at a time, at most (the progress bar moves as
often)."""


class Decompressed(Protocol):
    """A file's bytes after decompression, read into a caller's buffer: fewer bytes than
    the buffer holds do not mean the end; 0 does."""

    def readinto(self, buffer: memoryview) -> int: ...


@contextlib.contextmanager
def open_decompressed(path: Path, compression: str, name: str,
                      read: Callable[[int], None] | None = None,
                      read_bytes: int = READ_BYTES) -> Iterator[Decompressed]:
    """The file ``path`` (called ``name`` in errors) opened for reading after
    decompression, ``read_bytes`` of a compressed file at a time; ``read`` hears how many
    bytes of the file each read took."""
    with open(path, "rb") as opened:
        raw = _Counted(opened, read)
        if compression == "gzip":
            yield _Gunzip(raw, name, read_bytes)
        elif compression == "zstd":
            yield _Chunks(_unzstd(raw, name, read_bytes))
        else:
            yield raw


def decompressed_blocks(path: Path, compression: str, name: str, block_bytes: int,
                        read: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """The file's bytes after decompression, in blocks of at most ``block_bytes``, each a
    copy of its own: for readers that keep blocks or read only the first."""
    buffer = memoryview(bytearray(block_bytes))
    with open_decompressed(path, compression, name, read, min(block_bytes, READ_BYTES)
                           ) as source:
        while size := fill(source, buffer):
            yield bytes(buffer[:size])


def fill(source: Decompressed, buffer: memoryview) -> int:
    """Read ``source`` into ``buffer`` until it is full or the file ends: the bytes read."""
    size = 0
    while size < len(buffer) and (got := source.readinto(buffer[size:])):
        size += got
    return size


class _Counted:
    """A file whose reads are told to ``heard`` (their sizes), for the progress bar."""

    def __init__(self, raw: BinaryIO, heard: Callable[[int], None] | None) -> None:
        self.raw, self.heard = raw, heard
        self.total = 0

    def readinto(self, buffer: memoryview) -> int:
        size = self.raw.readinto(buffer)
        self.total += size
        if self.heard is not None:
            self.heard(size)
        return size

    def read(self, size: int) -> bytes:
        data = self.raw.read(size)
        self.total += len(data)
        if self.heard is not None:
            self.heard(len(data))
        return data


class _Gunzip:
    """Gzip inflated by ISA-L straight into the caller's buffer, member after member and
    past zero padding, as ``gzip`` reads a file.

    ``isal_zlib._GzipReader`` is the C reader behind ``isal.igzip`` (whose public file
    class wraps it in a buffered reader, which cost the `seedday` file 4 s more of kernel
    time). It inflates into the buffer given, where ``decompress`` returned new bytes
    objects that were then joined into a block: on that file (1.27 GB of gzip, 3.87 GB of
    text) 16.8 s before, 8 s this way (python-isal 1.9, pinned in the lock).
    """

    def __init__(self, raw: _Counted, name: str, read_bytes: int) -> None:
        self.raw, self.name = raw, name
        self.reader = isal_zlib._GzipReader(raw, read_bytes)

    def readinto(self, buffer: memoryview) -> int:
        try:
            size = self.reader.readinto(buffer)
        except EOFError:
            raise ForensicsError(f"{self.name}: gzip stream ends before its last member"
                                 ) from None
        except (isal_zlib.error, gzip.BadGzipFile) as err:
            raise ForensicsError(f"{self.name}: not a readable gzip file ({err})") from err
        if not size and not self.raw.total:
            raise ForensicsError(f"{self.name}: not a gzip file (no member; 0 bytes?)")
        return size


class _Chunks:
    """Blocks of bytes read as a file: for the zstd frames, copied into the caller's
    buffer."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks, self.rest = chunks, memoryview(b"")

    def readinto(self, buffer: memoryview) -> int:
        if not self.rest:
            self.rest = memoryview(next(self.chunks, b""))
        size = min(len(buffer), len(self.rest))
        buffer[:size] = self.rest[:size]
        self.rest = self.rest[size:]
        return size


def _unzstd(raw: _Counted, name: str, block_bytes: int) -> Iterator[bytes]:
    """Zstandard frame after frame: a stream reader stops quietly where a file was cut at
    a block boundary (104 of 254 rows kept, none quarantined), so each frame is
    decompressed by its own object and a frame that never ends stops the run."""
    context = zstandard.ZstdDecompressor()
    frame, open_frame, frames = context.decompressobj(), False, 0
    try:
        while chunk := raw.read(block_bytes):
            data = chunk
            while data:
                out = frame.decompress(data)
                open_frame = True
                if out:
                    yield out
                if not frame.eof:
                    break
                data, frame, open_frame = frame.unused_data, context.decompressobj(), False
                frames += 1
    except zstandard.ZstdError as err:
        raise ForensicsError(f"{name}: not a readable zstd file ({err})") from err
    if open_frame:
        raise ForensicsError(f"{name}: zstd stream ends before its last frame")
    if not frames:
        raise ForensicsError(f"{name}: not a zstd file (no frame; 0 bytes?)")
