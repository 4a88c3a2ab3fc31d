"""7z archives, read with the optional py7zr package.

A module of its own because py7zr is optional and heavy: it is imported only when a 7z
archive is met, and its absence is a finding (MT-ARC-010), not an error. Which members to
expand is decided from their declared sizes *before* anything is decompressed.
"""

from __future__ import annotations

import io
import lzma
import struct
import zlib
from collections.abc import Iterable
from typing import Any

from modeltrust._inventory.formats import Format
from modeltrust._scanners.archive_members import BufferReader, Members, unsafe_name
from modeltrust._scanners.archive_rules import (
    CORRUPT,
    ENCRYPTED,
    LINK,
    SEVENZIP_MISSING,
    TOO_MANY,
)
from modeltrust._scanners.interface import Result, ScanContext
from modeltrust._source import zipread
from modeltrust._source.interface import Artifact, Buffer
from modeltrust._source.zipread import ReadStatus

_AES = b"\x06\xf1\x07\x01"


def scan_7z(artifact: Artifact, data: Buffer, ctx: ScanContext) -> Result:
    """List a 7z archive's members, report what is odd, and hand members back."""
    book = Members(artifact, ctx)
    try:
        import py7zr
        from py7zr.io import BytesIOFactory
    except ImportError:
        book.report(SEVENZIP_MISSING, "py7zr is not installed")
        return Result.not_analysed("install modeltrust[archives] to read 7z",
                                   format=Format.SEVENZIP)
    errors = (py7zr.exceptions.ArchiveError, py7zr.exceptions.InternalError, *_7Z_ERRORS)
    factory = BytesIOFactory(ctx.limits.max_member_size + 1)
    try:
        with py7zr.SevenZipFile(io.BufferedReader(BufferReader(data)), mode="r",
                                max_extract_size=max(ctx.budget.remaining, 1)) as z:
            targets = _7z_targets(book, z.files, len(data))
            total = sum(size for _, size in targets)
            if targets and not ctx.budget.take(total):
                book.limit_hit(ReadStatus.BUDGET, f"{total} bytes to expand", "*")
            elif targets:
                z.extract(targets=[n for n, _ in targets], factory=factory)
    except py7zr.exceptions.PasswordRequired:
        book.report(ENCRYPTED, "7z archive is password protected (encrypted header or data)")
        book.skipped["encrypted"] += 1
    except errors as exc:
        book.report(CORRUPT, f"7z archive unreadable: {type(exc).__name__}: {exc}")
        book.skipped["unreadable archive"] += 1
    for name, product in factory.products.items():
        product.seek(0)
        book.hand(name, product.read())
    return book.result(Format.SEVENZIP, "7z")


_7Z_ERRORS = (EOFError, OSError, ValueError, KeyError, IndexError, TypeError, AttributeError,
              UnicodeError, NotImplementedError, struct.error, lzma.LZMAError, zlib.error)
"""What py7zr lets escape on hostile input (it has no single error base)."""


def _7z_targets(book: Members, files: Iterable[Any], size: int) -> list[tuple[str, int]]:
    """Members to decompress, chosen from declared sizes *before* anything is expanded."""
    lim = book.ctx.limits
    out: list[tuple[str, int]] = []
    for i, f in enumerate(files):
        name = str(f.filename)
        if i >= lim.max_members:
            book.report(TOO_MANY, f"more than {lim.max_members} members; only the first were "
                        "read")
            book.skipped["members over the limit"] += 1
            break
        book.check_name(name)
        if f.is_directory or f.emptystream and not f.is_symlink:
            continue
        if f.is_symlink or f.is_junction or f.is_socket:
            book.report(LINK, f"{name} is a link or special file", name)
        elif f.folder is not None and any(c.get("method") == _AES for c in f.folder.coders):
            book.report(ENCRYPTED, f"{name} is encrypted", name)
            book.skipped["encrypted"] += 1
        elif unsafe_name(name) is not None:
            book.skipped["unsafe names (py7zr refuses them)"] += 1
        elif f.uncompressed > lim.max_member_size:
            book.limit_hit(ReadStatus.TOO_LARGE, f"declares {f.uncompressed} bytes", name)
        else:
            out.append((name, int(f.uncompressed)))
    total = sum(n for _, n in out)
    if total > zipread.RATIO_FLOOR and total > lim.max_ratio * max(size, 1):
        book.limit_hit(ReadStatus.BOMB, f"declares {total} bytes from a {size}-byte archive "
                       f"(ratio limit {lim.max_ratio})", "*")
        return []
    return out
