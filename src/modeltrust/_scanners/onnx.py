"""ONNX models: external data locations, custom and Python operators, metadata.

The model is parsed with the ``onnx`` protobuf classes only (``ModelProto.ParseFromString``):
external data is never loaded; ``onnx.checker`` and onnxruntime are never used. The walk over
the graph, its subgraphs (``If``/``Loop``/``Scan`` bodies), model-local functions and training
graphs is iterative, bounded in subgraph depth, node count and time.

What is reported:

* **External data** (``TensorProto.data_location == EXTERNAL``): a ``location`` that is
  absolute, climbs out with ``..``, or resolves through a symbolic link outside the model's
  folder makes ``onnx.load`` read (and ``save_external_data`` write) a file the publisher did
  not ship (CVE-2022-25882, CVE-2024-27318, CVE-2025-51480, CVE-2026-34447). Missing files,
  bad ``offset``/``length`` and hard-linked files are reported too.
* **Operators outside the built-in domains.** Built in, and not reported: the ONNX domains
  (``""``, ``ai.onnx``, ``ai.onnx.ml``, ``ai.onnx.preview.training``) and the ONNX Runtime
  domains compiled into every build (``com.microsoft`` and its ``nchwc``/``experimental``/
  ``dml``/internal NHWC variants). Any other domain, including ``ai.onnx.contrib`` from
  onnxruntime-extensions (whose operators may be Python functions), needs a custom operator
  library that the loading application registers: native or Python code outside the file.
* **Python operators**: ONNX Runtime's ``PyOp`` imports the module named in its ``module``
  attribute and calls ``class_name``; ``PythonOp``/``PyFunc`` call host-registered Python.
* Model-local functions (listed; their bodies are walked), metadata values that look like
  code, and malformed or oversized protobufs.
"""

from __future__ import annotations

import importlib
import os
import posixpath
import re
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modeltrust._inventory.formats import Format
from modeltrust._report.model import Coverage
from modeltrust._scanners import common
from modeltrust._scanners.interface import Result, ScanContext, Scanner
from modeltrust._source.interface import Artifact, Buffer
from modeltrust.findings import Location, Severity
from modeltrust.rules import finding, rule

_EXT_REFS = ("https://onnx.ai/onnx/repo-docs/ExternalData.html",)
_EXT_FIX = ("Do not load the model; external data must be a relative path to a file inside "
            "the model folder. Ask the publisher for a corrected model.")
