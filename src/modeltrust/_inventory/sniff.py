"""Identify an artifact's format from its first bytes, never from its name alone.

The extension is only a tie-breaker for content that could be several things (for example
bytes that begin like a pickle but do not decode as one: a file named ``.pkl`` is still sent
to the pickle scanner so the breakage becomes a finding).
"""

from __future__ import annotations

import codecs
import json
import pickletools
import zlib
from typing import NamedTuple

from modeltrust._inventory.formats import Format
from modeltrust._source.interface import Buffer

_PICKLE_EXTS = frozenset(
    {".pkl", ".pickle", ".p", ".pt", ".pth", ".bin", ".ckpt", ".joblib", ".dat", ".data",
     ".sav", ".model", ".npy", ".mar", ".dill", ".cloudpkl", ".pck"}
)
_GENERIC_DATA_EXTS = frozenset({".bin", ".data", ".dat", ".model"})
"""Also raw tensors (ONNX external data, GGML), tokenizers...: undecodable bytes there are
data, not a broken pickle (a pickle that starts well is still found by its opcodes)."""
_TEXT_SAMPLE = 4096
_PYTHON_EXTS = frozenset({".py", ".pyw"})
_TEXT_BY_EXT = {
    ".py": Format.PYTHON,
    ".jinja": Format.TEMPLATE,
    ".jinja2": Format.TEMPLATE,
    ".j2": Format.TEMPLATE,
    ".template": Format.TEMPLATE,
    ".tmpl": Format.TEMPLATE,
    ".yaml": Format.YAML,
    ".yml": Format.YAML,
    ".json": Format.JSON,
    ".pbtxt": Format.TF_PBTXT,
}
_PROTOBUF_BY_EXT = {".onnx": Format.ONNX, ".pb": Format.TF_PROTOBUF, ".meta": Format.TF_PROTOBUF}
_ONNX_SECOND_TAGS = frozenset({0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42, 0x72})
_PICKLE_PROBE_OPS = 64
_VALID_OPCODES = frozenset(op.code.encode("latin-1") for op in pickletools.opcodes)


class Sniffed(NamedTuple):
    """The detected format, plus a short human description of what was seen."""

    format: Format
    detail: str = ""


def sniff(data: Buffer, ext: str = "") -> Sniffed:
    """Return the format of ``data``. ``ext`` (lower-case, with dot) only breaks ties."""
    n = len(data)
    if n == 0:
        return Sniffed(Format.EMPTY, "empty file")
    head = bytes(data[:512])
    found = _by_magic(head, data, ext)
    if found is not None:
        return found
    native = _executable(head)
    if native is not None:
        return Sniffed(Format.UNKNOWN, native)
    if ext in _PYTHON_EXTS:
        # Python imports any bytes with this name (encoding declarations included): the
        # code scanner parses them, and bytes that are not Python become its finding.
        text = _text_kind(head, data)
        return Sniffed(Format.PYTHON, "python source" if text is not None
                       else "python source (not UTF-8 text)")
    source = _TEXT_BY_EXT.get(ext)
    text = _text_kind(head, data) if source is not None else None
    if source is not None and text is not None and text.format is Format.TEXT:
        # imported or rendered, never unpickled: text wins over pickle
        return Sniffed(source, f"{source.value} source")
    if ext in _PROTOBUF_BY_EXT and ext != ".onnx" and _is_protobuf(data):
        fmt = _PROTOBUF_BY_EXT[ext]
        return Sniffed(fmt, f"{fmt.value} protobuf")
    if _looks_like_pickle(data, ext in _PICKLE_EXTS):
        return Sniffed(Format.PICKLE, _pickle_detail(head))
    if ext == ".safetensors":
        return Sniffed(Format.SAFETENSORS, "safetensors by name (header not recognised)")
    if _has_zip_end(data):
        return Sniffed(Format.ZIP, "zip archive (data before the first member)")
    if source is None:  # with a source extension it was read above, once
        text = _text_kind(head, data)
    if text is not None:
        # protobuf often has no NUL byte (small ONNX models, an unset opset domain): what
        # decodes as a whole ModelProto is one, whatever its bytes look like
        if (ext == ".onnx" or _onnx_head(head)) and _is_onnx_model(data):
            return Sniffed(Format.ONNX, "ONNX model (protobuf without NUL bytes)")
        return text
    proto = _protobuf_kind(head, ext)
    if proto is not None:
        return proto
    if ext == ".onnx" and _is_onnx_model(data):  # fields written in an unusual order
        return Sniffed(Format.ONNX, "ONNX model (protobuf)")
    if ext in _PICKLE_EXTS - _GENERIC_DATA_EXTS:
        return Sniffed(Format.PICKLE, f"undecodable bytes in a {ext} file")
    return Sniffed(Format.UNKNOWN, _describe_unknown(head))


