"""Loader advisories by pinned version: the repository asks for a loader with a known hole.

A model repository often ships the environment it expects (``requirements.txt``,
``pyproject.toml``, a conda ``environment.yml``). When that environment pins a loader to a
release with a published advisory (``torch`` before 2.6 lets ``weights_only=True`` reach
TorchScript, CVE-2025-32434), whoever follows the instructions loads the weights with a
loader that the advisory says is unsafe. A scan cannot see the user's own versions (and
opens no network connection), so only what the repository itself pins is reported.

A requirement counts as a pin when *every* release it allows is affected: ``==2.4.0``,
``<2.6``, ``~=2.5.0``, ``==2.5.*``. A mere lower bound (``>=2.0``) is not reported: the
resolver would pick a fixed release. Requirements are parsed with ``packaging`` (the parser
pip uses); the files are read with size and line bounds, never executed or installed.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from modeltrust._report.model import FileEntry
from modeltrust._source.interface import MEMBER_SEP
from modeltrust.findings import Finding, Location, Severity
from modeltrust.rules import finding, rule

if TYPE_CHECKING:  # packaging is imported only when a requirements file is met
    from packaging.specifiers import Specifier, SpecifierSet
    from packaging.version import Version

PINNED_ADVISORY = rule(
    "MT-DEP-001", "Repository pins a loader release with a known advisory", Severity.MEDIUM,
    """
    A requirements file of the repository allows only releases of a model loader (such as
    ``torch``) that a published advisory covers, e.g. CVE-2025-32434 (``torch`` before 2.6:
    ``torch.load(weights_only=True)`` still reaches TorchScript, so a crafted checkpoint runs
    code) or CVE-2026-24747 (``torch`` before 2.10: memory corruption in the
    ``weights_only`` unpickler). Installing what the repository asks for and loading its
    pickle-based weights relies on a protection the advisory says does not hold.
    """,
    fix="Load with a fixed release (see the evidence) or use the safetensors weights; do not "
        "follow the repository's pin.",
    cwe=1395,
    references=("CVE-2025-32434", "CVE-2026-24747"),
)
RULES = (PINNED_ADVISORY,)

MAX_FILE = 1024 * 1024
"""Requirements files are small; anything larger is not an environment description."""
MAX_LINES = 20_000
MAX_FILES = 64
_NAMES = re.compile(r"^(?:.*requirements.*\.(?:txt|in)|pyproject\.toml|environment\.ya?ml)$",
                    re.IGNORECASE)
_CONDA = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*(==|~=|<=|>=|!=|=|<|>)\s*([\w.*+!-]+)")
_QUOTED = re.compile(r"""["']([A-Za-z0-9][\w.-]*\s*(?:\[[^\]"']*\])?\s*[<>=!~][^"']*)["']""")
_CONDA_NAMES = {"pytorch": "torch"}
"""Conda names that differ from the PyPI name the advisories use."""


class Advisory(NamedTuple):
    """One published advisory: which releases of which package it covers."""

    id: str
    package: str
    affected: SpecifierSet
    fixed: str
    summary: str
    aliases: tuple[str, ...]


class Pin(NamedTuple):
    """A requirement as written in a file of the repository."""

    path: str
    line: int
    name: str
    spec: SpecifierSet
    text: str


@cache
def advisories() -> tuple[Advisory, ...]:
    """Advisories kept as data beside this module (read once, on first need)."""
    from packaging.specifiers import SpecifierSet

    raw = json.loads((Path(__file__).with_name("loader_advisories.json")).read_text("utf-8"))
    return tuple(Advisory(a["id"], a["package"], SpecifierSet(a["affected"]), a["fixed"],
                          a["summary"], tuple(a.get("aliases", ()))) for a in raw)


def scan_pins(folder: Path, shown_root: str, entries: Sequence[FileEntry]) -> list[Finding]:
    """Report every requirement in the folder's environment files that pins an affected loader.

    ``entries`` are the scanned files; links and special files are never opened here.
    """
    prefix = "" if shown_root in (".", "") else f"{shown_root}/"
    names = sorted(e.path[len(prefix):] for e in entries
                   if MEMBER_SEP not in e.path and e.path.startswith(prefix)
                   and e.format not in ("symlink", "special")
                   and _NAMES.match(posixpath.basename(e.path)))[:MAX_FILES]
    if not names:
        return []  # the common case: no environment file, nothing to import or read
    by_package: dict[str, list[Advisory]] = {}
    for adv in advisories():
        by_package.setdefault(adv.package, []).append(adv)
    found: list[Finding] = []
    for rel in names:
        text = _read(folder / rel)
        if text is None:
            continue
        for pin in _pins(prefix + rel, posixpath.basename(rel), text):
            for adv in by_package.get(pin.name, ()):
                if pins_affected(pin.spec, adv.affected):
                    found.append(_finding(pin, adv))
    return found