ABSOLUTE = rule(
    "MT-ONX-001", "ONNX external data uses an absolute path", Severity.HIGH,
    """
    A tensor's external data ``location`` is an absolute path (``/etc/passwd``, ``C:\\...``).
    Older ``onnx.load`` versions and other loaders read that file into the tensor, disclosing
    it to whoever gets the model's outputs; re-saving the model writes to it
    (CVE-2024-27318, a bypass of the CVE-2022-25882 fix).
    """,
    fix=_EXT_FIX, cwe=22, references=("CVE-2024-27318", "CVE-2022-25882", *_EXT_REFS),
)
TRAVERSAL = rule(
    "MT-ONX-002", "ONNX external data path climbs out of the model folder", Severity.HIGH,
    """
    A tensor's external data ``location`` contains ``..`` components. When they lead outside
    the model's folder, loading reads an arbitrary file (CVE-2022-25882, CVE-2024-27318) and
    ``save_external_data`` overwrites one (CVE-2025-51480). Components that stay inside are
    reported at medium: conforming writers never produce them.
    """,
    fix=_EXT_FIX, cwe=22,
    references=("CVE-2022-25882", "CVE-2024-27318", "CVE-2025-51480", *_EXT_REFS),
)
SYMLINK = rule(
    "MT-ONX-003", "ONNX external data resolves through a link outside the folder", Severity.HIGH,
    """
    The external data file exists in the model folder but is a symbolic link (or sits under
    one) whose target lies outside the folder. ``onnx.load`` before 1.21.0 follows it and
    reads the target (CVE-2026-34447, GHSA-p433-9wv8-28xj).
    """,
    fix=_EXT_FIX, cwe=59, references=("CVE-2026-34447", "GHSA-p433-9wv8-28xj"),
)
MISSING = rule(
    "MT-ONX-004", "ONNX external data file is missing", Severity.MEDIUM,
    """
    A tensor's external data file is not in the model folder. The model cannot load as
    shipped; whoever supplies the file later decides the weights, and the scan could not
    check it.
    """,
    fix="Scan the complete model folder, with every external data file.",
)
BAD_EXTERNAL = rule(
    "MT-ONX-005", "ONNX external data reference is malformed", Severity.MEDIUM,
    """
    An external data entry has no ``location``, an empty or NUL-containing one, a negative
    or non-numeric ``offset``/``length``, or a range past the end of the file. Loaders treat
    such entries differently; they are also used to probe files.
    """,
    fix=_EXT_FIX,
)
HARDLINK = rule(
    "MT-ONX-006", "ONNX external data file has several hard links", Severity.LOW,
    """
    The external data file has more than one hard link. A hard link can be the same file as
    one outside the model folder, which ``onnx.load`` before 1.21.0 does not detect
    (CVE-2026-34446). Copies of a model normally have a single link per file.
    """,
    fix="Copy the model folder (cp without -l) and scan the copy.",
    cwe=59, references=("CVE-2026-34446",),
)
PYTHON_OP = rule(
    "MT-ONX-010", "ONNX model calls a Python operator", Severity.CRITICAL,
    """
    A node is ONNX Runtime's ``PyOp``: the runtime imports the Python module named in the
    node's ``module`` attribute and runs its ``class_name``, so the model file chooses code
    to execute. ``PythonOp``/``PyFunc`` nodes (high) call Python functions the host
    registered under the name the model gives.
    """,
    fix="Do not run the model with Python operators enabled; replace the node with ONNX ops.",
    cwe=94, references=("https://onnxruntime.ai/docs/reference/operators/PyOp.html",),
)
CUSTOM_DOMAIN = rule(
    "MT-ONX-011", "ONNX model uses operators from a custom domain", Severity.MEDIUM,
    """
    Nodes use an operator domain that neither ONNX nor ONNX Runtime implement. Running the
    model needs a custom operator library (native code, or Python for onnxruntime-extensions'
    ``ai.onnx.contrib``) registered by the application: code that was not reviewed with the
    model.
    """,
    fix="Review the custom operator library before registering it, or export with standard "
        "ONNX operators.",
)
DECLARED_DOMAIN = rule(
    "MT-ONX-012", "ONNX model imports a custom operator domain", Severity.LOW,
    """
    ``opset_import`` declares a custom domain that no node uses. Harmless on its own, but it
    signals tooling that expects a custom operator library.
    """,
    fix="Remove unused opset imports.",
)
LOCAL_FUNCTIONS = rule(
    "MT-ONX-013", "ONNX model defines local functions", Severity.INFO,
    """
    The model carries its own functions (``ModelProto.functions``); nodes calling them are
    expanded by the runtime. Their bodies were analysed like the main graph.
    """,
)
METADATA_CODE = rule(
    "MT-ONX-014", "ONNX metadata value looks like code", Severity.MEDIUM,
    """
    A ``metadata_props`` value contains Python or template syntax (imports, ``exec``,
    ``eval``, ``__import__``, Jinja blocks). Some pipelines evaluate metadata (pre/post
    processing snippets, chat templates); the value must not be run.
    """,
    fix="Remove code from model metadata.", cwe=94,
)
MALFORMED = rule(
    "MT-ONX-020", "ONNX protobuf is malformed", Severity.MEDIUM,
    """
    The file is named or sniffed as ONNX but does not parse as an ONNX ``ModelProto`` (or
    has no graph). Loaders and scanners may disagree on what such a file contains.
    """,
    fix="Re-export the model; treat the file as untrusted.", cwe=20,
)
LIMIT = rule(
    "MT-ONX-021", "ONNX analysis stopped at a limit", Severity.MEDIUM,
    """
    The model exceeds the protobuf size limit (2 GiB), nests subgraphs deeper than the
    analysis bound, or has more nodes than the bound. Whatever lies beyond was not examined.
    """,
    fix="Scan with larger limits, or review the model by other means.", cwe=400,
)
NOT_INSTALLED = rule(
    "MT-ONX-022", "ONNX support not installed", Severity.INFO,
    "The ``onnx`` package is not installed, so the ONNX model was not analysed.",
    fix="pip install 'modeltrust[formats]'",
)
RULES = (ABSOLUTE, TRAVERSAL, SYMLINK, MISSING, BAD_EXTERNAL, HARDLINK, PYTHON_OP,
         CUSTOM_DOMAIN, DECLARED_DOMAIN, LOCAL_FUNCTIONS, METADATA_CODE, MALFORMED, LIMIT,
         NOT_INSTALLED)