def _executable(head: bytes) -> str | None:
    """Native executables: their magic, checked strictly enough not to match weights."""
    if head.startswith(b"\x7fELF") and head[4:5] in (b"\x01", b"\x02"):
        return "ELF executable"
    if head.startswith(b"MZ") and len(head) >= 0x40:
        pe = int.from_bytes(head[0x3C:0x40], "little")
        if pe + 4 <= len(head) and head[pe : pe + 4] == b"PE\x00\x00":
            return "Windows executable"
    if head[:4] in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf",
                    b"\xfe\xed\xfa\xce"):
        return "Mach-O executable"
    return None


def _by_magic(head: bytes, data: Buffer, ext: str = "") -> Sniffed | None:
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return Sniffed(Format.ZIP, "zip archive")
    if head.startswith(b"\x93NUMPY"):
        return Sniffed(Format.NUMPY_NPY, "numpy array file")
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return Sniffed(Format.SEVENZIP, "7-zip archive")
    if head.startswith(b"\x1f\x8b"):
        return Sniffed(Format.GZIP, "gzip stream")
    if head.startswith(b"BZh") and len(head) > 3 and head[3:4].isdigit():
        return Sniffed(Format.BZIP2, "bzip2 stream")
    if head.startswith(b"\xfd7zXZ\x00"):
        return Sniffed(Format.XZ, "xz stream")
    if head.startswith(b"GGUF") and (ext == ".gguf" or not _printable(head[4:8])):
        return Sniffed(Format.GGUF, "GGUF model")  # text that opens with "GGUF" is text
    if len(head) >= 8 and head[4:8] == b"TFL3":
        return Sniffed(Format.TFLITE, "TFLite flatbuffer")
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return Sniffed(Format.HDF5, "HDF5 file")
    block = _hdf5_userblock(data)
    if block:
        return Sniffed(Format.HDF5, f"HDF5 file after a {block}-byte user block")
    if len(data) > 262 and bytes(data[257:262]) == b"ustar":
        return Sniffed(Format.TAR, "tar archive")
    if _is_safetensors(head, len(data)):
        return Sniffed(Format.SAFETENSORS, "safetensors")
    if head.startswith(b"ZF") and head[2:4] == b"0x" and len(head) > 22:
        return Sniffed(Format.ZLIB, "joblib legacy zlib file (ZF header)")
    if head.startswith(b"\x04\x22\x4d\x18"):
        return Sniffed(Format.UNKNOWN, "lz4 frame (joblib compress='lz4'): not decompressed")
    if _is_zlib(head):
        return Sniffed(Format.ZLIB, "zlib stream")
    if head.startswith(b"\x5d\x00\x00") and len(head) >= 13:
        return Sniffed(Format.LZMA, "lzma stream")
    return None


def _printable(chunk: bytes) -> bool:
    return len(chunk) == 4 and all(32 <= b < 127 or b in (9, 10, 13) for b in chunk)


def _is_zlib(head: bytes) -> bool:
    """A zlib header (no preset dictionary) whose first bytes inflate without error.

    The header check alone matches text: ``"x = 1"`` passes it (0x7820 is a multiple of 31).
    """
    if len(head) < 3 or head[0] != 0x78 or ((head[0] << 8) | head[1]) % 31 or head[1] & 0x20:
        return False
    try:
        zlib.decompressobj().decompress(head, 4096)
    except zlib.error:
        return False
    return True