def pins_affected(spec: SpecifierSet, affected: SpecifierSet) -> bool:
    """True when ``spec`` allows at least one release and every release it allows is affected.

    Decided on the bounds rather than on a list of known releases, so it does not age:
    the lowest release ``spec`` excludes from above must not lie past the affected range.
    """
    upper = _upper(spec)
    if upper is None:
        return False
    bound, inclusive = upper
    fixed = _upper(affected)
    if fixed is None:
        return False
    limit, limit_inclusive = fixed
    if inclusive and not limit_inclusive:
        return bound < limit
    if not inclusive and limit_inclusive:
        return bound <= _next_patch(limit)
    return bound <= limit


def _upper(spec: SpecifierSet) -> tuple[Version, bool] | None:
    """The tightest upper bound of ``spec``: (version, inclusive), or None if unbounded."""
    best: tuple[Version, bool] | None = None
    for s in spec:
        bound = _bound(s)
        if bound is None:
            continue
        if best is None or bound[0] < best[0] or (bound[0] == best[0] and not bound[1]):
            best = bound
    return best


def _bound(s: Specifier) -> tuple[Version, bool] | None:
    from packaging.version import InvalidVersion, Version

    try:
        if s.operator in ("==", "===") and s.version.endswith(".*"):
            parts = s.version[:-2].split(".")
            return Version(".".join([*parts[:-1], str(int(parts[-1]) + 1)])), False
        v = Version(s.version)
    except (InvalidVersion, ValueError):
        return None
    if s.operator in ("==", "===", "<="):
        return v, True
    if s.operator == "<":
        return v, False
    if s.operator == "~=":
        head = list(v.release[:-1]) or [v.release[0]]
        head[-1] += 1
        return Version(".".join(map(str, head))), False
    return None


def _next_patch(v: Version) -> Version:
    from packaging.version import Version

    major, minor, patch = (list(v.release) + [0, 0])[:3]
    return Version(f"{major}.{minor}.{patch + 1}")


def _read(path: Path) -> str | None:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE + 1)
    except OSError:
        return None
    if len(data) > MAX_FILE or b"\0" in data:
        return None
    return data.decode("utf-8", "replace")


def _pins(shown: str, name: str, text: str) -> Iterator[Pin]:
    from packaging.requirements import InvalidRequirement, Requirement

    lowered = name.lower()
    for number, line in enumerate(text.splitlines()[:MAX_LINES], 1):
        for candidate in _candidates(lowered, line):
            try:
                req = Requirement(candidate)
            except InvalidRequirement:
                continue
            if req.specifier:
                yield Pin(shown, number, _canonical(req.name), req.specifier,
                          candidate.strip()[:200])


def _candidates(name: str, line: str) -> list[str]:
    """The requirement strings on one line; comments and pip options are skipped."""
    stripped = re.split(r"\s#|\s--|\s-[a-z]\s", line, maxsplit=1)[0].strip().rstrip("\\")
    stripped = stripped.strip()
    if stripped.startswith("#"):
        return []
    if name.endswith((".txt", ".in")):
        return [] if not stripped or stripped.startswith(("#", "-")) else [stripped]
    if name == "pyproject.toml":
        # Dependency arrays hold quoted requirements; reading the quoted strings of each line
        # keeps a line number for the evidence, where a TOML walk would lose it.
        return _QUOTED.findall(stripped)
    m = _CONDA.match(stripped.lstrip("- ").strip())  # environment.yml: "- pytorch=2.4.0"
    if m is None:
        return []
    pkg, op, ver = m.groups()
    prefix_match = op == "=" and "*" not in ver
    return [f"{pkg}{'==' if op == '=' else op}{ver}{'.*' if prefix_match else ''}"]


def _canonical(name: str) -> str:
    lowered = re.sub(r"[-_.]+", "-", name).lower()
    return _CONDA_NAMES.get(lowered, lowered)


def _finding(pin: Pin, adv: Advisory) -> Finding:
    also = f" ({', '.join(adv.aliases)})" if adv.aliases else ""
    return finding(
        PINNED_ADVISORY, pin.path,
        f"{pin.text!r} allows only {adv.package} releases covered by {adv.id}{also}, fixed in "
        f"{adv.fixed}: {adv.summary}",
        Location(line=pin.line, detail=f"{adv.package} {pin.spec}"),
        severity=Severity.MEDIUM,
    )