PROTOBUF_LIMIT = 2 * 1024**3
"""Protobuf refuses messages of 2 GiB or more; a larger "ONNX file" cannot be genuine."""
MAX_GRAPH_DEPTH = 16
"""Subgraph nesting followed (If/Loop/Scan bodies inside each other)."""
MAX_NODES = 2_000_000
"""Nodes visited over the whole model, all graphs and functions together."""
_MAX_LISTED = 20
_MAX_METADATA_CHARS = 65_536
STANDARD_DOMAINS = frozenset({
    "", "ai.onnx", "ai.onnx.ml", "ai.onnx.preview.training", "com.microsoft",
    "com.microsoft.nchwc", "com.microsoft.experimental", "com.microsoft.dml",
    "com.ms.internal.nhwc",
})
_PY_OPS = {"PyOp": Severity.CRITICAL, "PythonOp": Severity.HIGH, "PythonOpGrad": Severity.HIGH,
           "PyFunc": Severity.HIGH}
_PY_OPS_FOLDED = {name.casefold(): name for name in _PY_OPS}
_EXTERNAL = 1  # TensorProto.EXTERNAL
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/")
_CODE_LIKE = re.compile(
    r"(?:^|[\s;])(?:import\s+[A-Za-z_]|from\s+[A-Za-z_][\w.]*\s+import\s)|"
    r"\b(?:exec|eval|compile|__import__|getattr)\s*\(|os\.(?:system|popen)|subprocess\.|"
    r"pickle\.loads|b64decode|__(?:class|globals|builtins|subclasses)__|\{%|\{\{"
)


@dataclass
class _Walk:
    """What the walk over all graphs collected."""

    nodes: int = 0
    stopped: str = ""
    too_deep: list[str] = field(default_factory=list)
    ops: dict[str, Counter[str]] = field(default_factory=dict)
    python_ops: list[tuple[str, str, str]] = field(default_factory=list)
    externals: dict[str, list[tuple[str, dict[str, str], str]]] = field(default_factory=dict)


class OnnxScanner(Scanner):
    """ONNX protobuf models (parsed, never loaded or run)."""

    name = "onnx"
    formats = frozenset({Format.ONNX})
    rules = RULES

    def scan(self, artifact: Artifact, data: Buffer, fmt: Format, ctx: ScanContext) -> Result:
        """Parse the ModelProto, walk every graph and report what loading it would do."""
        try:
            from onnx import ModelProto

            decode_error: type[Exception] = importlib.import_module(
                "google.protobuf.message").DecodeError
        except ImportError:
            ctx.report(finding(NOT_INSTALLED, artifact.path, "python package 'onnx' is missing"))
            return Result.not_analysed("install modeltrust[formats] to read ONNX models")
        if len(data) >= PROTOBUF_LIMIT:
            ctx.report(finding(LIMIT, artifact.path, f"{len(data)} bytes: over the 2 GiB "
                               "protobuf limit, no ONNX loader can parse it"))
            return Result.not_analysed("larger than the 2 GiB protobuf limit", format=Format.ONNX)
        model = ModelProto()
        try:
            model.ParseFromString(memoryview(data))
        except (decode_error, RecursionError, MemoryError, ValueError, TypeError) as exc:
            ctx.report(finding(MALFORMED, artifact.path,
                               f"protobuf parse failed: {type(exc).__name__}: {exc}"[:300]))
            return Result.partial("malformed ONNX protobuf", format=Format.ONNX)
        if not model.HasField("graph"):
            ctx.report(finding(MALFORMED, artifact.path, "ModelProto has no graph"))
            return Result.partial("ONNX protobuf without a graph", format=Format.ONNX)
        walk = _walk_model(model, artifact.path, ctx)
        _report_ops(artifact.path, model, walk, ctx)
        _report_metadata(artifact.path, model, ctx)
        base = artifact.local.parent if artifact.local is not None else None
        _report_externals(artifact.path, base, walk, ctx)
        return _result(model, walk, base is None and bool(walk.externals))


