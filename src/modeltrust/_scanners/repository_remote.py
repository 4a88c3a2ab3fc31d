"""The ``auto_map`` check: the Python that ``trust_remote_code=True`` runs, against the folder.

``auto_map`` (and ``custom_pipelines``) in the Hugging Face config files name the modules a
loader imports: they must be in the folder and analysed as Python, or the code that runs
was never examined, and a reference into *another* repository downloads code that was
never scanned. Relative imports of that code are followed the same way. The diffusers
check asks the same question of ``model_index.json``, so :func:`module_status` is shared.
"""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path

from modeltrust._report.model import Coverage, FileEntry
from modeltrust._scanners.config_refs import CONFIG_NAMES, auto_map_refs, read_config
from modeltrust._scanners.repository_rules import (
    BAD_REFERENCE,
    CONFIG_UNREAD,
    MISSING_MODULE,
    NOT_SCANNED,
    OTHER_REPO,
    REMOTE_CODE,
)
from modeltrust.findings import Finding, Location, Rule
from modeltrust.rules import finding

MAX_REFERENCES = 1000
_REF = re.compile(r"^[A-Za-z_][\w.]*$")
_REPO = re.compile(r"^[\w.-]+(/[\w.-]+)?$")


def remote_code(folder: Path, prefix: str, files: dict[str, FileEntry]) -> list[Finding]:
    """Each config's ``auto_map`` references, checked against the folder."""
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
    return module_status(folder, prefix, files,
                          posixpath.join(base, module.replace(".", "/") + ".py"))


def module_status(
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
