"""Single compressed streams (gzip, bzip2, xz, lzma, zlib): decompress, bounded, and recurse.

joblib's ``compress=`` option writes exactly these raw streams around a pickle, and ``.tar.gz``
checkpoints arrive here before the tar reader. The content is decompressed in memory under
the member-size, ratio and shared expansion limits, then handed back to the pipeline as a
child artifact so it is sniffed and scanned like any file. Damaged streams still hand over
what could be decompressed: a pickle runs as it is read, so a payload placed before the
damage executes even though loading fails afterwards.
"""

from __future__ import annotations

from modeltrust._inventory.formats import Format
from modeltrust._scanners.archive import BOMB, BUDGET, TOO_LARGE
from modeltrust._scanners.interface import Result, ScanContext, Scanner
from modeltrust._source.decode import Codec, DecodeState, decompress_bounded
from modeltrust._source.interface import MEMBER_SEP, Artifact, Buffer
from modeltrust._source.zipread import RATIO_FLOOR
from modeltrust.findings import Location, Rule, Severity
from modeltrust.rules import finding, rule

TRUNCATED = rule(
    "MT-CMP-001", "Compressed stream is truncated", Severity.MEDIUM,
    """
    The stream ends before its end marker. Loaders fail on it, but only after acting on the
    part they read (a pickle runs as it is decoded), so a payload can sit before the cut. The
    part that could be decompressed was analysed.
    """,
    fix="Download the file again and compare its digest with the publisher's.",
)
CORRUPT = rule(
    "MT-CMP-002", "Compressed stream is corrupt", Severity.MEDIUM,
    """
    The stream's compressed data is invalid after some point. The part before the damage was
    analysed; corruption is also used to stop scanners early while the loader has already
    run what came before.
    """,
    fix="Download the file again and compare its digest with the publisher's.",
)
TRAILING = rule(
    "MT-CMP-003", "Data after the end of the compressed stream", Severity.LOW,
    """
    Bytes follow the end of the compressed stream and are not part of it. Decompressors
    ignore or reject them, so they are a place to hide data from some tools.
    """,
    fix="Remove the trailing bytes; a genuine compressed file ends with its stream.",
)

_CODECS = {
    Format.GZIP: Codec.GZIP,
    Format.BZIP2: Codec.BZIP2,
    Format.XZ: Codec.XZ,
    Format.LZMA: Codec.LZMA_ALONE,
    Format.ZLIB: Codec.ZLIB,
}
_MULTISTREAM = frozenset({Codec.GZIP, Codec.BZIP2, Codec.XZ})
_SUFFIXES = {
    ".gz": "", ".gzip": "", ".bz2": "", ".bz": "", ".xz": "", ".lzma": "", ".z": "",
    ".zlib": "", ".tgz": ".tar", ".tbz2": ".tar", ".tbz": ".tar", ".txz": ".tar",
}
_JOBLIB_ZF = b"ZF"
_JOBLIB_ZF_HEADER = 2 + 19
"""joblib < 0.9.3 wrote ``ZF`` + the data length in hex padded to 19 bytes, then zlib."""


def child_name(path: str) -> str:
    """The decompressed member's name: the file name without its compression suffix."""
    base = path.rsplit(MEMBER_SEP, 1)[-1].replace("\\", "/").rsplit("/", 1)[-1]
    dot = base.rfind(".")
    if dot > 0 and base[dot:].lower() in _SUFFIXES:
        return base[:dot] + _SUFFIXES[base[dot:].lower()]
    return "~decompressed"


class CompressedScanner(Scanner):
    """gzip, bzip2, xz, lzma-alone and zlib streams (joblib's compressed pickles among them)."""

    name = "compressed"
    formats = frozenset(_CODECS)
    rules = (TRUNCATED, CORRUPT, TRAILING)

    def scan(self, artifact: Artifact, data: Buffer, fmt: Format, ctx: ScanContext) -> Result:
        """Decompress within the limits and hand the content back to the pipeline."""
        codec = _CODECS[fmt]
        start = _payload_start(data) if codec is Codec.ZLIB else 0
        size = len(data) - start
        lim = ctx.limits
        by_ratio = max(lim.max_ratio * max(size, 1), RATIO_FLOOR)
        limit = min(lim.max_member_size, by_ratio, ctx.budget.remaining)
        out = decompress_bounded(data, start, len(data), codec, limit,
                                 multistream=codec in _MULTISTREAM)
        ctx.budget.take(len(out.data))
        name = child_name(artifact.path)
        detail = (f"{fmt.value}: {size} bytes -> {len(out.data)} bytes"
                  + (f" in {out.streams} streams" if out.streams > 1 else ""))
        reason = self._problems(artifact, data, out.state, out.error, out.end, ctx, limit,
                                by_ratio)
        if out.data:
            ctx.scan_child(artifact.child(name, out.data))
        if reason:
            return Result.partial(reason, detail)
        return Result(detail=detail)

    @staticmethod
    def _problems(
        artifact: Artifact, data: Buffer, state: DecodeState, error: str, end: int,
        ctx: ScanContext, limit: int, by_ratio: int,
    ) -> str:
        """Report how the stream ended; return a coverage reason ("" when complete)."""

        def report(r: Rule, evidence: str, offset: int | None = None) -> None:
            ctx.report(finding(r, artifact.path, evidence, Location(offset=offset)))

        if state is DecodeState.TRUNCATED:
            report(TRUNCATED, f"stream ends without its end marker after {len(data)} bytes",
                   len(data))
            return "stream truncated: only the part before the cut was analysed"
        if state is DecodeState.CORRUPT:
            report(CORRUPT, f"decompression failed near input offset {end}: {error}", end)
            return "stream corrupt: only the part before the damage was analysed"
        if state is DecodeState.LIMIT:
            lim = ctx.limits
            if limit == by_ratio:
                report(BOMB, f"expands past {by_ratio} bytes (ratio limit {lim.max_ratio})")
            elif limit == lim.max_member_size:
                report(TOO_LARGE, f"expands past the limit of {lim.max_member_size} bytes")
            else:
                report(BUDGET, f"shared expansion budget exhausted after {limit} bytes")
            return f"decompression stopped at {limit} bytes: only that part was analysed"
        tail = bytes(data[end : end + 65_536])
        if tail.strip(b"\0"):
            report(TRAILING, f"{len(data) - end} bytes follow the end of the stream", end)
        return ""


def _payload_start(data: Buffer) -> int:
    """Skip joblib's legacy ``ZF`` header, if present, so the zlib stream can be read."""
    if bytes(data[:2]) != _JOBLIB_ZF:
        return 0
    start = _JOBLIB_ZF_HEADER
    return start + 1 if bytes(data[start : start + 1]) == b" " else start