def _result(model: Any, walk: _Walk, externals_unchecked: bool) -> Result:
    opsets = ",".join(sorted(f"{_s(o.domain) or 'ai.onnx'}:{o.version}"
                             for o in model.opset_import))
    producer = " ".join(_s(p) for p in (model.producer_name, model.producer_version) if p)
    props = [("onnx.ir_version", str(model.ir_version)), ("onnx.opsets", opsets),
             ("onnx.nodes", str(walk.nodes)), ("onnx.producer", producer[:200]),
             ("onnx.functions", str(len(model.functions))),
             ("onnx.external_tensors", str(sum(len(v) for v in walk.externals.values())))]
    detail = f"ONNX ir_version {model.ir_version}, {walk.nodes} nodes, opsets {opsets or '-'}"
    if walk.stopped:
        return Result(Coverage.PARTIAL, walk.stopped, detail, Format.ONNX, tuple(sorted(props)))
    if externals_unchecked:
        detail += " (external data files not checked: the model is not a local file)"
    return Result(detail=detail, format=Format.ONNX, properties=tuple(sorted(props)))


def _walk_model(model: Any, path: str, ctx: ScanContext) -> _Walk:
    """Visit every graph, function and training graph without recursion."""
    walk = _Walk()
    stack: list[tuple[Any, int, str]] = [(model.graph, 0, f"graph {_s(model.graph.name)!r}")]
    for info in model.training_info:
        for part in ("initialization", "algorithm"):
            if info.HasField(part):
                stack.append((getattr(info, part), 0, f"training {part}"))
    for fn in model.functions:
        stack.append((fn, 0, f"function {_s(fn.domain)}.{_s(fn.name)}"))
    while stack and not walk.stopped:
        graph, depth, where = stack.pop()
        for tensor in _graph_tensors(graph):
            _note_tensor(tensor, where, walk)
        for attr in getattr(graph, "attribute_proto", ()):
            _visit_attribute(attr, depth, where, stack, walk)
        for i, node in enumerate(graph.node):
            walk.nodes += 1
            if walk.nodes > MAX_NODES:
                walk.stopped = f"more than {MAX_NODES} nodes: the rest was not analysed"
                ctx.report(finding(LIMIT, path, walk.stopped, Location(detail=where)))
                break
            if walk.nodes % 4096 == 0 and time.monotonic() - ctx.started > ctx.limits.max_seconds:
                walk.stopped = "time limit reached: the rest was not analysed"
                ev = f"stopped after {walk.nodes} nodes ({ctx.limits.max_seconds:g} s budget)"
                ctx.report(finding(common.TIME_LIMIT, path, ev, Location(detail=where)))
                break
            _visit_node(node, depth, f"{where} node {i} {_s(node.name)!r}", stack, walk)
    if walk.too_deep:
        first = walk.too_deep[0]
        more = f" (and {len(walk.too_deep) - 1} more)" if len(walk.too_deep) > 1 else ""
        ctx.report(finding(LIMIT, path, f"subgraph nested deeper than {MAX_GRAPH_DEPTH} levels "
                           f"not analysed: {first}{more}", Location(detail=first)))
        walk.stopped = walk.stopped or f"subgraphs nested deeper than {MAX_GRAPH_DEPTH} levels"
    return walk


def _graph_tensors(graph: Any) -> list[Any]:
    tensors = list(getattr(graph, "initializer", ()))
    for sparse in getattr(graph, "sparse_initializer", ()):
        tensors.extend((sparse.values, sparse.indices))
    return tensors


def _visit_node(node: Any, depth: int, where: str, stack: list[tuple[Any, int, str]],
                walk: _Walk) -> None:
    domain, op_type = _s(node.domain), _s(node.op_type)
    walk.ops.setdefault(domain, Counter())[op_type] += 1
    if op_type.casefold() in _PY_OPS_FOLDED:
        canon = _PY_OPS_FOLDED[op_type.casefold()]
        attrs = {_s(a.name): _s(a.s) for a in node.attribute
                 if _s(a.name) in ("module", "class_name", "compute", "func_name") and a.s}
        named = ", ".join(f"{k}={v!r}" for k, v in sorted(attrs.items()))
        shown = op_type if canon == op_type else f"{op_type!r} (imitates {canon})"
        walk.python_ops.append((where, canon, f"{shown} in domain {domain!r}"
                                + (f" ({named})" if named else "")))
    for attr in node.attribute:
        _visit_attribute(attr, depth, where, stack, walk)


