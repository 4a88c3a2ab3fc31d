"""Repository-level checks: rules that need the whole file list of a scanned folder.

Run once per scanned folder after every file was analysed, on the resulting
:class:`FileEntry` list (displayed path, size, detected format, coverage):

* ``auto_map`` (and ``custom_pipelines``) in the Hugging Face config files name the Python
  that ``trust_remote_code=True`` runs: modules that must be in the folder (and scanned), or
  code in *another* repository that would be downloaded and run unseen.
* diffusers' ``model_index.json`` names the modules of a custom pipeline and of its
  components. A present one must have been scanned; a missing one is not fetched (diffusers
  imports the installed package of that name instead), and a file named after an installed
  library (``unet/diffusers.py``) is run in its place (see ``config_hubs``).
* A pickle-based weight file beside a safetensors file of the same name: loaders choose
  between them by their own rules, so the unsafe one may be the one loaded.
* Files whose content contradicts their extension, executables, scripts, compiled
  bytecode and execute permission bits (data files are only ``stat``-ed, never opened).
* Python files named like standard-library modules (``os.py``), and relative imports of
  remote code that are missing from the folder (a loader fetches them from the hub).
* Sharded safetensors indexes, checked against their shards by the safetensors module.
* Text ``.pth`` files: path-configuration hooks whose ``import`` lines Python runs at
  start-up from a site directory (binary ``.pth`` checkpoints are not concerned).

Symbolic links leaving the folder are reported by the source layer (MT-SRC-001), not here.
Only JSON config files already listed are read, with a size bound; nothing is executed.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
import sys
from collections.abc import Sequence
from pathlib import Path

from modeltrust._report.model import Coverage, FileEntry
from modeltrust._scanners.config_refs import CONFIG_NAMES, auto_map_refs, read_config
from modeltrust._source.interface import Limits
from modeltrust.findings import Finding, Location, Rule, Severity
from modeltrust.rules import finding, rule

_REMOTE_FIX = "Load without trust_remote_code=True, or review the named Python first."
MISSING_MODULE = rule(
    "MT-REPO-001", "Remote code requested but the module is missing", Severity.MEDIUM,
    """
    ``auto_map`` names a Python module that is not in the folder. With
    ``trust_remote_code=True`` a loader fetches it from the hub at load time, so the code
    that runs was never scanned (and can change after the scan).
    """,
    fix="Add the module to the folder and scan again, or load without trust_remote_code.",
    cwe=494,
)
OTHER_REPO = rule(
    "MT-REPO-002", "Loading this model executes code from another repository", Severity.HIGH,
    """
    ``auto_map`` points into another repository (``org/repo--module.Class``). Loading the
    model with ``trust_remote_code=True`` downloads that repository's Python and runs it:
    code that is not part of this model, was not scanned, and whose owner can change it at
    any time.
    """,
    fix=_REMOTE_FIX, cwe=829,
)
REMOTE_CODE = rule(
    "MT-REPO-003", "Model requires trust_remote_code", Severity.INFO,
    """
    ``auto_map`` maps model classes to Python modules shipped in the folder: loading the model
    runs them. So does a diffusers ``model_index.json`` custom pipeline or component module
    (from a local folder diffusers runs them without asking for ``trust_remote_code``).
    Their own findings (MT-CODE-*) say what they do.
    """,
    fix=_REMOTE_FIX,
)
NOT_SCANNED = rule(
    "MT-REPO-004", "Remote-code module was not analysed", Severity.MEDIUM,
    """
    ``auto_map`` (or a diffusers ``model_index.json``) names a module that is in the folder
    but was excluded from the scan or not analysed (too large, unreadable): the code a
    loader would run was not examined.
    """,
    fix="Scan again without excluding the module.",
)
BAD_REFERENCE = rule(
    "MT-REPO-005", "Malformed auto_map reference", Severity.MEDIUM,
    """
    An ``auto_map`` value is not a ``module.Class`` (or ``org/repo--module.Class``) reference:
    path separators, ``..`` or other characters a loader turns into a file path. Also a
    diffusers ``model_index.json`` name with such characters that leads to a Python file of
    the folder other than the one it appears to name: diffusers runs that file.
    """,
    fix="Correct the reference; treat the model as untrusted until then.", cwe=22,
)
PICKLE_BESIDE = rule(
    "MT-REPO-010", "Pickle weights beside safetensors of the same name", Severity.MEDIUM,
    """
    The folder has a pickle-based weight file (``.bin``, ``.pt``, ``.ckpt``...) and a
    safetensors file of the same name. Which one a loader takes depends on its version and
    options (``use_safetensors``), so the unsafe file may be loaded even though a safe one
    exists, and a payload can hide in the copy nobody expects to be used.
    """,
    fix="Delete the pickle copy (keep safetensors), or load with use_safetensors=True.",
    cwe=502,
)
MISMATCH = rule(
    "MT-REPO-011", "File content does not match its extension", Severity.MEDIUM,
    """
    The bytes are a different format than the extension says: a ``.safetensors`` or
    ``.json`` that is a pickle or zip, a ``.npy`` that is a pickle, a binary ``.json``...
    Tools that trust the extension handle the file unsafely or skip it. High when a
    code-carrying format (pickle, zip) hides behind a data extension.
    """,
    fix="Remove the file or give it its real extension; treat the model as untrusted.",
    cwe=434,
)
EXECUTABLE = rule(
    "MT-REPO-012", "Executable file in the model repository", Severity.HIGH,
    """
    A native executable (ELF, PE, Mach-O: high), a script (``#!`` line or shell/batch
    extension: medium) or another file with an execute permission bit (low). Model weights
    never need them; setup instructions that run them execute code outside any review.
    """,
    fix="Remove executables from the model repository.", cwe=506,
)
CONFIG_UNREAD = rule(
    "MT-REPO-013", "Config file not read for remote-code references", Severity.LOW,
    """
    A Hugging Face config file was too large or unreadable, so its ``auto_map`` (the Python a
    loader would run) was not checked.
    """,
    fix="Check the file by hand.",
)
SHADOWS = rule(
    "MT-REPO-014", "Python file shadows a module that Python or a loader imports",
    Severity.MEDIUM,
    """
    A ``.py`` file (or package) is named like a standard-library module (``os.py``,
    ``typing.py``, ``json/``). Any script run from the folder, or any process with the folder
    on ``sys.path``, imports it instead of the real module, so the code runs as soon as
    anything imports that name. High for ``sitecustomize``/``usercustomize``, which Python
    imports by itself at start-up.

    Also a diffusers component file ``<component>/<library>.py`` where ``model_index.json``
    takes that component from an installed library (``unet/diffusers.py`` beside
    ``"unet": ["diffusers", "UNet2DConditionModel"]``): diffusers imports the repository
    file instead of the library, without asking for ``trust_remote_code`` (high). Medium
    when the library is a diffusers pipeline module, which only diffusers versions that
    lack that module replace with the file.
    """,
    fix="Rename or remove the file; treat the model as untrusted until it is reviewed.",
    cwe=427,
)
PTH_HOOK = rule(
    "MT-REPO-015", "Text .pth file: a Python start-up hook", Severity.HIGH,
    """
    PyTorch checkpoints named ``.pth`` are binary; a *text* ``.pth`` is a path-configuration
    file of Python's ``site`` module. When its folder is a site directory (a virtual
    environment's ``site-packages``, a vendored or installed copy of the repository),
    every Python process runs each line that starts with ``import`` at start-up (high) and
    adds each other line to ``sys.path`` (medium), so modules of that folder shadow real
    ones. Model weights never need either.
    """,
    fix="Remove the .pth file; treat the model as untrusted until it is reviewed.",
    cwe=427,
)
RULES = (MISSING_MODULE, OTHER_REPO, REMOTE_CODE, NOT_SCANNED, BAD_REFERENCE, PICKLE_BESIDE,
         MISMATCH, EXECUTABLE, CONFIG_UNREAD, SHADOWS, PTH_HOOK)

MAX_REFERENCES = 1000
MAX_PTH_BYTES = 1024 * 1024
"""Bytes of a ``.pth`` file read for start-up hooks (site reads it all; hooks sit anywhere)."""
MAX_PROBES = 10_000
PICKLE_FORMATS = frozenset({"pickle", "pytorch-zip", "pytorch-legacy", "pytorch-legacy-tar",
                            "joblib", "torchscript"})
_CODE_CARRYING = PICKLE_FORMATS | {"zip", "numpy-npz", "keras"}
_WEIGHT_EXTS = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib", ".safetensors")
_STRICT: dict[str, frozenset[str]] = {
    ".safetensors": frozenset({"safetensors"}),
    ".json": frozenset({"json", "text"}),
    ".npy": frozenset({"numpy-npy"}),
    ".npz": frozenset({"zip", "numpy-npz"}),
    ".gguf": frozenset({"gguf"}),
    ".onnx": frozenset({"onnx"}),
    ".tflite": frozenset({"tflite"}),
    ".h5": frozenset({"hdf5", "keras-h5"}),
    ".hdf5": frozenset({"hdf5", "keras-h5"}),
    ".keras": frozenset({"zip", "keras", "hdf5", "keras-h5"}),
    ".py": frozenset({"python", "text", "pickle"}),  # text starting "import" sniffs as pickle
}
_LOOSE = frozenset({".txt", ".md", ".yaml", ".yml", ".jinja", ".model", ".csv", ".tsv",
                    ".msgpack", ".params", ".spm", ".vocab", ".bpe", ".tiktoken", ".toml",
                    ".cfg", ".ini", ".xml", ".html", ".png", ".jpg", ".jpeg", ".wav",
                    ".parquet", ".arrow", ".pb", ".pbtxt", ".mlmodel", ".engine", ".plan"})
"""Extensions of data that never holds code: a pickle or zip behind them is high."""
_WEIGHT_ARCHIVES = (frozenset({".bin", ".pt", ".pth", ".ckpt"}), frozenset({"zip", "7z", "tar"}))
"""A general archive where a PyTorch checkpoint is expected: members a loader never expects."""
_COMPILED_EXTS = frozenset({".pyc", ".pyo"})
_NOT_STDLIB = frozenset({"this", "antigravity", "__main__"})
_STARTUP = frozenset({"sitecustomize", "usercustomize"})
_BINARIES = {"ELF executable": Severity.HIGH, "Windows executable": Severity.HIGH,
             "Mach-O executable": Severity.HIGH, "Mach-O/Java class": Severity.MEDIUM}
_SCRIPT_EXTS = frozenset({".sh", ".bash", ".zsh", ".bat", ".cmd", ".ps1", ".command", ".exe",
                          ".dll", ".so", ".dylib"})
_DATA_FORMATS = frozenset({"safetensors", "gguf", "json", "yaml", "onnx", "hdf5", "numpy-npy",
                           "tflite", "jinja-template", "empty"})
_NOT_PROBED = _DATA_FORMATS | {"symlink", "special"}
"""Never opened here: links leaving the folder, FIFOs and devices (reading blocks or leaks)."""
_REF = re.compile(r"^[A-Za-z_][\w.]*$")
_REPO = re.compile(r"^[\w.-]+(/[\w.-]+)?$")


def scan_repository(
    folder: Path, shown_root: str, entries: Sequence[FileEntry], limits: Limits
) -> list[Finding]:
    """Cross-file checks for one scanned folder; returns findings, sorted."""
    prefix = "" if shown_root in (".", "") else f"{shown_root}/"
    files = {e.path[len(prefix):]: e for e in entries
             if "!" not in e.path and e.path.startswith(prefix) and e.path != prefix}
    found: list[Finding] = []
    found += _remote_code(folder, prefix, files)
    found += _diffusers(folder, prefix, files)
    found += _pickle_beside(prefix, files)
    found += _mismatch(entries)
    found += _executables(folder, prefix, files, entries)
    found += _shadowing(prefix, files)
    found += _pth_hooks(folder, prefix, files)
    if any(r.endswith(".safetensors.index.json") for r in files):
        from modeltrust._scanners.shards import shard_indexes  # safetensors code on need

        found += shard_indexes(folder, prefix, files, limits)
    return sorted(found, key=Finding.sort_key)


def _remote_code(folder: Path, prefix: str, files: dict[str, FileEntry]) -> list[Finding]:
    found: list[Finding] = []
    for rel in sorted(files):
        entry = files[rel]
        if posixpath.basename(rel) not in CONFIG_NAMES or entry.format not in ("json", "text"):
            continue
        config = read_config(folder / rel, entry.size)
        shown = prefix + rel
        if isinstance(config, str):
            found.append(finding(CONFIG_UNREAD, shown, config))
            continue
        local: list[str] = []
        reported = _reported_repos(entry)
        for key, ref in auto_map_refs(config, MAX_REFERENCES):
            loc = Location(detail=f"auto_map {key}")
            result = _check_reference(folder, prefix, files, posixpath.dirname(rel), ref)
            if isinstance(result, str):
                local.append(result)
            elif result is not None:
                r, why = result
                if r is OTHER_REPO and ref.partition("--")[0] in reported:
                    continue  # the config scanner's MT-CFG-002 already says it, with the key
                found.append(finding(r, shown, f"{key} -> {ref!r}: {why}", loc))
        found += _relative_imports(prefix, files, local, shown)
        if local:
            mods = sorted(set(local))
            found.append(finding(REMOTE_CODE, shown, "trust_remote_code=True runs "
                                 f"{', '.join(mods[:20])}" + (" ..." if len(mods) > 20 else ""),
                                 Location(detail="auto_map")))
    return found


def _diffusers(folder: Path, prefix: str, files: dict[str, FileEntry]) -> list[Finding]:
    """``model_index.json``: the modules diffusers imports from the folder, checked."""
    found: list[Finding] = []
    if not any(posixpath.basename(rel) == "model_index.json" for rel in files):
        return found
    from modeltrust._scanners.config_hubs import SHADOWS_LIBRARY, diffusers_modules

    folded = {rel.casefold(): rel for rel in sorted(files, reverse=True)}

    def present(target: str, plain: bool) -> str | None:
        hit = target if target in files else folded.get(target.casefold())
        return hit or (target if plain and os.path.isfile(folder / target) else None)

    for rel in sorted(files):
        if posixpath.basename(rel) != "model_index.json" or files[rel].format not in (
                "json", "text"):
            continue
        config, shown = read_config(folder / rel, files[rel].size), prefix + rel
        if isinstance(config, str):
            found.append(finding(CONFIG_UNREAD, shown, config))
            continue
        runs: set[str] = set()
        for m in diffusers_modules(config or {}, posixpath.dirname(rel), present):
            loc, what = Location(detail=f"model_index.json {m.ref.key}"), m.evidence(prefix)
            if not m.plain:
                found.append(finding(BAD_REFERENCE, shown, f"{what}: diffusers opens "
                                     f"{m.ref.file!r}, which leads to this file", loc))
            if m.ref.shadows:
                found.append(finding(SHADOWS, prefix + m.path, f"{what}: diffusers imports "
                                     f"this file instead of {m.shadowed()}", loc,
                                     severity=Severity.HIGH if m.ref.shadows == SHADOWS_LIBRARY
                                     else None))
            status = _module_status(folder, prefix, files, m.path)
            if isinstance(status, str):
                runs.add(status)
            elif status[0] is not MISSING_MODULE:  # diffusers never fetches a module
                found.append(finding(status[0], shown, f"{m.ref.key}: {status[1]}", loc))
        if runs:
            found.append(finding(REMOTE_CODE, shown, "diffusers runs " + ", ".join(sorted(runs))
                                 + " (from a local folder without trust_remote_code)",
                                 Location(detail="model_index.json")))
    return found


def _relative_imports(
    prefix: str, files: dict[str, FileEntry], modules: list[str], config: str
) -> list[Finding]:
    """``from .helper import x`` in remote code: loaders fetch ``helper.py`` from the hub too."""
    found: list[Finding] = []
    seen = set(modules)
    queue = sorted(seen)
    while queue and len(seen) < MAX_REFERENCES:
        rel = queue.pop(0)
        entry = files.get(rel)
        names = dict(entry.properties).get("code.relative_imports", "") if entry else ""
        for name in sorted(filter(None, names.split(","))):
            if not _REF.match(name):
                continue
            target = posixpath.join(posixpath.dirname(rel), name.replace(".", "/") + ".py")
            package = posixpath.join(posixpath.dirname(rel), name.replace(".", "/"),
                                     "__init__.py")
            if target in seen or package in seen:
                continue
            if target in files or package in files:
                hit = target if target in files else package
                seen.add(hit)
                queue.append(hit)
                continue
            seen.add(target)
            found.append(finding(MISSING_MODULE, prefix + rel, f"from .{name} import ...: "
                                 f"{prefix}{target} is not in the folder: a loader would fetch "
                                 f"it from the hub (remote code named by {config})",
                                 Location(detail=f"relative import {name}")))
    return found


def _reported_repos(entry: FileEntry) -> frozenset[str]:
    """Repositories the config scanner already reported for this file (one finding a fact)."""
    remote = dict(entry.properties).get("config.auto_map.remote", "")
    return frozenset(remote.split(",")) if remote else frozenset()


def _check_reference(
    folder: Path, prefix: str, files: dict[str, FileEntry], base: str, ref: str
) -> tuple[Rule, str] | str | None:
    """A (rule, why) problem, the module's relative path when it is fine, or None."""
    repo = ""
    target = ref
    if "--" in ref:
        repo, _, target = ref.partition("--")
    module = target.rsplit(".", 1)[0] if "." in target else ""
    if not _REF.match(target) or not module or (repo and not _REPO.match(repo)):
        return BAD_REFERENCE, "not a module.Class reference"
    if repo:
        return OTHER_REPO, (f"trust_remote_code=True downloads {module}.py from repository "
                            f"{repo!r} and runs it")
    return _module_status(folder, prefix, files,
                          posixpath.join(base, module.replace(".", "/") + ".py"))


