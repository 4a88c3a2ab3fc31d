"""Keras models: configs (``config.json``, ``model_config``) and the HDF5 files around them.

A Keras model is rebuilt from a JSON config in which every object names the class (and for
Keras 3 the module) to instantiate. Loading is therefore exactly as safe as the names in
the config: a ``Lambda`` layer carries marshalled bytecode that runs (CVE-2024-3660,
CVE-2025-9905), a ``module`` outside Keras imports anything (CVE-2025-1550), and even
classes inside Keras download files, read local files, unpickle torch modules or switch
safe mode off (CVE-2025-8747, CVE-2025-9906, CVE-2025-49655, CVE-2025-12058,
CVE-2025-12060, CVE-2026-1462). :func:`check_keras_config` walks a parsed config and grades
all of that; function strings are decoded the lenient way Keras decodes them (junk
characters skipped, raw marshal text accepted) and the bytecode is read by :mod:`._marshal`,
never unmarshalled.

HDF5 files (legacy ``.h5`` models, ``model.weights.h5`` inside ``.keras`` zips, or any HDF5)
are walked by :mod:`._hdf5` (links, external storage, hidden data); the Keras configs found
in their root attributes (``model_config``, ``training_config``) are then checked here.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field

from modeltrust._inventory.formats import Format
from modeltrust._report.model import Coverage
from modeltrust._scanners import _hdf5, _marshal
from modeltrust._scanners.interface import Result, ScanContext, Scanner
from modeltrust._source.interface import Artifact, Buffer
from modeltrust.findings import Location, Rule, Severity
from modeltrust.rules import finding, rule

_LOAD_FIX = "Do not load the model; rebuild it from code you trust and re-save it without it."
LAMBDA_BYTECODE = rule(
    "MT-KRS-001", "Keras config carries marshalled Python bytecode (Lambda layer)",
    Severity.CRITICAL,
    """
    A ``Lambda`` layer (or another config field) holds a base64 ``marshal`` dump of a Python
    code object. Keras turns it back into a function and calls it while building the model,
    so whatever the code does runs on load (CVE-2024-3660; legacy ``.h5`` files ignore
    ``safe_mode``, CVE-2025-9905). The evidence lists the code's names and constants, read
    without unmarshalling it.
    """,
    fix=_LOAD_FIX, cwe=94, references=("CVE-2024-3660", "CVE-2025-9905"),
)
LAMBDA_SOURCE = rule(
    "MT-KRS-002", "Keras Lambda layer with Python source or unreadable function", Severity.HIGH,
    """
    The ``Lambda`` layer's function is Python source text (``function_type: raw``) or a value
    that cannot be read as bytecode. Loaders that accept it evaluate it. Critical when the
    code uses names such as ``eval``, ``exec``, ``os`` or ``__import__``.
    """,
    fix=_LOAD_FIX, cwe=94, references=("CVE-2024-3660",),
)
LAMBDA_NAMED = rule(
    "MT-KRS-003", "Keras Lambda layer calls a named function", Severity.MEDIUM,
    """
    The ``Lambda`` layer refers to a function by name (``function_type: function`` or a
    serialised function object). The function comes from the loading environment, so the
    model only works with custom code, and the name decides what runs.
    """,
    fix="Check that the named function is one you provide and trust.", cwe=470,
)
FOREIGN_MODULE = rule(
    "MT-KRS-004", "Keras config instantiates an object from outside Keras", Severity.HIGH,
    """
    A ``module``/``registered_name`` in the config names a namespace other than Keras'
    own (``keras``, ``keras_hub``, ``keras_nlp``, ``keras_cv``, ``tf_keras``,
    ``tensorflow.keras``). Keras imports the module and calls the named class or function,
    also when it is nested in an initializer, regularizer, constraint, activation, loss,
    metric or optimizer (CVE-2025-1550). Critical when the module is one that runs commands,
    evaluates code or touches files (``os``, ``subprocess``, ``builtins`` ...).
    """,
    fix="Load only with the custom objects you expect; remove unknown ones.", cwe=470,
    references=("CVE-2025-1550",),
)
GADGET = rule(
    "MT-KRS-005", "Keras config uses a Keras object with dangerous side effects", Severity.HIGH,
    """
    The config references an object inside Keras that is known to be abusable at load
    time: ``get_file`` downloads and extracts files (CVE-2025-8747, CVE-2025-12060),
    ``enable_unsafe_deserialization``, ``set_global_attribute`` or a nested
    ``safe_mode=False`` switch safe mode off for what follows (CVE-2025-9906),
    ``TorchModuleWrapper`` unpickles a torch module (CVE-2025-49655), ``TFSMLayer`` loads an
    external SavedModel (CVE-2026-1462), model loaders load other files, ``func_load`` turns
    bytecode into a function, and ``TFOpLambda`` layers call TensorFlow file or Python ops.
    Any other function from Keras' file, saving or global-state modules, or from outside
    the activation/loss/metric namespaces, is reported too (deny by default).
    """,
    fix=_LOAD_FIX, cwe=502,
    references=("CVE-2025-8747", "CVE-2025-9906", "CVE-2025-49655", "CVE-2025-12060",
                "CVE-2026-1462"),
)
EXTERNAL_PATH = rule(
    "MT-KRS-006", "Keras config points at a local file or URL", Severity.HIGH,
    """
    A file-like config value (``vocabulary``, ``filepath``, ``origin``, ``fname``,
    ``cache_dir`` ...) is an absolute path, a ``..`` path, a home-relative path or a URL.
    Keras reads it while loading, even in safe mode: ``StringLookup``/``IndexLookup``
    vocabularies read local files or fetch URLs (CVE-2025-12058, file disclosure and SSRF).
    A URL elsewhere in the config is reported at medium.
    """,
    fix="Ship vocabularies and assets inside the model file; never load configs that name "
        "files outside it.",
    cwe=73, references=("CVE-2025-12058",),
)
MALFORMED = rule(
    "MT-KRS-007", "Keras config is malformed", Severity.MEDIUM,
    """
    The Keras config is not valid JSON or not shaped like a Keras config, so what Keras
    would build from it cannot be vouched for.
    """,
    fix="Re-save the model with Keras.",
)
LIMIT = rule(
    "MT-KRS-008", "Keras config analysis stopped at a limit", Severity.MEDIUM,
    """
    The config is nested deeper or has more values than the scanner examines; the rest was
    not checked. Oversized configs are also used to exhaust scanners.
    """,
    fix="Inspect the config by hand.", cwe=400,
)
EMBEDDED_BLOB = rule(
    "MT-KRS-009", "Keras config embeds a serialized blob", Severity.HIGH,
    """
    A config string decodes (base64) to a pickle or a zip archive, which some Keras objects
    hand to ``torch.load``/``pickle`` while loading. The blob is scanned as a file of its own.
    """,
    fix=_LOAD_FIX, cwe=502, references=("CVE-2025-49655",),
)

_KERAS_ROOTS = frozenset({"keras", "keras_core", "keras_nlp", "keras_hub", "keras_cv",
                          "tf_keras", "keras_rs", "keras_tuner"})
DANGEROUS_MODULES = frozenset({
    "os", "posix", "nt", "subprocess", "builtins", "__builtin__", "sys", "shutil", "socket",
    "pty", "runpy", "importlib", "code", "codeop", "ctypes", "pickle", "_pickle", "marshal",
    "shelve", "webbrowser", "urllib", "urllib2", "http", "ftplib", "telnetlib", "smtplib",
    "pathlib", "io", "_io", "platform", "multiprocessing", "asyncio", "pdb", "timeit",
    "cProfile", "profile", "trace", "functools", "operator", "types", "tempfile", "glob",
    "zipfile", "tarfile", "commands", "popen2", "signal", "requests", "dill", "joblib",
    "cloudpickle", "torch", "numpy", "pip", "setuptools", "distutils", "inspect",
})
_H, _C, _M = Severity.HIGH, Severity.CRITICAL, Severity.MEDIUM
_GADGETS: dict[str, tuple[Severity, str]] = {
    "get_file": (_H, "downloads (and may extract) a file: CVE-2025-8747, CVE-2025-12060"),
    "enable_unsafe_deserialization": (_C, "turns safe_mode off for the rest of the load: "
                                      "CVE-2025-9906"),
    "set_global_attribute": (_C, "rewrites Keras global state such as safe_mode_saving: "
                             "CVE-2025-9906"),
    "SafeModeScope": (_C, "a scope that can switch safe_mode off"),
    "func_load": (_C, "turns marshalled bytecode into a function"),
    "TorchModuleWrapper": (_C, "unpickles a torch module with torch.load: CVE-2025-49655"),
    "TFSMLayer": (_H, "loads an external TensorFlow SavedModel: CVE-2026-1462"),
    "load_model": (_H, "loads another model file"),
    "load_weights": (_H, "loads weights from another file"),
    "load_serialized_object": (_H, "loads another serialized object from a preset"),
    "deserialize_keras_object": (_H, "builds any object named by a config it is given"),
    "extract_archive": (_H, "extracts an archive onto the file system: CVE-2025-12060"),
    "extract_open_archive": (_H, "extracts an archive onto the file system: CVE-2025-12060"),
    "rmtree": (_H, "deletes a directory tree"),
    "save_model": (_H, "writes a model file"),
    "save_weights": (_H, "writes a weights file"),
    "save_img": (_H, "writes an image file"),
    "plot_model": (_H, "writes a file and runs the graphviz executable"),
    "load_img": (_M, "reads a local file"),
    "image_dataset_from_directory": (_M, "lists and reads a local directory"),
    "text_dataset_from_directory": (_M, "lists and reads a local directory"),
    "audio_dataset_from_directory": (_M, "lists and reads a local directory"),
    "set_random_seed": (_M, "changes global interpreter state"),
}
_GADGET_MODULES: dict[str, str] = {
    "file_utils": "Keras file utilities (download, extract, copy, delete)",
    "io_utils": "Keras I/O utilities", "global_state": "Keras global state (safe mode)",
    "python_utils": "Keras bytecode helpers", "serialization_lib": "the Keras deserializer",
    "saving_lib": "the Keras model loader", "saving_api": "the Keras model loader",
    "legacy_h5_format": "the legacy model loader", "module_utils": "lazy module imports",
    "tfsm_layer": "SavedModel loading", "preset_utils": "preset downloads and loading",
}
"""Keras-internal modules (any dotted component) whose functions have side effects."""
_DANGER_PARTS = frozenset({"io", "gfile", "io_ops", "gen_io_ops", "script_ops", "file_io",
                           "load_library", "raw_ops", "saved_model", "summary", "lookup"})
_DANGER_CALLS = frozenset({
    "system", "popen", "Popen", "exec", "eval", "compile", "open", "run", "spawn",
    "__import__", "import_module", "getattr", "loads", "load", "write_file", "read_file",
    "matching_files", "GFile", "py_function", "numpy_function", "py_func", "eager_py_func",
    "load_library", "load_op_library", "rmtree", "remove", "unlink", "urlopen",
    "WriteFile", "ReadFile", "MatchingFiles", "PyFunc", "EagerPyFunc", "PrintV2", "Save",
    "SaveV2", "RestoreV2", "TextFileInitializer", "check_output", "check_call", "call",
})
"""Callables that touch files, processes, the interpreter or the network, in any module."""
_TF_SAFE_NS = frozenset({"math", "nn", "linalg", "__operators__", "image", "signal",
                         "random", "bitwise", "sparse", "ragged", "strings", "dtypes",
                         "experimental.numpy", "numpy", "keras"})
_FILE_KEYS = frozenset({"vocabulary", "filepath", "file_path", "path", "origin", "fname",
                        "cache_dir", "cache_subdir", "url", "filename", "directory",
                        "idf_weights", "saved_model_dir", "model_path", "weights_path",
                        "asset_path", "vocabulary_file", "merges", "proto", "spm_proto",
                        "log_dir", "logdir", "backup_dir", "export_dir", "data_dir",
                        "dirname", "file", "files", "preset", "root_path", "to_file"})
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]{1,15}://")
_B64 = re.compile(rb"^[A-Za-z0-9+/=\r\n]+$")
_SAFE_FN_PARENTS = ("activations", "losses", "metrics", "initializers", "regularizers",
                    "constraints", "ops", "random", "schedules", "optimizers", "layers",
                    "backend", "math", "nn", "numpy", "image", "utils.sequence")
MAX_NODES = 200_000
MAX_DEPTH = 100
MAX_BLOB = 64 * 1024 * 1024


def is_keras_module(module: str) -> bool:
    """True when ``module`` is Keras' own namespace (or a Keras-team library)."""
    root = module.split(".", 1)[0]
    return root in _KERAS_ROOTS or module == "tensorflow.keras" or module.startswith(
        ("tensorflow.keras.", "tensorflow.python.keras"))