def _visit_attribute(attr: Any, depth: int, where: str, stack: list[tuple[Any, int, str]],
                     walk: _Walk) -> None:
    for tensor in _attribute_tensors(attr):
        _note_tensor(tensor, f"{where} attribute {_s(attr.name)!r}", walk)
    graphs = ([attr.g] if attr.HasField("g") else []) + list(attr.graphs)
    for sub in graphs:
        if depth + 1 > MAX_GRAPH_DEPTH:
            walk.too_deep.append(f"{where} attribute {_s(attr.name)!r}")
            continue
        stack.append((sub, depth + 1, f"{where} > graph {_s(sub.name)!r}"))


def _attribute_tensors(attr: Any) -> list[Any]:
    tensors = ([attr.t] if attr.HasField("t") else []) + list(attr.tensors)
    sparse = ([attr.sparse_tensor] if attr.HasField("sparse_tensor") else []) + list(
        attr.sparse_tensors)
    for s in sparse:
        tensors.extend((s.values, s.indices))
    return tensors


def _note_tensor(tensor: Any, where: str, walk: _Walk) -> None:
    if tensor.data_location != _EXTERNAL and not tensor.external_data:
        return
    info = {_s(e.key): _s(e.value) for e in tensor.external_data}
    location = info.get("location")
    key = "\x00missing" if location is None else location
    walk.externals.setdefault(key, []).append((_s(tensor.name), info, where))


def _report_ops(path: str, model: Any, walk: _Walk, ctx: ScanContext) -> None:
    """Python operators, custom domains, unused custom opset imports, local functions."""
    for where, op_type, evidence in sorted(walk.python_ops):
        ctx.report(finding(PYTHON_OP, path, evidence, Location(detail=where),
                           severity=_PY_OPS[op_type]))
    local = {(_s(f.domain), _s(f.name)) for f in model.functions}
    used: set[str] = set()
    for domain, counter in sorted(walk.ops.items()):
        used.add(domain)
        foreign = sorted(op for op in counter if (domain, op) not in local and op not in _PY_OPS)
        if domain in STANDARD_DOMAINS or not foreign:
            continue
        listed = ", ".join(f"{op} x{counter[op]}" for op in foreign[:_MAX_LISTED])
        more = f" and {len(foreign) - _MAX_LISTED} more" if len(foreign) > _MAX_LISTED else ""
        ctx.report(finding(CUSTOM_DOMAIN, path, f"domain {domain!r}: {listed}{more}",
                           Location(detail=f"operator domain {domain!r}")))
    local_domains = {d for d, _ in local}
    imports = [("opset_import", o) for o in model.opset_import] + [
        (f"function {_s(f.domain)}.{_s(f.name)} opset_import", o)
        for f in model.functions for o in f.opset_import]
    for where, opset in sorted(imports, key=lambda w: (w[0], _s(w[1].domain), w[1].version)):
        d = _s(opset.domain)
        if d not in STANDARD_DOMAINS and d not in used and d not in local_domains:
            ctx.report(finding(DECLARED_DOMAIN, path, f"{where} {d!r} version "
                               f"{opset.version}", Location(detail=where)))
    if local:
        names = sorted(f"{d}.{n}" if d else n for d, n in local)
        more = f" and {len(names) - _MAX_LISTED} more" if len(names) > _MAX_LISTED else ""
        ctx.report(finding(LOCAL_FUNCTIONS, path, f"{len(names)} functions: "
                           f"{', '.join(names[:_MAX_LISTED])}{more}",
                           Location(detail="functions")))


def _report_metadata(path: str, model: Any, ctx: ScanContext) -> None:
    for i, prop in enumerate(model.metadata_props):
        key, value = _s(prop.key), _s(prop.value)[:_MAX_METADATA_CHARS]
        m = _CODE_LIKE.search(value)
        if m is None:
            continue
        start = max(0, m.start() - 40)
        snippet = value[start : m.end() + 60].replace("\n", "\\n")
        ctx.report(finding(METADATA_CODE, path, f"{key!r}: ...{snippet}...",
                           Location(detail=f"metadata_props[{i}] {key!r}")))