def _protobuf_kind(head: bytes, ext: str) -> Sniffed | None:
    """ONNX and TensorFlow protobufs have no magic: a valid leading tag plus the name."""
    if len(head) < 4 or head[0] != 0x08:
        return None
    by_ext = _PROTOBUF_BY_EXT.get(ext)
    if by_ext is not None:
        return Sniffed(by_ext, f"{by_ext.value} protobuf")
    if _onnx_head(head):
        return Sniffed(Format.ONNX, "ONNX model (protobuf)")
    # SavedModel: saved_model_schema_version = 1, then meta_graphs.
    if head[1] == 1 and head[2] == 0x12:
        return Sniffed(Format.TF_PROTOBUF, "TensorFlow SavedModel (protobuf)")
    return None


def _onnx_head(head: bytes) -> bool:
    """ONNX ModelProto as writers order it: ir_version (3..15), then producer/graph/opset."""
    return len(head) >= 4 and head[0] == 0x08 and 3 <= head[1] <= 15 and \
        head[2] in _ONNX_SECOND_TAGS


def _is_onnx_model(data: Buffer) -> bool:
    """The whole file decodes as protobuf with a ``graph`` (field 7) that is a message.

    That is what ``onnx.load`` and onnxruntime take as a model; text almost never decodes
    completely, and never with an embedded graph message, so ``"hello"`` stays text.
    """
    from modeltrust._scanners._protobuf import LEN, Budget, LimitError, WireError, fields
    from modeltrust._scanners._protobuf import is_message as message

    budget = Budget(fields=100_000)
    try:
        graph = [f for f in fields(data, 0, len(data), budget) if f.number == 7]
        return bool(graph) and all(f.wire == LEN and message(data, f.start, f.end, budget)
                                   for f in graph)
    except LimitError:
        return True
    except WireError:
        return False


def _is_protobuf(data: Buffer) -> bool:
    """The top level of the file decodes as protobuf fields (protobufs have no magic)."""
    from modeltrust._scanners._protobuf import Budget, LimitError, is_message

    if len(data) < 2:
        return False
    try:
        return is_message(data, 0, len(data), Budget(fields=100_000))
    except LimitError:
        return True


def _hdf5_userblock(data: Buffer) -> int:
    """Offset of an HDF5 signature after a user block (512, 1024, 2048 ... bytes), or 0."""
    offset = 512
    while offset + 8 <= len(data):
        if bytes(data[offset : offset + 8]) == b"\x89HDF\r\n\x1a\n":
            return offset
        offset *= 2
    return 0


def _is_safetensors(head: bytes, size: int) -> bool:
    if len(head) < 10:
        return False
    hlen = int.from_bytes(head[:8], "little")
    return 2 <= hlen <= size - 8 and head[8:].lstrip(b" \t\r\n")[:1] == b"{"


def _has_zip_end(data: Buffer) -> bool:
    """A zip end-of-central-directory record in the last 64 KiB (zips with a prefix)."""
    n = len(data)
    tail = bytes(data[max(0, n - 65_557) : n])
    return b"PK\x05\x06" in tail


def _looks_like_pickle(data: Buffer, pickle_ext: bool) -> bool:
    """True when the leading bytes decode as a pickle that CPython would start to load.

    Decoding up to STOP, or for a good while, settles it. A stream that names a callable and
    calls it before it breaks is a pickle too: that is what payload-then-garbage files look
    like, and they are often plain ASCII. Each opcode must also find on the stack, the mark
    stack and the memo what it takes (``pickletools`` declares that per opcode), or text
    such as ``torch>=2.6`` (TUPLE, OBJ, ... STOP) would pass. With a pickle-like extension,
    any valid first opcode is enough.
    """
    first = bytes(data[:1])
    if first not in _VALID_OPCODES:
        return False
    if first == b"\x80":
        return len(data) > 1 and data[1] <= 5
    probe = _probe(bytes(data[: 1 << 16]))
    if probe.complete:
        return True
    return (pickle_ext and probe.opcodes > 0) or (probe.named and probe.called)


class _Probe(NamedTuple):
    complete: bool
    """Reached STOP, or ``_PICKLE_PROBE_OPS`` opcodes, with every opcode's needs met."""
    opcodes: int
    named: bool
    called: bool


_NAMING = frozenset({"GLOBAL", "INST", "STACK_GLOBAL"})
_CALLING = frozenset({"REDUCE", "BUILD", "OBJ", "INST", "NEWOBJ", "NEWOBJ_EX"})
_MEMO_GETS = frozenset({"GET", "BINGET", "LONG_BINGET"})
_MEMO_PUTS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})