@dataclass
class _Walk:
    artifact: Artifact
    ctx: ScanContext
    where: str
    nodes: int = 0
    stopped: bool = False
    reported: set[str] = field(default_factory=set)

    def loc(self, path: str) -> Location:
        return Location(detail=f"{self.where}: {path or '$'}")

    def report(self, r: Rule, path: str, evidence: str, sev: Severity | None = None) -> None:
        key = f"{r.id}|{path}|{evidence}"
        if key in self.reported:
            return
        self.reported.add(key)
        self.ctx.report(finding(r, self.artifact.path, evidence, self.loc(path), severity=sev))


def check_keras_config(config: object, artifact: Artifact, ctx: ScanContext, where: str) -> None:
    """Check a parsed Keras model config (from config.json or an HDF5 attribute).

    ``where`` names the config's origin (``config.json``, ``attribute model_config``) and
    prefixes every finding's location, followed by the JSON path of the offending value.
    """
    walk = _Walk(artifact, ctx, where)
    if not isinstance(config, dict | list):
        walk.report(MALFORMED, "", f"config is a {type(config).__name__}, not an object")
        return
    _visit(walk, config, "", 0, "")


def _visit(walk: _Walk, value: object, path: str, depth: int, key: str) -> None:
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


def _check_object(walk: _Walk, obj: dict[object, object], path: str) -> None:
    cls = obj.get("class_name")
    module = obj.get("module")
    cls_s = cls if isinstance(cls, str) else ""
    targets = _targets(obj)
    target = targets[0] if targets else cls_s
    mod = module if isinstance(module, str) else ""
    qual = f"{mod}.{target}" if mod else target
    if mod and not is_keras_module(mod):
        sev = Severity.CRITICAL if _dangerous(mod, targets) else None
        cfg = obj.get("config")
        walk.report(FOREIGN_MODULE, path, f"module {mod!r} class_name {cls_s!r}"
                    f"{f' config {cfg!r}' if cls_s == 'function' else ''} -> {qual}", sev)
    else:
        _check_names(walk, obj, path, mod)
    _check_gadget(walk, path, mod, targets, qual, cls_s == "function")
    cfg = obj.get("config")
    if cls_s in ("Lambda", "__lambda__") and isinstance(cfg, dict):
        _check_lambda(walk, cfg, path, cls_s)
    elif cls_s in ("TFOpLambda", "SlicingOpLambda") and isinstance(cfg, dict):
        _check_tf_op(walk, cfg.get("function"), f"{path}.config.function")


