"""NumPy ``.npy`` arrays: header checks, and object arrays handed on as the pickles they are.

An ``.npy`` file is a magic string, a version, a Python-literal header dict and raw array
bytes. Arrays of dtype ``object`` store their content as a *pickle* after the header, which
``numpy.load(allow_pickle=True)`` runs (CVE-2019-6446). The header is read with
:func:`ast.literal_eval` on a bounded string, which evaluates literals only: nothing in
the file is imported or executed, and numpy itself is not needed.
"""

from __future__ import annotations

import ast
import math
import re
import struct
from typing import NamedTuple

from modeltrust._inventory.formats import Format
from modeltrust._scanners.interface import Result, ScanContext, Scanner
from modeltrust._source.interface import Artifact, Buffer
from modeltrust.findings import Location, Severity
from modeltrust.rules import finding, rule

OBJECT_ARRAY = rule(
    "MT-NPY-001", "NumPy array of Python objects (a pickle inside)", Severity.MEDIUM,
    """
    The array's dtype is (or contains) ``object``, so its data is a pickle stream that
    ``numpy.load`` only reads with ``allow_pickle=True`` and that then runs whatever it
    references (CVE-2019-6446). The embedded pickle is scanned as a file of its own; this
    finding records that loading the array requires trusting pickle at all.
    """,
    fix="Store numeric arrays with a numeric dtype (or safetensors); never pass "
        "allow_pickle=True for files you did not create.",
    cwe=502,
    references=("CVE-2019-6446",),
)
BAD_HEADER = rule(
    "MT-NPY-002", "Malformed .npy header", Severity.MEDIUM,
    """
    The file starts like an ``.npy`` array but its version, header length or header dict is
    not what numpy writes. numpy refuses such files, so the content is not a usable array;
    malformed headers are also used to trip up scanners.
    """,
    fix="Re-create the file with numpy.save.",
)
SIZE_MISMATCH = rule(
    "MT-NPY-003", ".npy data size does not match its shape", Severity.LOW,
    """
    The bytes after the header are fewer (truncated) or more (hidden trailing data) than the
    declared shape and dtype require. Truncation is raised to medium.
    """,
    fix="Re-create the file with numpy.save.",
)

_MAGIC = b"\x93NUMPY"
_MAX_HEADER = 1024 * 1024
_NUMPY_HEADER_LIMIT = 10_000
"""numpy.load refuses longer headers unless allow_pickle=True (numpy >= 1.24)."""
_MAX_TOKENS = 100_000
_LONG = re.compile(r"\dL\b")
_OBJECT_TEXT = re.compile(r"""['"][<>|=]?O\d*['"]|\bobject\b""")
_DESCR = re.compile(r"^[<>|=]?([a-zA-Z?])(\d*)(?:\[\w+\])?$")
_DEFAULT_SIZES = {"b": 1, "B": 1, "?": 1, "h": 2, "H": 2, "i": 4, "I": 4, "l": 8, "L": 8,
                  "q": 8, "Q": 8, "e": 2, "f": 4, "d": 8, "g": 16, "F": 8, "D": 16, "G": 32}


class NpyScanner(Scanner):
    """``.npy`` files: the header, object dtypes (pickles) and the data size."""

    name = "numpy"
    formats = frozenset({Format.NUMPY_NPY})
    rules = (OBJECT_ARRAY, BAD_HEADER, SIZE_MISMATCH)

    def scan(self, artifact: Artifact, data: Buffer, fmt: Format, ctx: ScanContext) -> Result:
        """Parse the header; hand object-array pickles back; check the data length."""
        header = _read_header(data)
        if isinstance(header, _Bad):
            return _bad_header(artifact, data, header, ctx)
        version, body, meta = header
        descr, shape = meta["descr"], meta["shape"]
        detail = f"numpy v{version} array, dtype {descr!r}, shape {shape}"
        if body - 10 > _NUMPY_HEADER_LIMIT:
            ctx.report(finding(BAD_HEADER, artifact.path, f"header of {body} bytes is longer "
                               f"than numpy accepts without allow_pickle=True",
                               Location(offset=0)))
        if has_object(descr):
            ctx.report(finding(OBJECT_ARRAY, artifact.path,
                               f"dtype {descr!r}: data after offset {body} is a pickle",
                               Location(offset=body)))
            return _hand_pickle(artifact, data, body, ctx, detail)
        _check_size(artifact, data, body, descr, shape, ctx)
        return Result(detail=detail, format=Format.NUMPY_NPY)


