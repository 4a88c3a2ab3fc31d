"""Bounded decompression of single streams (zip members, gzip/bz2/xz/lzma/zlib files).

Every decoder is fed in chunks and asked for at most the bytes still allowed, so a bomb
stops at the member limit, the ratio limit or the shared budget, whichever comes first.
"""

from __future__ import annotations

import enum
import zlib
from typing import TYPE_CHECKING, NamedTuple

from modeltrust._source.interface import Buffer

if TYPE_CHECKING:  # bz2 and lzma are imported on need: most members are stored or deflated
    import bz2
    import lzma


class Codec(enum.Enum):
    """Compressed stream formats :func:`decompress_bounded` understands."""

    RAW_DEFLATE = "deflate"
    ZLIB = "zlib"
    GZIP = "gzip"
    BZIP2 = "bzip2"
    XZ = "xz"
    LZMA_ALONE = "lzma"
    ZIP_LZMA = "zip-lzma"


class DecodeState(enum.Enum):
    """How a bounded decompression ended."""

    COMPLETE = "complete"
    TRUNCATED = "truncated"
    CORRUPT = "corrupt"
    LIMIT = "limit"


class Decoded(NamedTuple):
    """Output of :func:`decompress_bounded`: data so far, how it ended, where input stopped."""

    data: bytes
    state: DecodeState
    error: str = ""
    end: int = 0
    """Input offset just past the last complete stream (trailing bytes start here)."""
    streams: int = 1


_CHUNK = 1 << 20
_LZMA_MEMLIMIT = 512 * 1024 * 1024
_MULTI_MAGIC = {Codec.GZIP: b"\x1f\x8b", Codec.BZIP2: b"BZh", Codec.XZ: b"\xfd7zXZ\x00"}


def _decode_errors() -> tuple[type[BaseException], ...]:
    """What a decompressor raises on corrupt input (read when an exception is being matched)."""
    import lzma

    return (zlib.error, OSError, lzma.LZMAError, EOFError, ValueError)


class _Decoder:
    """One API over zlib/bz2/lzma decompressors, each asked for at most ``n`` bytes a call."""

    def __init__(self, codec: Codec, props: bytes = b"") -> None:
        self._z: zlib._Decompress | None = None
        self._o: bz2.BZ2Decompressor | lzma.LZMADecompressor | None = None
        if codec in (Codec.RAW_DEFLATE, Codec.ZLIB, Codec.GZIP):
            wbits = {Codec.RAW_DEFLATE: -15, Codec.ZLIB: 15, Codec.GZIP: 31}[codec]
            self._z = zlib.decompressobj(wbits)
        elif codec is Codec.BZIP2:
            import bz2

            self._o = bz2.BZ2Decompressor()
        elif codec is Codec.XZ:
            import lzma

            self._o = lzma.LZMADecompressor(lzma.FORMAT_XZ, _LZMA_MEMLIMIT)
        elif codec is Codec.LZMA_ALONE:
            import lzma

            self._o = lzma.LZMADecompressor(lzma.FORMAT_ALONE, _LZMA_MEMLIMIT)
        else:
            import lzma

            self._o = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[_lzma1_filter(props)])

    def feed(self, data: bytes, n: int) -> bytes:
        if self._z is not None:
            return self._z.decompress(data or self._z.unconsumed_tail, n)
        assert self._o is not None
        return self._o.decompress(data, n)

    @property
    def needs_input(self) -> bool:
        if self._z is not None:
            return not self._z.unconsumed_tail
        assert self._o is not None
        return self._o.needs_input

    @property
    def eof(self) -> bool:
        return (self._z or self._o).eof  # type: ignore[union-attr]

    @property
    def pending(self) -> int:
        return len(self._z.unconsumed_tail) if self._z is not None else -1

    @property
    def unused(self) -> int:
        return len((self._z or self._o).unused_data)  # type: ignore[union-attr]


def _lzma1_filter(props: bytes) -> dict[str, int]:
    """Decode the 5-byte LZMA properties that zip method 14 stores before the stream."""
    if len(props) != 5 or props[0] >= 9 * 5 * 5:
        raise ValueError("bad LZMA properties")
    dict_size = int.from_bytes(props[1:5], "little")
    if dict_size > _LZMA_MEMLIMIT:
        raise ValueError(f"LZMA dictionary of {dict_size} bytes")
    import lzma

    d = props[0]
    return {"id": lzma.FILTER_LZMA1, "dict_size": dict_size, "lc": d % 9,
            "lp": (d // 9) % 5, "pb": d // 45}


def decompress_bounded(
    buf: Buffer, start: int, end: int, codec: Codec, limit: int, *, multistream: bool = False
) -> Decoded:
    """Decompress ``buf[start:end]`` without ever producing more than ``limit`` bytes.

    Input is fed in 1 MiB chunks (no copy of a large mapped file) and each call asks for
    at most the bytes still allowed, so memory and time are bounded by ``limit`` plus the
    input size. With ``multistream`` concatenated streams are followed, as the gzip, bz2
    and lzma file readers (and joblib) do. Never raises on bad input.
    """
    out = bytearray()
    pos, streams, idle = start, 1, 0
    try:
        if codec is Codec.ZIP_LZMA:
            plen = int.from_bytes(bytes(buf[start + 2 : start + 4]), "little")
            dec = _Decoder(codec, bytes(buf[start + 4 : start + 4 + plen]))
            pos = start + 4 + plen
        else:
            dec = _Decoder(codec)
        while True:
            chunk = b""
            if dec.needs_input:
                if pos >= end:
                    return Decoded(bytes(out), DecodeState.TRUNCATED, "stream ends early", pos,
                                   streams)
                chunk = bytes(buf[pos : min(end, pos + _CHUNK)])
                pos += len(chunk)
            pending = dec.pending
            piece = dec.feed(chunk, limit + 1 - len(out))
            out += piece
            idle = 0 if piece or chunk or dec.pending != pending else idle + 1
            if len(out) > limit:
                del out[limit:]
                return Decoded(bytes(out), DecodeState.LIMIT, f"more than {limit} bytes", pos,
                               streams)
            if dec.eof:
                stream_end = pos - dec.unused
                magic = _MULTI_MAGIC.get(codec)
                if not (multistream and magic and buf[stream_end : stream_end + len(magic)]
                        == magic):
                    return Decoded(bytes(out), DecodeState.COMPLETE, "", stream_end, streams)
                dec, pos, streams = _Decoder(codec), stream_end, streams + 1
            elif idle > 16:
                return Decoded(bytes(out), DecodeState.CORRUPT, "decoder made no progress",
                               pos, streams)
    except _decode_errors() as exc:
        return Decoded(bytes(out), DecodeState.CORRUPT, f"{type(exc).__name__}: {exc}", pos,
                       streams)