def _dangerous(module: str, targets: list[str]) -> bool:
    parts = module.split(".")
    return parts[0] in DANGEROUS_MODULES or bool(_DANGER_PARTS.intersection(parts)) or any(
        _leaf(t) in _DANGER_CALLS for t in targets)


def _leaf(name: str) -> str:
    return name.rsplit(">", 1)[-1].rsplit(".", 1)[-1]


def _check_names(walk: _Walk, obj: dict[object, object], path: str, module: str) -> None:
    """Registered names from other packages, and dotted class names without a module."""
    registered = obj.get("registered_name")
    if isinstance(registered, str) and ">" in registered:
        package = registered.split(">", 1)[0]
        if package.split(".", 1)[0] not in _KERAS_ROOTS:
            walk.report(FOREIGN_MODULE, path, f"registered_name {registered!r} (custom object "
                        f"from package {package!r})", Severity.MEDIUM)
    cls = obj.get("class_name")
    if not module and isinstance(cls, str) and ("." in cls or ">" in cls) and (
            cls.split(".", 1)[0].split(">", 1)[0] not in _KERAS_ROOTS):
        sev = Severity.HIGH if _dangerous(cls.rsplit(".", 1)[0], [cls]) else Severity.MEDIUM
        walk.report(FOREIGN_MODULE, path, f"class_name {cls!r} names an object outside "
                    f"Keras", sev)