class _Bad(NamedTuple):
    """Why a header is unusable, and where the data would start (-1 when unknown)."""

    reason: str
    body: int = -1
    text: str = ""


def _bad_header(artifact: Artifact, data: Buffer, bad: _Bad, ctx: ScanContext) -> Result:
    """Report the header; still scan data that shows it is a pickle (lax readers load it)."""
    ctx.report(finding(BAD_HEADER, artifact.path, bad.reason, Location(offset=0)))
    why = ""
    if bad.body >= 0 and _OBJECT_TEXT.search(bad.text):
        why = "the dtype text names object"
    elif 0 <= bad.body < len(data) and data[bad.body] == 0x80:
        why = "the data starts with a pickle PROTO opcode"
    if not why:
        return Result.partial(f"bad .npy header: {bad.reason}", format=Format.NUMPY_NPY)
    ctx.report(finding(OBJECT_ARRAY, artifact.path, f"header unreadable, but {why}: data "
                       f"after offset {bad.body} is scanned as a pickle",
                       Location(offset=bad.body)))
    handed = _hand_pickle(artifact, data, bad.body, ctx, "numpy array with a bad header")
    return Result.partial(f"bad .npy header: {bad.reason}", handed.detail, Format.NUMPY_NPY)


def _read_header(data: Buffer) -> tuple[str, int, dict[str, object]] | _Bad:
    """``(version, data offset, header dict)``, or the reason the header is unusable."""
    if len(data) < 10 or bytes(data[:6]) != _MAGIC:
        return _Bad("file too short for an .npy header")
    major, minor = data[6], data[7]
    if major == 1:
        hlen, start = struct.unpack_from("<H", data, 8)[0], 10
    elif major in (2, 3) and len(data) >= 12:
        hlen, start = struct.unpack_from("<I", data, 8)[0], 12
    else:
        return _Bad(f"unsupported .npy version {major}.{minor}")
    if hlen > _MAX_HEADER:
        return _Bad(f"header length {hlen} exceeds {_MAX_HEADER} bytes")
    if start + hlen > len(data):
        return _Bad(f"header length {hlen} runs past the end of the file ({len(data)} bytes)")
    raw, body = bytes(data[start : start + hlen]), start + hlen
    text = raw.decode("utf-8" if major == 3 else "latin-1", "replace")
    try:
        meta = _literal(raw.decode("utf-8" if major == 3 else "latin-1"), major < 3)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError,
            UnicodeDecodeError) as exc:
        return _Bad(f"header is not a Python literal: {type(exc).__name__}", body, text)
    problem = _check_meta(meta)
    if problem or not isinstance(meta, dict):
        return _Bad(problem, body, text)
    return f"{major}.{minor}", body, meta


def plain_header(head: bytes) -> bool:
    """True when ``head`` opens a well-formed ``.npy`` whose dtype holds no object.

    Lets an archive skip reading a numeric array's data: such data is never code.
    """
    header = _read_header(head)
    return not isinstance(header, _Bad) and not has_object(header[2]["descr"])


def _literal(text: str, python2: bool) -> object:
    """Evaluate the header as numpy does: literals only, Python 2 ``1L`` longs accepted.

    numpy retries a v1/v2 header that fails to parse with the ``L`` suffix of integer
    tokens removed (files written by Python 2), so such a header is a working array.
    """
    try:
        return ast.literal_eval(text)
    except SyntaxError:
        if not python2 or not _LONG.search(text):
            raise
    return ast.literal_eval(_drop_long_suffix(text))


