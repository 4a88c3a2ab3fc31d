"""HDF5 structure checks: links and storage that reach outside the file, hidden data.

HDF5 can make a dataset's bytes come from another file (external storage, virtual
datasets) or make a path resolve into another file (external links). Loading weights from
such a file reads whatever it points at (CVE-2026-1669). The file is opened read-only with
h5py, which parses metadata only; the walk itself never follows external or soft links,
never reads datasets backed by other files, and is bounded in objects, depth and time. The
HDF5 C library can hang on crafted files, so the walk runs in a child process with a deadline.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modeltrust._scanners.interface import ScanContext
from modeltrust._source.interface import MEMBER_SEP, Artifact, Buffer, ExpansionBudget, Limits
from modeltrust.findings import Location, Rule, Severity
from modeltrust.rules import finding, rule

_H5_FIX = "Do not load the file; re-save the weights so that all data lives inside it."
H5_EXTERNAL_LINK = rule(
    "MT-H5-001", "HDF5 link into another file", Severity.HIGH,
    """
    An HDF5 external link (or a soft link routed through one) makes the library open another
    file when the object is accessed. A model file that reaches outside itself can read local
    files into the model or depend on files the publisher did not ship.
    """,
    fix=_H5_FIX, cwe=73, references=("CVE-2026-1669",),
)
H5_SOFT_LINK = rule(
    "MT-H5-002", "HDF5 soft link points nowhere", Severity.LOW,
    """
    A soft link names a path that does not exist in the file. Writers of model files never
    produce dangling links; it may be damage or an attempt to confuse readers.
    """,
    fix="Re-save the file.",
)
H5_EXTERNAL_STORAGE = rule(
    "MT-H5-003", "HDF5 dataset stored in an external file", Severity.HIGH,
    """
    The dataset's bytes live in another file (HDF5 external storage). Reading the tensor
    reads that file, so a crafted model can pull ``/etc/passwd`` or credentials into its
    weights when Keras loads it (CVE-2026-1669, arbitrary file read).
    """,
    fix=_H5_FIX, cwe=73, references=("CVE-2026-1669",),
)
H5_VIRTUAL = rule(
    "MT-H5-004", "HDF5 virtual dataset reads other files", Severity.HIGH,
    """
    A virtual dataset maps its content from datasets in other files; reading it opens them,
    with the same file-disclosure effect as external storage.
    """,
    fix=_H5_FIX, cwe=73, references=("CVE-2026-1669",),
)
H5_USERBLOCK = rule(
    "MT-H5-005", "HDF5 user block holds data", Severity.LOW,
    """
    The file reserves a user block before the HDF5 superblock and it is not empty. Model
    writers do not use it; it can hide a second file (scanned as a file of its own).
    """,
    fix="Re-save the file without a user block.",
)
H5_PICKLE = rule(
    "MT-H5-006", "HDF5 attribute or dataset holds a pickle or archive", Severity.HIGH,
    """
    Opaque or object data in the file starts like a pickle or a zip archive. Code that
    reads the file may unpickle it; the payload is scanned as a file of its own.
    """,
    fix=_H5_FIX, cwe=502,
)
H5_MALFORMED = rule(
    "MT-H5-007", "HDF5 file or object cannot be read", Severity.MEDIUM,
    """
    The HDF5 library refused the file or one of its objects, so it was not fully analysed.
    Damaged files cannot be vouched for; malformed HDF5 is also used to crash loaders.
    """,
    fix="Download the file again and compare its digest with the publisher's.",
)
H5_LIMIT = rule(
    "MT-H5-008", "HDF5 analysis stopped at a limit", Severity.MEDIUM,
    """
    The file has more objects, deeper nesting or larger attributes than the scanner walks,
    or the time budget ran out; the rest was not examined.
    """,
    fix="Inspect the file with h5dump, or scan it with larger limits.", cwe=400,
)
H5_NO_READER = rule(
    "MT-H5-009", "HDF5 support not installed", Severity.INFO,
    "h5py is not installed, so HDF5 files (legacy Keras models) were not analysed.",
    fix="pip install 'modeltrust[formats]'",
)

RULES = (H5_EXTERNAL_LINK, H5_SOFT_LINK, H5_EXTERNAL_STORAGE, H5_VIRTUAL, H5_USERBLOCK,
         H5_PICKLE, H5_MALFORMED, H5_LIMIT, H5_NO_READER)
MAX_H5_OBJECTS = 100_000
MAX_H5_DEPTH = 64
MAX_ATTR_BYTES = 64 * 1024 * 1024
MAX_PEEK_BYTES = 1024 * 1024
MAX_ATTRS = 4096
_H5_ERRORS = (OSError, ValueError, RuntimeError, KeyError, TypeError, IndexError)


@dataclass
class _H5:
    artifact: Artifact
    ctx: ScanContext
    h5py: object
    root: object = None
    objects: int = 0
    stopped: str = ""
    seen: set[object] = field(default_factory=set)
    attrs: dict[str, object] = field(default_factory=dict)

    def report(self, r: Rule, evidence: str, where: str, sev: Severity | None = None) -> None:
        self.ctx.report(finding(r, self.artifact.path, evidence,
                                Location(detail=f"HDF5 {where}"), severity=sev))

    def stop(self, why: str, where: str) -> None:
        if not self.stopped:
            self.stopped = why
            self.report(H5_LIMIT, why, where)


@dataclass(frozen=True)
class Walked:
    """What the walk saw: root attributes, object count, and why it stopped early.

    ``odd`` names the Keras attributes whose stored type Keras cannot read as text
    (arrays, numbers, bytes that are not UTF-8), with a description.
    """

    attrs: dict[str, str]
    objects: int
    stopped: str
    odd: dict[str, str] = field(default_factory=dict)


def walk_hdf5(artifact: Artifact, data: Buffer, ctx: ScanContext) -> Walked | str:
    """Check the file's structure; return what was seen, or why it could not be opened.

    The HDF5 C library is not hardened against hostile files (crafted attributes make it
    loop forever), so the walk runs in a child process that is killed at the time budget;
    its findings and extracted payloads come back as JSON.
    """
    if importlib.util.find_spec("h5py") is None:
        ctx.report(finding(H5_NO_READER, artifact.path, "h5py is not installed"))
        return "install modeltrust[formats] to read HDF5"
    left = ctx.limits.max_seconds - (time.monotonic() - ctx.started)
    timeout = max(MIN_SECONDS, left)
    src = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [src] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    local = artifact.local is not None
    cmd = [sys.executable, "-c", _CHILD, str(artifact.local) if local else "-"]
    try:
        done = subprocess.run(cmd, input=b"" if local else bytes(data), capture_output=True,
                              timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        ctx.report(finding(H5_MALFORMED, artifact.path, f"the HDF5 library did not finish "
                           f"reading the file within {timeout:.0f} s (a crafted file can make "
                           f"it loop forever)", Location(offset=0), severity=Severity.HIGH))
        return "HDF5 library timed out on this file"
    if done.returncode != 0 or not done.stdout:
        err = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        ctx.report(finding(H5_MALFORMED, artifact.path, f"the HDF5 reader process failed "
                           f"(exit {done.returncode}): {err[0][:300]}", Location(offset=0)))
        return "HDF5 reader process failed"
    return _collect(artifact, ctx, json.loads(done.stdout))


def _collect(artifact: Artifact, ctx: ScanContext, out: dict[str, Any]) -> Walked | str:
    for rule_id, sev, evidence, detail, offset in out["findings"]:
        r = _BY_ID[rule_id]
        ctx.report(finding(r, artifact.path, evidence, Location(offset=offset, detail=detail),
                           severity=Severity(sev)))
    for name, b64 in out["children"]:
        raw = base64.b64decode(b64)
        if ctx.budget.take(len(raw)):
            ctx.scan_child(artifact.child(name, raw))
    if out["error"]:
        return str(out["error"])
    return Walked(dict(out["attrs"]), int(out["objects"]), str(out["stopped"]),
                  dict(out.get("odd", {})))


_CHILD = "from modeltrust._scanners._hdf5 import child_main; child_main()"
MIN_SECONDS = 5.0
_BY_ID = {r.id: r for r in RULES}


def child_main() -> None:
    """Entry point of the reader process: walk one file, print the outcome as JSON."""
    import h5py  # type: ignore[import-untyped]

    target = sys.argv[1]
    children: list[Artifact] = []
    ctx = ScanContext(Limits(), ExpansionBudget(Limits().max_member_size), children.append)
    art = Artifact("x", 0)
    if target == "-":
        data: bytes = sys.stdin.buffer.read()
        source: object = io.BytesIO(data)
    else:
        source = target
        with open(target, "rb") as fh:
            data = fh.read(MAX_USERBLOCK)
    walked = _walk(art, ctx, h5py, source, data)
    out = {
        "findings": [[f.rule_id, f.severity.value, f.evidence, f.location.detail,
                      f.location.offset] for f in ctx.findings],
        "children": [[c.path.split(MEMBER_SEP, 1)[1], base64.b64encode(c._data or b"").decode()]
                     for c in children],
        "error": walked if isinstance(walked, str) else "",
        "attrs": {} if isinstance(walked, str) else walked.attrs,
        "objects": 0 if isinstance(walked, str) else walked.objects,
        "stopped": "" if isinstance(walked, str) else walked.stopped,
        "odd": {} if isinstance(walked, str) else walked.odd,
    }
    sys.stdout.write(json.dumps(out))


def _walk(art: Artifact, ctx: ScanContext, h5py: Any, source: object, data: bytes
          ) -> Walked | str:
    try:
        fh = h5py.File(source, "r")
    except _H5_ERRORS as exc:
        ctx.report(finding(H5_MALFORMED, art.path, f"h5py cannot open the file: "
                           f"{type(exc).__name__}: {exc}", Location(offset=0)))
        return "HDF5 file could not be opened"
    walk = _H5(art, ctx, h5py, fh)
    with fh:
        _userblock(walk, fh, data)
        attrs = _check_attrs(walk, fh, "/")
        _walk_group(walk, fh, "/", 0)
    texts = {k: _text(v) for k, v in attrs.items() if k in _KEEP}
    odd = {k: why for k, v in attrs.items() if k in _KEEP and (why := _not_text(v))}
    return Walked({k: v for k, v in texts.items() if v is not None}, walk.objects, walk.stopped,
                  odd)


_KEEP = frozenset({"model_config", "training_config", "keras_version", "backend",
                   "layer_names"})
MAX_USERBLOCK = 1 << 20


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "size", 0) == 1:
        return _text(item())
    if hasattr(value, "tolist"):
        return json.dumps([_text(v) for v in value.tolist()][:10_000])
    return None


def _not_text(value: object) -> str:
    """Why Keras could not read ``value`` as JSON text ("" when it can)."""
    if isinstance(value, str):
        return ""
    if isinstance(value, bytes):
        try:
            value.decode("utf-8")
        except UnicodeDecodeError as exc:
            return f"bytes that are not UTF-8 ({exc.reason} at byte {exc.start})"
        return ""
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    return f"a {type(value).__name__}" + (f" of shape {shape} and dtype {dtype}"
                                          if shape is not None else "") + ", not a string"


def _userblock(walk: _H5, fh: object, data: bytes) -> None:
    size = int(getattr(fh, "userblock_size", 0) or 0)
    if size <= 0:
        return
    if size > len(data):
        walk.report(H5_USERBLOCK, f"{size}-byte user block (larger than the {len(data)} bytes "
                    f"read)", "user block")
        return
    block = bytes(data[:size])
    if block.strip(b"\x00"):
        walk.report(H5_USERBLOCK, f"{size}-byte user block with data", "user block")
        if walk.ctx.budget.take(size):
            walk.ctx.scan_child(walk.artifact.child("@userblock", block))


def _check_attrs(walk: _H5, obj: object, path: str) -> dict[str, object]:
    out: dict[str, object] = {}
    try:
        names = sorted(obj.attrs)  # type: ignore[attr-defined]
    except _H5_ERRORS as exc:
        walk.report(H5_MALFORMED, f"attributes unreadable: {exc}", f"object {path}")
        return out
    if len(names) > MAX_ATTRS:
        walk.stop(f"{len(names)} attributes, only {MAX_ATTRS} read", f"object {path}")
    keep = [n for n in names if n in _KEEP] if path == "/" else []
    for name in keep + [n for n in names if n not in keep][:MAX_ATTRS - len(keep)]:
        where = f"attribute {path}@{name}"
        try:
            size = obj.attrs.get_id(name).get_storage_size()  # type: ignore[attr-defined]
            if size > MAX_ATTR_BYTES:
                walk.stop(f"attribute of {size} bytes not read", where)
                continue
            value = obj.attrs[name]  # type: ignore[attr-defined]
        except _H5_ERRORS as exc:
            walk.report(H5_MALFORMED, f"attribute unreadable: {type(exc).__name__}: {exc}",
                        where)
            continue
        out[name] = value
        _peek(walk, value, where)
    return out


def _peek(walk: _H5, value: Any, where: str) -> None:
    """Opaque/object values that start like a pickle or a zip are findings and are scanned."""
    dtype = getattr(value, "dtype", None)
    if isinstance(value, bytes):
        items: list[object] = [value]
    elif dtype is not None and dtype.kind in "VOS" and hasattr(value, "ravel"):
        items = value.ravel().tolist()[:64]
    else:
        return  # numbers and text: their bytes are not a payload a reader would load
    for i, item in enumerate(items):
        raw = item.tobytes() if hasattr(item, "tobytes") else item
        if not isinstance(raw, bytes) or len(raw) < 4:
            continue
        pickle = raw[:1] == b"\x80" and 2 <= raw[1] <= 5
        if pickle or raw.startswith(b"PK\x03\x04"):
            kind = "pickle" if pickle else "zip archive"
            walk.report(H5_PICKLE, f"{len(raw)} bytes starting like a {kind}", where)
            name = "@" + where.split(" ", 1)[1].lstrip("/") + f"[{i}]"
            if walk.ctx.budget.take(len(raw)):
                walk.ctx.scan_child(walk.artifact.child(name, raw))


def _walk_group(walk: _H5, group: object, path: str, depth: int) -> None:
    if depth > MAX_H5_DEPTH:
        walk.stop(f"groups nested deeper than {MAX_H5_DEPTH}", f"group {path}")
        return
    try:
        names = []
        for name in group:  # type: ignore[attr-defined]
            names.append(name)
            if len(names) > MAX_H5_OBJECTS:
                break
    except _H5_ERRORS as exc:
        walk.report(H5_MALFORMED, f"group unreadable: {exc}", f"group {path}")
        return
    for name in sorted(names):
        walk.objects += 1
        if walk.objects > MAX_H5_OBJECTS:
            walk.stop(f"more than {MAX_H5_OBJECTS} objects", f"group {path}")
            return
        if time.monotonic() - walk.ctx.started > walk.ctx.limits.max_seconds:
            walk.stop("time budget exhausted", f"group {path}")
            return
        child = f"{path.rstrip('/')}/{name}"
        try:
            _visit_link(walk, group, name, child, depth)
        except _H5_ERRORS as exc:
            walk.report(H5_MALFORMED, f"object unreadable: {type(exc).__name__}: {exc}",
                        f"object {child}")


def _visit_link(walk: _H5, group: object, name: str, path: str, depth: int) -> None:
    h5py: Any = walk.h5py
    link = group.get(name, getlink=True)  # type: ignore[attr-defined]
    if isinstance(link, h5py.ExternalLink):
        walk.report(H5_EXTERNAL_LINK, f"external link to {link.filename!r} object "
                    f"{link.path!r}", f"link {path}")
        return
    if isinstance(link, h5py.SoftLink):
        _check_soft(walk, link.path, path)
        return
    obj = group[name]  # type: ignore[index]
    if obj.id in walk.seen:
        return
    walk.seen.add(obj.id)
    _check_attrs(walk, obj, path)
    if isinstance(obj, h5py.Group):
        _walk_group(walk, obj, path, depth + 1)
    elif isinstance(obj, h5py.Dataset):
        _check_dataset(walk, obj, path)


def _check_soft(walk: _H5, target: str, path: str) -> None:
    h5py: Any = walk.h5py
    cur: Any = walk.root
    parts = [p for p in target.split("/") if p]
    hops = 0
    while parts:
        link = cur.get(parts[0], getlink=True) if isinstance(cur, h5py.Group) else None
        if link is None:
            walk.report(H5_SOFT_LINK, f"soft link to {target!r} does not resolve",
                        f"link {path}")
            return
        if isinstance(link, h5py.ExternalLink):
            walk.report(H5_EXTERNAL_LINK, f"soft link to {target!r} goes through an external "
                        f"link to {link.filename!r}", f"link {path}")
            return
        if isinstance(link, h5py.SoftLink):
            hops += 1
            if hops > 16:
                walk.report(H5_SOFT_LINK, f"soft link chain from {target!r} too long or "
                            f"circular", f"link {path}")
                return
            parts = [p for p in link.path.split("/") if p] + parts[1:]
            cur = walk.root
            continue
        cur = cur[parts[0]]
        parts = parts[1:]


def _check_dataset(walk: _H5, ds: Any, path: str) -> None:
    external = ds.external
    if external:
        files = sorted({str(e[0]) for e in external})
        walk.report(H5_EXTERNAL_STORAGE, f"dataset bytes read from {files}",
                    f"dataset {path}")
        return
    if ds.is_virtual:
        sources = sorted({f"{m.file_name}:{m.dset_name}" for m in ds.virtual_sources()
                          if m.file_name not in (".", "")})
        if sources:
            walk.report(H5_VIRTUAL, f"virtual dataset maps {sources[:10]}", f"dataset {path}")
        return
    if ds.dtype.kind in "VO" and ds.size and ds.size * max(ds.dtype.itemsize, 1) <= (
            MAX_PEEK_BYTES):
        _peek(walk, ds[()], f"dataset {path}")