def _probe(sample: bytes) -> _Probe:
    """Walk opcodes checking stack, mark and memo needs the way the unpickler enforces them."""
    depth, count, named, called = 0, 0, False, False
    marks: list[int] = []
    memo: set[object] = set()
    try:
        for op, arg, _pos in pickletools.genops(sample):
            before = [x for x in op.stack_before if x is not pickletools.stackslice]
            if pickletools.markobject in before:
                at = before.index(pickletools.markobject)
                if not marks:
                    break
                mark = marks.pop()
                if depth - mark < len(before) - at - 1 or mark < at:
                    break
                depth = mark - at
            elif op.name == "POP" and marks and depth == marks[-1]:
                marks.pop()  # POP on a mark pops the mark
            elif depth - (marks[-1] if marks else 0) < len(before):
                break
            else:
                depth -= len(before)
            if op.name in _MEMO_GETS and arg not in memo:
                break
            if op.name in _MEMO_PUTS:
                memo.add(arg)
            elif op.name == "MEMOIZE":
                memo.add(len(memo))
            if pickletools.markobject in op.stack_after:
                marks.append(depth)
            else:
                depth += len(op.stack_after)
            count += 1
            named = named or op.name in _NAMING
            called = called or (named and op.name in _CALLING)
            if op.name == "STOP" or count >= _PICKLE_PROBE_OPS:
                return _Probe(True, count, named, called)
    except Exception:  # noqa: BLE001 - any decode failure ends the probe
        pass
    return _Probe(False, count, named, called)


def _pickle_detail(head: bytes) -> str:
    if head[:1] == b"\x80" and len(head) > 1:
        return f"pickle protocol {head[1]}"
    return "pickle protocol 0/1 (no PROTO opcode)"


def _text_kind(head: bytes, data: Buffer) -> Sniffed | None:
    sample = head + bytes(data[512:_TEXT_SAMPLE])
    encoding = json.detect_encoding(sample)
    if encoding.startswith(("utf-16", "utf-32")):
        return _wide_json(sample, data, encoding)
    if b"\x00" in sample:
        return None
    try:
        # json.loads(bytes) decodes with surrogatepass: encoded lone surrogates are text to it
        sample.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # a cut multi-byte sequence at the end is fine
            return None
    stripped = sample.removeprefix(codecs.BOM_UTF8).lstrip()
    if stripped[:1] in (b"{", b"["):
        return _json_kind(data, "")
    return Sniffed(Format.TEXT, "text")


def _wide_json(sample: bytes, data: Buffer, encoding: str) -> Sniffed | None:
    """UTF-16/32 text that opens like JSON: ``json.loads(bytes)`` (Keras) reads it.

    The encoding is guessed as ``json`` guesses it (``json.detect_encoding``: a BOM, or the
    NUL pattern of the first four bytes); other wide text stays unrecognised.
    """
    try:
        text = codecs.getincrementaldecoder(encoding)("surrogatepass").decode(sample)
    except UnicodeDecodeError:
        return None
    if text.lstrip(" \t\r\n\ufeff")[:1] not in ("{", "["):
        return None
    return _json_kind(data, f", {encoding.upper()}")


def _json_kind(data: Buffer, note: str) -> Sniffed:
    """JSON when ``json.loads`` takes the bytes (as loaders call it), else JSON-like text."""
    if len(data) <= 64 * 1024 * 1024:
        try:
            json.loads(bytes(data))
            return Sniffed(Format.JSON, f"JSON document{note}")
        except RecursionError:
            # too deep for Python's parser (so for loaders too): the config scanner says so
            return Sniffed(Format.JSON, f"JSON document{note} (nested too deeply to parse)")
        except ValueError:
            pass
    return Sniffed(Format.TEXT, f"text (JSON-like{note})")


def _describe_unknown(head: bytes) -> str:
    known = {
        b"\x89PNG": "PNG image",
        b"\xff\xd8\xff": "JPEG image",
        b"GIF8": "GIF image",
        b"%PDF": "PDF document",
        b"\xca\xfe\xba\xbe": "Mach-O/Java class",
        b"TFL3": "TFLite model",
        b"Rar!": "RAR archive",
    }
    for magic, name in known.items():
        if head.startswith(magic) or (magic == b"TFL3" and head[4:8] == magic):
            return name
    return f"unrecognised binary (starts {head[:8].hex()})"