def _module_status(
    folder: Path, prefix: str, files: dict[str, FileEntry], rel: str
) -> tuple[Rule, str] | str:
    """``rel`` when it was analysed as Python, else why the code that runs was not examined."""
    entry = files.get(rel)
    if entry is not None and entry.coverage is not Coverage.NOT_ANALYSED:
        if entry.format == "python":
            return rel
        return NOT_SCANNED, f"{prefix}{rel} was analysed as {entry.format}, not as Python"
    if entry is not None:
        return NOT_SCANNED, f"{prefix}{rel} was not analysed ({entry.reason or 'no reason'})"
    if os.path.lexists(folder / rel):
        return NOT_SCANNED, f"{prefix}{rel} is in the folder but was excluded from the scan"
    return MISSING_MODULE, (f"{prefix}{rel} is not in the folder: a loader would fetch it "
                            "from the hub")


def _weight_stem(name: str) -> str:
    stem = name.removesuffix(".index.json")
    for ext in _WEIGHT_EXTS:
        if stem.endswith(ext):
            stem = stem[: -len(ext)]
            break
    return stem.replace("pytorch_model", "model")


def _pickle_beside(prefix: str, files: dict[str, FileEntry]) -> list[Finding]:
    safe: dict[tuple[str, str], str] = {}
    for rel, e in files.items():
        name = posixpath.basename(rel)
        if (e.format == "safetensors" and name.endswith(".safetensors")) or name.endswith(
                ".safetensors.index.json"):
            safe.setdefault((posixpath.dirname(rel), _weight_stem(name)), rel)
    found: list[Finding] = []
    for rel in sorted(files):
        e, name = files[rel], posixpath.basename(rel)
        is_index = name.endswith(tuple(f"{x}.index.json" for x in _WEIGHT_EXTS[:-1]))
        if e.format not in PICKLE_FORMATS and not is_index:
            continue
        twin = safe.get((posixpath.dirname(rel), _weight_stem(name)))
        if twin is None:
            continue
        what = "index of pickle shards" if is_index else f"{e.format} weights"
        found.append(finding(PICKLE_BESIDE, prefix + rel, f"{what} beside {prefix}{twin}: a "
                             "loader may pick the unsafe file", Location(detail=f"twin {twin}")))
    return found


