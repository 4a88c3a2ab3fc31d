"""The walk of a Keras model config: every object it names, and every string in it.

A Keras model is rebuilt from a JSON config in which every object names the class (and for
Keras 3 the module) to instantiate. Loading is therefore exactly as safe as the names in
the config: a ``module`` outside Keras imports anything (CVE-2025-1550), and even classes
inside Keras download files, read local files, unpickle torch modules or switch safe mode
off (CVE-2025-8747, CVE-2025-9906, CVE-2025-49655, CVE-2025-12058, CVE-2025-12060,
CVE-2026-1462). :func:`check_keras_config` walks a parsed config (from ``config.json``, an
HDF5 attribute or a SavedModel) within node and depth bounds and grades all of that
against :mod:`.keras_names`; ``Lambda`` code is read by :mod:`.keras_lambda`.
"""

from __future__ import annotations

import json
import re

from modeltrust._scanners.config_parse import loads_tracking
from modeltrust._scanners.interface import ScanContext
from modeltrust._scanners.keras_lambda import (
    MAX_BLOB,
    b64,
    check_lambda,
    code_in_string,
    report_code,
)
from modeltrust._scanners.keras_names import (
    DANGER_CALLS,
    DANGER_PARTS,
    FILE_KEYS,
    GADGET_MODULES,
    GADGETS,
    KERAS_ROOTS,
    SAFE_FN_PARENTS,
    TF_SAFE_NS,
    dangerous,
    is_keras_module,
    leaf,
)
from modeltrust._scanners.keras_rules import (
    EMBEDDED_BLOB,
    EXTERNAL_PATH,
    FOREIGN_MODULE,
    GADGET,
    LAMBDA_NAMED,
    LIMIT,
    MALFORMED,
    Walk,
)
from modeltrust._source.interface import Artifact
from modeltrust.findings import Location, Severity
from modeltrust.rules import finding

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]{1,15}://")
MAX_NODES = 200_000
MAX_DEPTH = 100



def check_keras_config(config: object, artifact: Artifact, ctx: ScanContext, where: str) -> None:
    """Check a parsed Keras model config (from config.json or an HDF5 attribute).

    ``where`` names the config's origin (``config.json``, ``attribute model_config``) and
    prefixes every finding's location, followed by the JSON path of the offending value.
    """
    walk = Walk(artifact, ctx, where)
    if not isinstance(config, dict | list):
        walk.report(MALFORMED, "", f"config is a {type(config).__name__}, not an object")
        return
    _visit(walk, config, "", 0, "")


def _visit(walk: Walk, value: object, path: str, depth: int, key: str) -> None:
    if walk.stopped:
        return
    walk.nodes += 1
    if walk.nodes > MAX_NODES or depth > MAX_DEPTH:
        walk.stopped = True
        what = f"more than {MAX_NODES} values" if walk.nodes > MAX_NODES else (
            f"nesting deeper than {MAX_DEPTH}")
        walk.report(LIMIT, path, f"config has {what}; the rest was not checked")
        return
    if isinstance(value, dict):
        if "class_name" in value:
            _check_object(walk, value, path)
        if value.get("safe_mode") is False:
            walk.report(GADGET, f"{path}.safe_mode", "safe_mode=False handed to a nested "
                        "call: a load it reaches runs Lambda bytecode (CVE-2025-9906)",
                        Severity.CRITICAL)
        for k in sorted(value, key=str):
            _visit(walk, value[k], f"{path}.{k}", depth + 1, str(k))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _visit(walk, item, f"{path}[{i}]", depth + 1, key)
    elif isinstance(value, str):
        _check_string(walk, value, path, depth, key)


def _targets(obj: dict[object, object]) -> list[str]:
    """Every name Keras may resolve for this object: class, function, spec, registered."""
    names = [obj.get("class_name"), obj.get("spec_name"), obj.get("registered_name")]
    if obj.get("class_name") == "function":
        names.insert(0, obj.get("config"))
    return [n for n in names if isinstance(n, str) and n and n != "function"]


