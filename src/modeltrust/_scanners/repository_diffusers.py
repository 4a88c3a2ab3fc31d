"""The diffusers check: the modules a ``model_index.json`` makes diffusers import, checked.

diffusers imports custom pipeline and component modules from the folder itself (from a
local folder without asking for ``trust_remote_code``), never fetches a missing one, and
imports a file named after an installed library (``unet/diffusers.py``) in place of that
library (see :mod:`.config_hubs`). A module of its own, imported by the repository pass
only when the folder holds a ``model_index.json``.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

from modeltrust._report.model import FileEntry
from modeltrust._scanners.config_hubs import SHADOWS_LIBRARY, diffusers_modules
from modeltrust._scanners.config_refs import read_config
from modeltrust._scanners.repository_remote import module_status
from modeltrust._scanners.repository_rules import (
    BAD_REFERENCE,
    CONFIG_UNREAD,
    MISSING_MODULE,
    REMOTE_CODE,
    SHADOWS,
)
from modeltrust.findings import Finding, Location, Severity
from modeltrust.rules import finding


def model_index(folder: Path, prefix: str, files: dict[str, FileEntry]) -> list[Finding]:
    """``model_index.json``: the modules diffusers imports from the folder, checked."""
    found: list[Finding] = []
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
            status = module_status(folder, prefix, files, m.path)
            if isinstance(status, str):
                runs.add(status)
            elif status[0] is not MISSING_MODULE:  # diffusers never fetches a module
                found.append(finding(status[0], shown, f"{m.ref.key}: {status[1]}", loc))
        if runs:
            found.append(finding(REMOTE_CODE, shown, "diffusers runs " + ", ".join(sorted(runs))
                                 + " (from a local folder without trust_remote_code)",
                                 Location(detail="model_index.json")))
    return found