def _mismatch(entries: Sequence[FileEntry]) -> list[Finding]:
    found: list[Finding] = []
    for e in entries:
        name = e.path.rsplit("!", 1)[-1].rsplit("/", 1)[-1]
        dot = name.rfind(".")
        ext = name[dot:].lower() if dot > 0 else ""
        if e.format in ("empty", "symlink", "special") or e.reason.startswith("larger than"):
            continue
        if ext in _WEIGHT_ARCHIVES[0] and e.format in _WEIGHT_ARCHIVES[1]:
            found.append(finding(MISMATCH, e.path, f"extension {ext} but the content is a "
                                 f"{e.format} archive, not a PyTorch checkpoint",
                                 Location(detail=f"{ext} file holds {e.format}")))
            continue
        allowed = _STRICT.get(ext)
        if allowed is not None and e.format in allowed:
            continue
        if allowed is None and not (ext in _LOOSE and e.format in _CODE_CARRYING):
            continue
        sev = Severity.HIGH if e.format in _CODE_CARRYING else None
        what = f"{e.format} ({e.detail})" if e.detail else e.format
        found.append(finding(MISMATCH, e.path, f"extension {ext} but the content is {what}",
                             Location(detail=f"{ext} file holds {e.format}"), severity=sev))
    return found


def _executables(
    folder: Path, prefix: str, files: dict[str, FileEntry], entries: Sequence[FileEntry]
) -> list[Finding]:
    found: list[Finding] = []
    flagged: set[str] = set()
    for e in entries:
        sev = _BINARIES.get(e.detail) if e.format == "unknown" else None
        if sev is not None:
            flagged.add(e.path)
            found.append(finding(EXECUTABLE, e.path, f"native executable: {e.detail}",
                                 Location(offset=0, detail=e.detail), severity=sev))
    probes = 0
    for rel in sorted(files):
        e, shown = files[rel], prefix + rel
        if shown in flagged or e.format in ("symlink", "special") or probes >= MAX_PROBES:
            continue
        probes += 1
        why = (_mode_reason(folder / rel, rel, e) if e.format in _NOT_PROBED
               else _script_reason(folder / rel, rel, e))
        if why is not None:
            text, sev = why
            found.append(finding(EXECUTABLE, shown, text, Location(detail="script"),
                                 severity=sev))
    return found