def _check_gadget(walk: _Walk, path: str, module: str, targets: list[str], qual: str,
                  is_fn: bool) -> None:
    for name in [*targets, *module.split(".")]:
        gadget = _GADGETS.get(_leaf(name))
        if gadget is not None:
            walk.report(GADGET, path, f"{qual or name}: {gadget[1]}", gadget[0])
            return
    if not module or not is_keras_module(module):
        return
    parts = module.split(".")
    for part in parts:
        if part in _GADGET_MODULES:
            sev = Severity.HIGH if is_fn else Severity.MEDIUM
            walk.report(GADGET, path, f"{qual}: object from {_GADGET_MODULES[part]}", sev)
            return
    if is_fn and not module.endswith(_SAFE_FN_PARENTS):
        walk.report(GADGET, path, f"{qual}: Keras function outside the activation/loss/"
                    f"metric namespaces", Severity.MEDIUM)


def _check_tf_op(walk: _Walk, fn: object, path: str) -> None:
    """A Keras 2 ``TFOpLambda``: a TensorFlow API symbol called when the model is built."""
    if not isinstance(fn, str):
        walk.report(LAMBDA_NAMED, path, f"TFOpLambda function is a {type(fn).__name__}")
        return
    parts = [p for p in fn.split(".") if p]
    while parts[:1] and parts[0] in ("compat", "v1", "v2"):
        parts = parts[1:]
    if (_DANGER_PARTS - {"raw_ops"}).intersection(parts) or _DANGER_CALLS.intersection(parts):
        walk.report(GADGET, path, f"TFOpLambda calls tf.{fn}: a TensorFlow op that touches "
                    f"files, the interpreter or the outside world", Severity.HIGH)
    elif (len(parts) > 1 and ".".join(parts[:-1]) not in _TF_SAFE_NS and (
            parts[0] not in _TF_SAFE_NS)) or parts == ["print"]:
        why = "tf.print can write to a file" if parts == ["print"] else (
            "outside the reviewed math/nn/linalg namespaces")
        walk.report(GADGET, path, f"TFOpLambda calls tf.{fn}: {why}", Severity.MEDIUM)


