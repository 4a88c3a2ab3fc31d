"""Repository-level checks: rules that need the whole file list of a scanned folder.

Run once per scanned folder after every file was analysed, on the resulting
:class:`FileEntry` list (displayed path, size, detected format, coverage). This module is
the pass: it runs each check below and returns their findings sorted. Checked here:

* A pickle-based weight file beside a safetensors file of the same name: loaders choose
  between them by their own rules, so the unsafe one may be the one loaded.
* Files whose content contradicts their extension, executables, scripts, compiled
  bytecode and execute permission bits (data files are only ``stat``-ed, never opened).
* Python files named like standard-library modules (``os.py``).

Checked in modules of their own (the MT-REPO rules are declared in :mod:`.repository_rules`):

* ``auto_map`` (and ``custom_pipelines``) in the Hugging Face config files name the Python
  that ``trust_remote_code=True`` runs: modules that must be in the folder (and scanned), or
  code in *another* repository that would be downloaded and run unseen; relative imports
  of remote code that are missing from the folder (:mod:`.repository_remote`).
* diffusers' ``model_index.json`` names the modules of a custom pipeline and of its
  components (:mod:`.repository_diffusers`, imported only when a folder has one).
* Text ``.pth`` files: path-configuration hooks whose ``import`` lines Python runs at
  start-up from a site directory (:mod:`.repository_pth`, imported only when a folder has
  one; binary ``.pth`` checkpoints are not concerned).
* Sharded safetensors indexes, checked against their shards (:mod:`.shards`, on need too).

Symbolic links leaving the folder are reported by the source layer (MT-SRC-001), not here.
Only JSON config files already listed are read, with a size bound; nothing is executed.
"""

from __future__ import annotations

import os
import posixpath
import stat
import sys
from collections.abc import Sequence
from pathlib import Path

from modeltrust._report.model import FileEntry
from modeltrust._scanners.repository_remote import remote_code
from modeltrust._scanners.repository_rules import (
    EXECUTABLE,
    MISMATCH,
    PICKLE_BESIDE,
    PICKLE_FORMATS,
    SHADOWS,
)
from modeltrust._source.interface import Limits
from modeltrust.findings import Finding, Location, Severity
from modeltrust.rules import finding

MAX_PROBES = 10_000
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
    ".pb": frozenset({"tensorflow-protobuf", "onnx"}),
    ".h5": frozenset({"hdf5", "keras-h5"}),
    ".hdf5": frozenset({"hdf5", "keras-h5"}),
    ".keras": frozenset({"zip", "keras", "hdf5", "keras-h5"}),
    ".py": frozenset({"python", "text", "pickle"}),  # text starting "import" sniffs as pickle
}
_LOOSE = frozenset({".txt", ".md", ".yaml", ".yml", ".jinja", ".model", ".csv", ".tsv",
                    ".msgpack", ".params", ".spm", ".vocab", ".bpe", ".tiktoken", ".toml",
                    ".cfg", ".ini", ".xml", ".html", ".png", ".jpg", ".jpeg", ".wav",
                    ".parquet", ".arrow", ".pbtxt", ".mlmodel", ".engine", ".plan"})
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


def scan_repository(
    folder: Path, shown_root: str, entries: Sequence[FileEntry], limits: Limits
) -> list[Finding]:
    """Cross-file checks for one scanned folder; returns findings, sorted."""
    prefix = "" if shown_root in (".", "") else f"{shown_root}/"
    files = {e.path[len(prefix):]: e for e in entries
             if "!" not in e.path and e.path.startswith(prefix) and e.path != prefix}
    found: list[Finding] = []
    found += remote_code(folder, prefix, files)
    if any(posixpath.basename(rel) == "model_index.json" for rel in files):
        from modeltrust._scanners.repository_diffusers import model_index  # on need

        found += model_index(folder, prefix, files)
    found += _pickle_beside(prefix, files)
    found += mismatches(entries)
    found += _executables(folder, prefix, files, entries)
    found += _shadowing(prefix, files)
    if any(rel.lower().endswith(".pth") for rel in files):
        from modeltrust._scanners.repository_pth import pth_hooks  # on need

        found += pth_hooks(folder, prefix, files)
    if any(r.endswith(".safetensors.index.json") for r in files):
        from modeltrust._scanners.shards import shard_indexes  # safetensors code on need

        found += shard_indexes(folder, prefix, files, limits)
    return sorted(found, key=Finding.sort_key)


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


def mismatches(entries: Sequence[FileEntry]) -> list[Finding]:
    """Files whose content contradicts their extension (also for files scanned alone)."""
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