def _mode_reason(path: Path, rel: str, e: FileEntry) -> tuple[str, Severity] | None:
    """Data files are never opened here: only their permission bits are looked at."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if stat.S_ISREG(st.st_mode) and st.st_mode & 0o111:
        return (f"execute permission set ({oct(st.st_mode & 0o777)}) on a {e.format} file",
                Severity.LOW)
    return None


def _script_reason(path: Path, rel: str, e: FileEntry) -> tuple[str, Severity] | None:
    ext = posixpath.splitext(rel)[1].lower()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        head = os.read(fd, 128)
    except OSError:
        return None
    finally:
        os.close(fd)
    mode = st.st_mode
    if head.startswith(b"#!") and e.format != "python":
        line = head.split(b"\n", 1)[0].decode("utf-8", "replace")
        return f"script with interpreter line {line!r}", Severity.MEDIUM
    if ext in _SCRIPT_EXTS:
        return f"{ext} file ({e.format})", Severity.MEDIUM
    if ext in _COMPILED_EXTS:
        return ("compiled Python bytecode: Python may run it instead of (or without) a "
                "reviewed source file", Severity.MEDIUM)
    if mode & 0o111:
        return f"execute permission set ({oct(mode & 0o777)}) on a {e.format} file", Severity.LOW
    return None


def _shadowing(prefix: str, files: dict[str, FileEntry]) -> list[Finding]:
    found: list[Finding] = []
    for rel in sorted(files):
        if not rel.endswith(".py"):
            continue
        parts = rel[:-3].split("/")
        name = parts[-2] if parts[-1] == "__init__" and len(parts) > 1 else parts[-1]
        stdlib = name in sys.stdlib_module_names and name not in _NOT_STDLIB
        if not stdlib and name not in _STARTUP:
            continue
        sev = Severity.HIGH if name in _STARTUP else None
        what = ("imported automatically at interpreter start-up" if name in _STARTUP else
                f"shadows the standard-library module {name!r}")
        found.append(finding(SHADOWS, prefix + rel, f"{rel}: {what} for any process with this "
                             "folder on sys.path", Location(detail=f"module {name}"),
                             severity=sev))
    return found


def _pth_hooks(folder: Path, prefix: str, files: dict[str, FileEntry]) -> list[Finding]:
    """Text ``.pth`` files, read as ``site.addpackage`` reads them (nothing is executed)."""
    found: list[Finding] = []
    for rel in sorted(files):
        e = files[rel]
        if not rel.lower().endswith(".pth") or e.format in _NOT_PTH:
            continue
        lines = _pth_lines(folder / rel)
        if lines is None:
            continue
        imports = [(n, x) for n, x in lines if x.startswith(("import ", "import\t"))]
        paths = [(n, x) for n, x in lines if not x.startswith(("import ", "import\t"))
                 and e.format == "text"]
        shown = prefix + rel
        if imports:
            n, code = imports[0]
            more = f" (and {len(imports) - 1} more import lines)" if len(imports) > 1 else ""
            found.append(finding(PTH_HOOK, shown, f"line {n}: {code[:200]!r}{more}: Python's "
                                 "site module executes it at start-up when the folder is a "
                                 "site directory", Location(line=n, detail="import line")))
        if paths:
            n, path = paths[0]
            more = f" (and {len(paths) - 1} more)" if len(paths) > 1 else ""
            found.append(finding(PTH_HOOK, shown, f"line {n}: path {path[:200]!r}{more}: "
                                 "added to sys.path at start-up when the folder is a site "
                                 "directory", Location(line=n, detail="path line"),
                                 severity=Severity.MEDIUM))
    return found


_NOT_PTH = (PICKLE_FORMATS - {"pickle"}) | {"zip", "symlink", "special", "empty", "gguf",
                                           "safetensors", "hdf5", "onnx", "numpy-npy",
                                           "numpy-npz"}
"""Formats of a binary ``.pth`` (a checkpoint). Pickles are read (for import lines only)
when they hold no NUL byte: protocol 0 is text, and text can be made to sniff as it."""


def _pth_lines(path: Path) -> list[tuple[int, str]] | None:
    """Numbered lines site would act on (comments and blank lines dropped), None if binary."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        raw = os.read(fd, MAX_PTH_BYTES)
    except OSError:
        return None
    finally:
        os.close(fd)
    if b"\x00" in raw:
        return None
    text = raw.decode("utf-8-sig", "replace")
    return [(n, line.rstrip("\r\n")) for n, line in enumerate(text.splitlines(True), 1)
            if not line.startswith("#") and line.strip()]