_FN_KEYS = ("function", "output_shape", "mask")
"""Lambda fields Keras turns into functions (``<key>_type`` says how, in Keras 2)."""


def _check_lambda(walk: _Walk, cfg: dict[object, object], path: str, cls: str) -> None:
    name = str(cfg.get("name", "?"))
    if cls == "__lambda__":
        key = "code" if "code" in cfg else "value"
        _check_function(walk, cfg.get(key), f"{path}.config.{key}", name)
        return
    for key in _FN_KEYS:
        fn = cfg.get(key)
        kind = cfg.get(f"{key}_type")
        where = f"{path}.config.{key}"
        if fn is None or isinstance(fn, dict):
            if key == "function" and isinstance(fn, dict) and fn.get("class_name") != (
                    "__lambda__"):
                walk.report(LAMBDA_NAMED, where, f"Lambda {name!r} calls "
                            f"{fn.get('module', '')}.{fn.get('config', fn.get('class_name'))}")
            continue
        if kind == "function" and isinstance(fn, str):
            _named_function(walk, cfg, key, where, name)
        elif kind == "raw" and key == "function" and isinstance(fn, str):
            _report_source(walk, where, name, fn)
        elif kind == "lambda" or (key == "function" and kind is None):
            _check_function(walk, fn, where, name)


