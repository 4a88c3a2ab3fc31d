"""Bounded reading of a GGUF file's ``general.*`` metadata (name, licence, base models).

A small streaming parser of the key/value header, written for the assessment so that every
bound is explicit: bytes read, key count, string and array lengths. Only ``general.*``
scalars and short string arrays are kept; everything else (tokenizer vocabularies, tensor
infos) is skipped without being stored. Errors are returned as a reason, never raised.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

MAX_BYTES = 256 * 1024 * 1024
MAX_KV = 100_000
MAX_STRING = 16 * 1024 * 1024
MAX_ARRAY = 50_000_000
MAX_STRING_ITEMS = 4_000_000
"""String array items read in total (a Llama 3 vocabulary and merges are ~0.4 million)."""
MAX_KEPT_ITEMS = 64

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


class _Bad(Exception):
    """Internal: the metadata is malformed or over a bound."""


class _Reader:
    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.pos = 0
        self.items = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > MAX_BYTES:
            raise _Bad(f"metadata larger than {MAX_BYTES} bytes")
        data = self.fh.read(n)
        if len(data) != n:
            raise _Bad(f"truncated at offset {self.pos}")
        self.pos += n
        return data

    def skip(self, n: int) -> None:
        if n < 0 or self.pos + n > MAX_BYTES:
            raise _Bad(f"metadata larger than {MAX_BYTES} bytes")
        self.fh.seek(n, 1)
        self.pos += n

    def u(self, fmt: str) -> int:
        value: int = struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]
        return value

    def string(self, keep: bool = True) -> str:
        n = self.u("<Q")
        if n > MAX_STRING:
            raise _Bad(f"string of {n} bytes at offset {self.pos - 8}")
        if not keep:
            self.skip(n)
            return ""
        return self.take(n).decode("utf-8", "replace")


def read_general(path: str) -> tuple[dict[str, str], str]:
    """``general.*`` keys as strings (lists joined by ``, ``), plus an error reason or ``""``."""
    out: dict[str, str] = {}
    try:
        with open(path, "rb") as fh:
            r = _Reader(fh)
            if r.take(4) != b"GGUF":
                return out, "not a GGUF file"
            version = r.u("<I")
            if version not in (1, 2, 3):
                return out, f"unsupported GGUF version {version}"
            count_fmt = "<I" if version == 1 else "<Q"
            r.u(count_fmt)
            kv_count = r.u(count_fmt)
            if kv_count > MAX_KV:
                return out, f"{kv_count} metadata keys (limit {MAX_KV})"
            for _ in range(kv_count):
                key = r.string()
                vtype = r.u("<I")
                keep = key.startswith("general.")
                value = _value(r, vtype, keep)
                if keep and value is not None:
                    out[key[:200]] = value[:2000]
    except _Bad as exc:
        return out, str(exc)
    except OSError as exc:
        return out, exc.strerror or str(exc)
    return out, ""


def _value(r: _Reader, vtype: int, keep: bool) -> str | None:
    if vtype in _SCALARS:
        value = struct.unpack(_SCALARS[vtype], r.take(struct.calcsize(_SCALARS[vtype])))[0]
        return str(value) if keep else None
    if vtype == _STRING:
        text = r.string(keep)
        return text if keep else None
    if vtype != _ARRAY:
        raise _Bad(f"unknown value type {vtype} at offset {r.pos - 4}")
    itype = r.u("<I")
    n = r.u("<Q")
    if n > MAX_ARRAY:
        raise _Bad(f"array of {n} items at offset {r.pos - 8}")
    if itype in _SCALARS:
        r.skip(n * struct.calcsize(_SCALARS[itype]))
        return f"[{n} items]" if keep else None
    if itype != _STRING:
        raise _Bad(f"unsupported array item type {itype}")
    r.items += n
    if r.items > MAX_STRING_ITEMS:
        raise _Bad(f"more than {MAX_STRING_ITEMS} strings in arrays")
    kept: list[str] = []
    for i in range(n):
        text = r.string(keep and i < MAX_KEPT_ITEMS)
        if keep and i < MAX_KEPT_ITEMS:
            kept.append(text)
    return ", ".join(kept) if keep else None