def _check_object(walk: Walk, obj: dict[object, object], path: str) -> None:
    cls = obj.get("class_name")
    module = obj.get("module")
    cls_s = cls if isinstance(cls, str) else ""
    targets = _targets(obj)
    target = targets[0] if targets else cls_s
    mod = module if isinstance(module, str) else ""
    qual = f"{mod}.{target}" if mod else target
    if mod and not is_keras_module(mod):
        sev = Severity.CRITICAL if dangerous(mod, targets) else None
        cfg = obj.get("config")
        walk.report(FOREIGN_MODULE, path, f"module {mod!r} class_name {cls_s!r}"
                    f"{f' config {cfg!r}' if cls_s == 'function' else ''} -> {qual}", sev)
    else:
        _check_names(walk, obj, path, mod)
    _check_gadget(walk, path, mod, targets, qual, cls_s == "function")
    cfg = obj.get("config")
    if cls_s in ("Lambda", "__lambda__") and isinstance(cfg, dict):
        check_lambda(walk, cfg, path, cls_s)
    elif cls_s in ("TFOpLambda", "SlicingOpLambda") and isinstance(cfg, dict):
        _check_tf_op(walk, cfg.get("function"), f"{path}.config.function")


def _check_names(walk: Walk, obj: dict[object, object], path: str, module: str) -> None:
    """Registered names from other packages, and dotted class names without a module."""
    registered = obj.get("registered_name")
    if isinstance(registered, str) and ">" in registered:
        package = registered.split(">", 1)[0]
        if package.split(".", 1)[0] not in KERAS_ROOTS:
            walk.report(FOREIGN_MODULE, path, f"registered_name {registered!r} (custom object "
                        f"from package {package!r})", Severity.MEDIUM)
    cls = obj.get("class_name")
    if not module and isinstance(cls, str) and ("." in cls or ">" in cls) and (
            cls.split(".", 1)[0].split(">", 1)[0] not in KERAS_ROOTS):
        sev = Severity.HIGH if dangerous(cls.rsplit(".", 1)[0], [cls]) else Severity.MEDIUM
        walk.report(FOREIGN_MODULE, path, f"class_name {cls!r} names an object outside "
                    f"Keras", sev)


def _check_gadget(walk: Walk, path: str, module: str, targets: list[str], qual: str,
                  is_fn: bool) -> None:
    for name in [*targets, *module.split(".")]:
        gadget = GADGETS.get(leaf(name))
        if gadget is not None:
            walk.report(GADGET, path, f"{qual or name}: {gadget[1]}", gadget[0])
            return
    if not module or not is_keras_module(module):
        return
    parts = module.split(".")
    for part in parts:
        if part in GADGET_MODULES:
            sev = Severity.HIGH if is_fn else Severity.MEDIUM
            walk.report(GADGET, path, f"{qual}: object from {GADGET_MODULES[part]}", sev)
            return
    if is_fn and not module.endswith(SAFE_FN_PARENTS):
        walk.report(GADGET, path, f"{qual}: Keras function outside the activation/loss/"
                    f"metric namespaces", Severity.MEDIUM)


def _check_tf_op(walk: Walk, fn: object, path: str) -> None:
    """A Keras 2 ``TFOpLambda``: a TensorFlow API symbol called when the model is built."""
    if not isinstance(fn, str):
        walk.report(LAMBDA_NAMED, path, f"TFOpLambda function is a {type(fn).__name__}")
        return
    parts = [p for p in fn.split(".") if p]
    while parts[:1] and parts[0] in ("compat", "v1", "v2"):
        parts = parts[1:]
    if (DANGER_PARTS - {"raw_ops"}).intersection(parts) or DANGER_CALLS.intersection(parts):
        walk.report(GADGET, path, f"TFOpLambda calls tf.{fn}: a TensorFlow op that touches "
                    f"files, the interpreter or the outside world", Severity.HIGH)
    elif (len(parts) > 1 and ".".join(parts[:-1]) not in TF_SAFE_NS and (
            parts[0] not in TF_SAFE_NS)) or parts == ["print"]:
        why = "tf.print can write to a file" if parts == ["print"] else (
            "outside the reviewed math/nn/linalg namespaces")
        walk.report(GADGET, path, f"TFOpLambda calls tf.{fn}: {why}", Severity.MEDIUM)