def _drop_long_suffix(text: str) -> str:
    """``tokenize`` the header and drop each ``L`` name that follows a number (bounded)."""
    import io
    import tokenize

    kept: list[tokenize.TokenInfo] = []
    after_number = False
    try:
        for i, tok in enumerate(tokenize.generate_tokens(io.StringIO(text).readline)):
            if i >= _MAX_TOKENS:
                raise SyntaxError(f"header has more than {_MAX_TOKENS} tokens")
            if not (after_number and tok.type == tokenize.NAME and tok.string == "L"):
                kept.append(tok)
            after_number = tok.type == tokenize.NUMBER
        return tokenize.untokenize(kept)
    except (tokenize.TokenError, IndentationError) as exc:
        raise SyntaxError(str(exc)) from exc


def _check_meta(meta: object) -> str:
    if not isinstance(meta, dict):
        return f"header is a {type(meta).__name__}, not a dict"
    keys = sorted(str(k) for k in meta)
    if keys != ["descr", "fortran_order", "shape"]:
        return f"header keys are {keys}, expected descr, fortran_order, shape"
    shape = meta["shape"]
    if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape):
        return f"shape {shape!r} is not a tuple of non-negative integers"
    if not isinstance(meta["fortran_order"], bool):
        return f"fortran_order {meta['fortran_order']!r} is not a boolean"
    if not isinstance(meta["descr"], str | list):
        return f"descr {meta['descr']!r} is neither a string nor a list of fields"
    return ""


def has_object(descr: object) -> bool:
    """True when a dtype description (string or structured list) contains ``object``."""
    if isinstance(descr, str):
        return descr.lstrip("<>|=").startswith("O")
    if isinstance(descr, list | tuple):
        return any(has_object(part) for part in descr)
    return False


def itemsize(descr: object) -> int | None:
    """Bytes per element of a dtype description, or None when it cannot be worked out."""
    if isinstance(descr, str):
        m = _DESCR.match(descr)
        if m is None:
            return None
        kind, digits = m.group(1), m.group(2)
        if digits:
            return int(digits) * (4 if kind == "U" else 1)
        return _DEFAULT_SIZES.get(kind)
    if isinstance(descr, list):
        total = 0
        for field in descr:
            if not isinstance(field, tuple) or len(field) not in (2, 3):
                return None
            size = itemsize(field[1])
            sub = field[2] if len(field) == 3 else ()
            if size is None or not isinstance(sub, tuple | int):
                return None
            count = sub if isinstance(sub, int) else math.prod(
                d for d in sub if isinstance(d, int))
            total += size * count
        return total
    return None


def _hand_pickle(
    artifact: Artifact, data: Buffer, body: int, ctx: ScanContext, detail: str
) -> Result:
    end = min(len(data), body + ctx.limits.max_member_size)
    ctx.scan_child(artifact.child("@pickle", bytes(data[body:end])))
    if end < len(data):
        return Result.partial("object array larger than the member limit: only its start "
                              "was analysed", detail, Format.NUMPY_NPY)
    return Result(detail=detail + " (object array: pickle scanned)", format=Format.NUMPY_NPY)


def _check_size(
    artifact: Artifact, data: Buffer, body: int, descr: object, shape: object,
    ctx: ScanContext,
) -> None:
    size = itemsize(descr)
    if size is None or not isinstance(shape, tuple):
        return
    expected = math.prod(shape) * size
    actual = len(data) - body
    if actual == expected:
        return
    if actual < expected:
        ev = f"shape {shape} of {descr!r} needs {expected} bytes, file has {actual} (truncated)"
        sev: Severity | None = Severity.MEDIUM
    else:
        ev = f"{actual - expected} bytes follow the {expected} bytes of array data"
        sev = None
    ctx.report(finding(SIZE_MISMATCH, artifact.path, ev, Location(offset=body + min(
        actual, expected)), severity=sev))
