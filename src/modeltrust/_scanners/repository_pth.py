"""The ``.pth`` check: a text ``.pth`` file is a Python start-up hook, not a checkpoint.

PyTorch checkpoints named ``.pth`` are binary; a *text* ``.pth`` is read by Python's
``site`` module from a site directory, which runs its ``import`` lines and adds its other
lines to ``sys.path``. Files are read as ``site.addpackage`` reads them, bounded, and never
executed. A module of its own, imported by the repository pass only when the folder holds
a ``.pth`` file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from modeltrust._report.model import FileEntry
from modeltrust._scanners.repository_rules import PICKLE_FORMATS, PTH_HOOK
from modeltrust.findings import Finding, Location, Severity
from modeltrust.rules import finding

MAX_PTH_BYTES = 1024 * 1024
"""Bytes of a ``.pth`` file read for start-up hooks (site reads it all; hooks sit anywhere)."""


def pth_hooks(folder: Path, prefix: str, files: dict[str, FileEntry]) -> list[Finding]:
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
