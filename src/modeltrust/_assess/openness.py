"""The openness assessment of one target: read once, assess each section, build a report.

Order matters only through data dependencies: the card and licence come first, data and
lineage use them, OSAID and MOF use everything. Each step appends its findings to one list;
the report sorts and de-duplicates them.
"""

from __future__ import annotations

from modeltrust._assess.accountability import assess_accountability
from modeltrust._assess.artefacts import collect_artefacts
from modeltrust._assess.card import read_card
from modeltrust._assess.data import assess_data
from modeltrust._assess.filelicence import file_licences
from modeltrust._assess.gguf_meta import read_general
from modeltrust._assess.licence import assess_licence
from modeltrust._assess.lineage import assess_lineage
from modeltrust._assess.mof import assess_mof
from modeltrust._assess.osaid import assess_osaid
from modeltrust._assess.report import CardSummary, OpennessReport
from modeltrust._assess.rules import LIN_BAD_META
from modeltrust._assess.snapshot import Snapshot, open_snapshot
from modeltrust.findings import Finding, Severity
from modeltrust.rules import finding

MAX_GGUF_FILES = 16
MAX_LISTED = 20_000


def assess(target: str, fail_on: Severity = Severity.HIGH) -> OpennessReport:
    """Assess a folder, hub cache repository or single file.

    Raises:
        SourceError: the target does not exist or cannot be listed.
    """
    snap = open_snapshot(target)
    findings: list[Finding] = []
    card = read_card(snap)
    findings.extend(card.findings)
    gguf = _gguf(snap, findings)
    gguf_licence = next(((p, m["general.license"]) for p, m in sorted(gguf.items())
                         if m.get("general.license")), None)
    lic = assess_licence(snap, card, gguf_licence, findings)
    data = assess_data(snap, card, findings)
    lineage = assess_lineage(snap, card, gguf, lic, findings)
    account = assess_accountability(snap, card, gguf, findings)
    art = collect_artefacts(snap, card)
    per_file = file_licences(snap, lic)
    osaid = assess_osaid(art, card, lic, data, per_file, snap.shown, findings)
    mof = assess_mof(art, card, lic, data, per_file)
    uniq = {(f.rule_id, f.path, f.location, f.evidence): f for f in findings}
    return OpennessReport(
        target=snap.shown,
        card=CardSummary.of(card, snap.path_of(card.rel) if card.rel else None),
        licence=lic, osaid=osaid, mof=mof, data=data, lineage=lineage,
        accountability=account,
        findings=tuple(sorted(uniq.values(), key=Finding.sort_key)),
        fail_on=fail_on, parsed_card=card, snapshot=snap,
    )


def _gguf(snap: Snapshot, findings: list[Finding]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for rel in sorted(snap.files)[:MAX_LISTED]:
        if len(out) >= MAX_GGUF_FILES:
            break
        head, _ = snap.read_bytes(rel, 4)
        if head != b"GGUF":
            continue
        path = snap.path_of(rel)
        target = str(snap.root if snap.single is not None else snap.root / rel)
        meta, error = read_general(target)
        if error:
            findings.append(finding(LIN_BAD_META, path, f"GGUF metadata: {error}"))
        out[path] = meta
    return out