def _named_function(walk: _Walk, cfg: dict[object, object], key: str, where: str,
                    name: str) -> None:
    fn = cfg[key]
    mod = cfg.get("module" if key == "function" else f"{key}_module")
    walk.report(LAMBDA_NAMED, where, f"Lambda {name!r} calls {mod}.{fn}")
    if isinstance(mod, str) and mod and not is_keras_module(mod):
        sev = Severity.CRITICAL if _dangerous(mod, [str(fn)]) else None
        walk.report(FOREIGN_MODULE, where, f"Lambda function module {mod!r} -> {mod}.{fn}",
                    sev)


def _check_function(walk: _Walk, fn: object, where: str, name: str) -> None:
    """A value Keras hands to ``func_load``: decoded the way Keras decodes it."""
    if isinstance(fn, list | tuple) and fn:
        fn, where = fn[0], f"{where}[0]"
    if isinstance(fn, str):
        raw = _marshal.function_bytes(fn) if len(fn) <= MAX_BLOB else b""
        if _marshal.looks_like_code(raw):
            _report_code(walk, raw, where)
        else:
            _report_source(walk, where, name, fn)
    elif fn is not None:
        walk.report(LAMBDA_SOURCE, where, f"Lambda {name!r} function is a "
                    f"{type(fn).__name__}, not readable code")


def _report_code(walk: _Walk, raw: bytes, path: str) -> None:
    try:
        info = _marshal.read_code(raw)
    except _marshal.MarshalError as exc:
        walk.report(LAMBDA_BYTECODE, path, f"{len(raw)} bytes of marshalled code that "
                    f"this reader cannot decode ({exc})")
        return
    walk.report(LAMBDA_BYTECODE, path, f"marshalled code ({info.layout}): "
                f"{info.describe()}; dangerous={info.dangerous()}")


def _report_source(walk: _Walk, where: str, name: str, fn: str) -> None:
    try:
        info = _marshal.read_source(fn)
    except _marshal.MarshalError as exc:
        walk.report(LAMBDA_SOURCE, where, f"Lambda {name!r} function {fn[:80]!r} is neither "
                    f"bytecode nor Python source ({exc})")
        return
    bad = info.dangerous()
    sev = Severity.CRITICAL if bad else None
    walk.report(LAMBDA_SOURCE, where, f"Lambda {name!r} Python source {fn[:120]!r}: "
                f"{info.describe()}; dangerous={bad}", sev)


def _decode_b64(text: str) -> bytes | None:
    """Bytes of a strict base64 string that decodes to a marshal code object, else None."""
    if len(text) < 24 or text.lstrip()[:1] not in ("4", "Y") or len(text) > MAX_BLOB:
        return None
    raw = _b64(text)
    return raw if raw is not None and _marshal.looks_like_code(raw) else None


def _hidden_code(text: str) -> bytes | None:
    """Bytecode that Keras' lenient decoding would find in a string that is not clean base64.

    Only a string that reads as a whole code object counts, so that ordinary text never
    becomes a finding.
    """
    if len(text) < 24 or len(text) > MAX_BLOB:
        return None
    raw = _marshal.function_bytes(text)
    if not _marshal.looks_like_code(raw):
        return None
    try:
        _marshal.read_code(raw, max_objects=20_000)
    except _marshal.MarshalError:
        return None
    return raw