def _check_string(walk: Walk, value: str, path: str, depth: int, key: str) -> None:
    code = code_in_string(value)
    if code is not None:
        report_code(walk, code, path)
        return
    if value == "safe_mode_saving":
        walk.report(GADGET, path, "names the global safe_mode switch 'safe_mode_saving' "
                    "(CVE-2025-9906)", Severity.CRITICAL)
    _check_path(walk, value, path, key)
    if len(value) >= 16 and value[:4] == "UEsD" or value[:3] in ("gAS", "gAJ", "gAN", "gAR",
                                                              "gAU"):
        _check_blob(walk, value, path)
    elif value.lstrip()[:1] in ("{", "[") and len(value) <= MAX_BLOB:
        try:
            inner = json.loads(value)
        except (ValueError, RecursionError):
            return
        if isinstance(inner, dict | list):
            _visit(walk, inner, f"{path}<json>", depth + 1, key)


_ABS = re.compile(r"^(?:/[^/\s]+/|~[\w.-]*/|[A-Za-z]:[\\/]|file:|\\\\)")


def _check_path(walk: Walk, value: str, path: str, key: str) -> None:
    v = value.strip()
    is_url = bool(_URL.match(v))
    if key.lower() in FILE_KEYS:
        local = v.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:[\\/]", v) is not None
        traversal = ".." in re.split(r"[\\/]", v)
        if is_url or local or traversal:
            kind = "URL" if is_url else "path outside the model" if traversal else "local path"
            walk.report(EXTERNAL_PATH, path, f"{key} = {v[:200]!r} ({kind})")
    elif is_url and not v.lower().startswith(("http://www.apache.org", "https://www.apache.org")):
        walk.report(EXTERNAL_PATH, path, f"{key} = {v[:200]!r} (URL)", Severity.MEDIUM)
    elif _ABS.match(v) and "\n" not in v and len(v) < 4096:
        walk.report(EXTERNAL_PATH, path, f"{key} = {v[:200]!r} (absolute local path)",
                    Severity.MEDIUM)


def _check_blob(walk: Walk, value: str, path: str) -> None:
    raw = b64(value)
    if raw is None or not (raw.startswith(b"PK\x03\x04") or raw[:1] == b"\x80"):
        return
    kind = "zip archive" if raw.startswith(b"PK") else "pickle"
    walk.report(EMBEDDED_BLOB, path, f"base64 string decodes to a {len(raw)}-byte {kind}")
    if walk.ctx.budget.take(len(raw)):
        name = f"{walk.where}@{path.lstrip('.')}"
        walk.ctx.scan_child(walk.artifact.child(name, raw))


def parse_config_text(text: str | bytes, artifact: Artifact, ctx: ScanContext, where: str
                      ) -> tuple[object | None, list[object]]:
    """Parse a JSON config string into (config, values shadowed by duplicate keys).

    A parse failure is a finding and gives None. Keras keeps the last of duplicate keys;
    the shadowed values are returned too, so that a reader keeping the first cannot be
    handed something the scanner skipped.
    """
    try:
        parsed, dups, shadowed = loads_tracking(text)
    except (ValueError, RecursionError) as exc:
        shown = text[:60] if isinstance(text, str) else text[:60].decode("utf-8", "replace")
        ctx.report(finding(MALFORMED, artifact.path, f"{where} is not JSON "
                           f"({type(exc).__name__}): {shown!r}", Location(detail=where)))
        return None, []
    if dups:
        ctx.report(finding(MALFORMED, artifact.path, f"{where} repeats keys "
                           f"{sorted(set(dups))[:10]}; Keras keeps the last value, the others "
                           f"are checked as well", Location(detail=where), severity=Severity.LOW))
    return parsed, shadowed