def _report_externals(path: str, base: Path | None, walk: _Walk, ctx: ScanContext) -> None:
    """One finding per distinct location and problem, naming the first tensor using it."""
    allowed = _allowed_root(base) if base is not None else None
    for location in sorted(walk.externals):
        users = sorted(walk.externals[location], key=lambda u: (u[0], u[2]))
        name, _info, where = users[0]
        others = f" (and {len(users) - 1} more tensors)" if len(users) > 1 else ""
        shown = "no location" if location == "\x00missing" else repr(location)
        loc = Location(tensor=name, detail=f"external data {shown}")
        for r, sev, why in _check_location(location, base, allowed, users):
            ev = f"tensor {name!r} ({where}) reads external data from {shown}: {why}{others}"
            ctx.report(finding(r, path, ev, loc, severity=sev))


def _check_location(
    location: str, base: Path | None, allowed: Path | None,
    users: list[tuple[str, dict[str, str], str]],
) -> list[tuple[Any, Severity | None, str]]:
    if location == "\x00missing":
        return [(BAD_EXTERNAL, None, "external_data has no 'location' key")]
    if not location or "\x00" in location:
        return [(BAD_EXTERNAL, None, "empty or NUL-containing location")]
    posix = location.replace("\\", "/")
    decoded = urllib.parse.unquote(posix).replace("\\", "/")
    if _SCHEME.match(posix):
        return [(ABSOLUTE, None, "a URL, not a path inside the model folder")]
    forms = [(posix, "")] + ([(decoded, " once percent-decoded")] if decoded != posix else [])
    for form, how in forms:
        if form.startswith("/") or re.match(r"^[A-Za-z]:", form):
            return [(ABSOLUTE, None, f"absolute path{how}")]
        norm_form = posixpath.normpath(form)
        if how and ".." in form.split("/") and (norm_form == ".." or
                                                  norm_form.startswith("../")):
            return [(TRAVERSAL, None, f"'..' leads outside the model folder{how}")]
    if posix.startswith("~"):
        return [(ABSOLUTE, Severity.MEDIUM, "home-relative path ('~' is expanded by some "
                 "tools)")]
    parts = posix.split("/")
    norm = posixpath.normpath(posix)
    if ".." in parts:
        if norm == ".." or norm.startswith("../"):
            return [(TRAVERSAL, None, f"'..' leads outside the model folder (to {norm!r})")]
        found: list[tuple[Any, Severity | None, str]] = [
            (TRAVERSAL, Severity.MEDIUM, f"'..' components (stays inside as {norm!r})")]
    else:
        found = []
    if base is None or allowed is None:
        return found
    return found + _check_file(base / norm, allowed, users)


def _check_file(
    target: Path, allowed: Path, users: list[tuple[str, dict[str, str], str]]
) -> list[tuple[Any, Severity | None, str]]:
    if not os.path.lexists(target):
        return [(MISSING, None, "no such file in the model folder")]
    try:
        real = target.resolve(strict=True)
        st = real.stat()
    except (OSError, RuntimeError) as exc:
        return [(MISSING, None, f"cannot be resolved: {type(exc).__name__}")]
    if real != allowed and allowed not in real.parents:
        return [(SYMLINK, None, f"resolves to {str(real)!r}, outside the model folder")]
    if not target.is_file():
        return [(BAD_EXTERNAL, None, "not a regular file")]
    found: list[tuple[Any, Severity | None, str]] = []
    if st.st_nlink > 1:
        found.append((HARDLINK, None, f"the file has {st.st_nlink} hard links"))
    for name, info, _where in users:
        problem = _range_problem(info, st.st_size)
        if problem:
            found.append((BAD_EXTERNAL, None, f"tensor {name!r}: {problem}"))
            break
    return found


def _range_problem(info: dict[str, str], size: int) -> str:
    values: dict[str, int] = {}
    for key in ("offset", "length"):
        raw = info.get(key)
        if raw is None:
            continue
        if not raw.strip().isdigit():
            return f"{key} {raw[:40]!r} is not a non-negative integer"
        values[key] = int(raw)
    offset = values.get("offset", 0)
    end = offset + values.get("length", 0)
    if offset > size or end > size:
        return f"range {offset}..{end} runs past the end of the {size}-byte file"
    return ""


def _s(value: object) -> str:
    """Proto2 string fields come back as ``bytes`` when they are not valid UTF-8."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _allowed_root(base: Path) -> Path | None:
    """The real folder external data must stay in (a Hugging Face cache root for snapshots)."""
    try:
        real = base.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    for parent in (real, *real.parents):
        if parent.name.startswith("models--") and (parent / "snapshots").is_dir():
            return parent
    return real