def _b64(text: str) -> bytes | None:
    data = text.strip().encode("ascii", "replace")
    if not _B64.match(data):
        return None
    try:
        return base64.b64decode(data.replace(b"\n", b"").replace(b"\r", b""), validate=True)
    except (binascii.Error, ValueError):
        return None


def _check_string(walk: _Walk, value: str, path: str, depth: int, key: str) -> None:
    code = _decode_b64(value) or _hidden_code(value)
    if code is not None:
        _report_code(walk, code, path)
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


def _check_path(walk: _Walk, value: str, path: str, key: str) -> None:
    v = value.strip()
    is_url = bool(_URL.match(v))
    if key.lower() in _FILE_KEYS:
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


def _check_blob(walk: _Walk, value: str, path: str) -> None:
    raw = _b64(value)
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
    shadowed: list[object] = []
    dups: list[str] = []

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        out: dict[str, object] = {}
        for k, v in items:
            if k in out:
                dups.append(k)
                shadowed.append(out[k])
            out[k] = v
        return out

    try:
        parsed: object = json.loads(text, object_pairs_hook=pairs)
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


_KERAS_ATTRS = ("model_config", "keras_version", "training_config", "layer_names")


def _h5_result(artifact: Artifact, ctx: ScanContext, walk: _hdf5.Walked) -> Result:
    """Check Keras configs held in root attributes and describe the file."""
    attrs = walk.attrs
    keras = any(k in attrs for k in (*_KERAS_ATTRS, *walk.odd)) or artifact.path.endswith(
        "model.weights.h5")
    for key in ("model_config", "training_config"):
        if key in walk.odd:
            ctx.report(finding(MALFORMED, artifact.path, f"attribute {key} is {walk.odd[key]}; "
                               f"Keras cannot read it as a JSON config",
                               Location(detail=f"attribute {key}")))
    for key in ("model_config", "training_config"):
        text = attrs.get(key)
        if text is not None and text != "null":
            cfg, shadowed = parse_config_text(text, artifact, ctx, f"attribute {key}")
            if cfg is not None:
                check_keras_config(cfg, artifact, ctx, f"attribute {key}")
            for value in shadowed[:20]:
                if isinstance(value, dict | list):
                    check_keras_config(value, artifact, ctx, f"attribute {key} (shadowed)")
    props = tuple(sorted((k, attrs[k][:200]) for k in ("keras_version", "backend")
                         if k in attrs))
    fmt = Format.KERAS_H5 if keras else Format.HDF5
    version = attrs.get("keras_version")
    detail = f"HDF5, {walk.objects} objects" + (
        (f", Keras {version[:40]} model" if version else ", Keras model") if keras else "")
    if walk.stopped:
        return Result(Coverage.PARTIAL, walk.stopped, detail, fmt, props)
    return Result(detail=detail, format=fmt, properties=props)


class KerasScanner(Scanner):
    """HDF5 files: legacy Keras models (configs checked) and any HDF5 (links, storage)."""

    name = "keras"
    formats = frozenset({Format.HDF5})
    rules = (LAMBDA_BYTECODE, LAMBDA_SOURCE, LAMBDA_NAMED, FOREIGN_MODULE, GADGET,
             EXTERNAL_PATH, MALFORMED, LIMIT, EMBEDDED_BLOB, *_hdf5.RULES)

    def scan(self, artifact: Artifact, data: Buffer, fmt: Format, ctx: ScanContext) -> Result:
        """Walk the HDF5 structure; check Keras configs found in its attributes."""
        walked = _hdf5.walk_hdf5(artifact, data, ctx)
        if isinstance(walked, str):
            if "install" in walked:
                return Result.not_analysed(walked, format=Format.HDF5)
            return Result.partial(walked, format=Format.HDF5)
        return _h5_result(artifact, ctx, walked)
