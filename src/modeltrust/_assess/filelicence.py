"""The licence each snapshot file is under: the nearest licence text, else the model's.

A LICENSE (COPYING...) file governs the files of its folder and of the folders below it,
so a file's licence is that of the nearest licence text in its folder or a parent folder
up to the snapshot root; only where no folder has one does the model's licence (card
first, see :mod:`.licence`) apply. A sub-folder licence text that no fingerprint
identifies makes its files' licence unknown (it says other terms apply, not which); at the
root, the card's declaration is used instead (MT-LIC-004 reports the text). OSAID and MOF
both ask this one question, so they cannot disagree about the same file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from modeltrust._assess.licence import LICENCE_FILE, LicenceResult, identify
from modeltrust._assess.snapshot import Snapshot

MAX_LICENCE_FILES = 200
_GRANT = re.compile(r"^(licen[cs]e|copying)([._-][^/]*)?$", re.IGNORECASE)
"""Files that grant terms (not NOTICE or use policies): unidentified, they make terms unknown."""
LICENCE_BYTES = 256 * 1024


@dataclass(frozen=True)
class FileLicences:
    """Folder -> (licence id, licence file shown); the model licence as the fallback."""

    folders: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    model: tuple[str | None, str | None] = (None, None)

    def of(self, rel: str) -> tuple[str | None, str | None]:
        """(licence id, where it comes from) for a snapshot file; (None, None) when unknown."""
        for parent in PurePosixPath(rel).parents:
            folder = "" if str(parent) == "." else str(parent)
            if folder in self.folders:
                return self.folders[folder]
        return self.model


def file_licences(snap: Snapshot, lic: LicenceResult) -> FileLicences:
    """Identified licence texts by folder (the root's from ``lic.files``) plus the model's."""
    folders: dict[str, tuple[str | None, str]] = {}
    root = next((f for f in lic.files if f.role == "licence" and f.spdx), None)
    if root is not None and root.spdx:
        folders[""] = (root.spdx, root.path)
    rels = [r for r in sorted(snap.files) if "/" in r and LICENCE_FILE.search(r)]
    for rel in rels[:MAX_LICENCE_FILES]:
        folder = rel.rsplit("/", 1)[0]
        if folders.get(folder, (None, ""))[0] is not None:
            continue  # an identified text already governs this folder
        found = identify(snap.read_text(rel, LICENCE_BYTES).text)
        if found is not None and found.terms != "policy":
            folders[folder] = (found.id, snap.path_of(rel))
        elif found is None and _GRANT.search(rel.rsplit("/", 1)[-1]):
            folders[folder] = (None, snap.path_of(rel))
    model = (lic.spdx, f"model licence ({lic.source})") if lic.status == "identified" \
        else (None, None)
    return FileLicences(folders, model)
