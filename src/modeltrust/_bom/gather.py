"""Collect the BOM's evidence from the scan, integrity and openness results of one model.

Nothing is analysed twice: the scan report and the openness report are taken as given
(``audit`` passes its own); what this stage adds is the one hashing pass (every file's
SHA-256, from which the OMS root digest is computed exactly as ``modeltrust digest`` does)
and short quotes from the model card. Offline: hub URLs and purls are written, never fetched.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from modeltrust import __version__
from modeltrust._assess.card import read_card
from modeltrust._assess.lineage import HUB_ID
from modeltrust._assess.naming import model_name
from modeltrust._assess.snapshot import Snapshot, open_snapshot
from modeltrust._assess.yamlsafe import as_list, as_str
from modeltrust._bom import cardfacts
from modeltrust._bom.evidence import (
    AncestorFact,
    DatasetFact,
    Evidence,
    FileFact,
    LicenceFact,
    SignatureFact,
)
from modeltrust._source.interface import MEMBER_SEP
from modeltrust.errors import UsageError
from modeltrust.findings import Finding

if TYPE_CHECKING:
    from modeltrust._assess.lineage import LineageResult
    from modeltrust._assess.report import OpennessReport
    from modeltrust._report.model import Report

HUB_URL = "https://huggingface.co/"
Announce = Callable[[int, int], None]
MAX_UNKNOWN_DATASETS = 256

_WEIGHTS = frozenset({
    "pickle", "joblib", "pytorch-zip", "torchscript", "pytorch-legacy", "pytorch-legacy-tar",
    "numpy-npy", "numpy-npz", "safetensors", "gguf", "hdf5", "keras", "keras-h5", "onnx",
    "tensorflow-protobuf", "tensorflow-pbtxt", "tflite"})
_TOKENIZER = re.compile(r"(^|/)(tokenizer[^/]*|vocab[^/]*|merges\.txt|special_tokens_map\.json|"
                        r"added_tokens\.json|[^/]*\.model|spiece[^/]*)$", re.IGNORECASE)
_LICENCE = re.compile(r"(^|/)(licen[cs]e|copying|notice|use[_-]?policy)([._-][^/]*)?$",
                      re.IGNORECASE)
_CARD = re.compile(r"^(readme(\.md|\.markdown)?|configuration\.json)$", re.IGNORECASE)
_SIGNATURE = re.compile(r"\.sig(\.tensors\.json)?$")


def gather(target: str, *, report: Report | None = None,
           openness: OpennessReport | None = None, hub_id: str | None = None,
           revision: str | None = None, extra_findings: tuple[Finding, ...] = (),
           announce: Announce | None = None) -> Evidence:
    """Build the evidence for ``target`` (a folder, hub cache repository or file).

    Args:
        target: what was scanned and assessed.
        report: the scan report of ``target`` (scanned here when not given).
        openness: the openness report of ``target`` (assessed here when not given).
        hub_id: ``org/name`` on the Hugging Face Hub, when the user knows it (a hub cache
            folder names it already).
        revision: the hub commit, when the user knows it.
        extra_findings: findings of other stages to report too (``audit``'s integrity).
        announce: called as ``announce(files, bytes)`` before the hashing pass (the one
            long step on a big model), so a CLI can tell the user what it is waiting for.

    Raises:
        SourceError: the target does not exist.
        UsageError: ``hub_id``, ``revision`` or ``SOURCE_DATE_EPOCH`` is malformed.
    """
    import modeltrust

    if hub_id is not None and not HUB_ID.match(hub_id):
        raise UsageError(f"--hub-id {hub_id!r} is not of the form ORG/NAME")
    if revision is not None and not re.fullmatch(r"[\w.\-/]{1,200}", revision):
        raise UsageError(f"--revision {revision!r} is not a commit or a tag")
    stamp = timestamp()
    report = report or modeltrust.scan(target)
    openness = openness or modeltrust.openness(target)
    snap = openness.snapshot or open_snapshot(target)  # what openness read, read once
    card = openness.parsed_card or read_card(snap)
    unknowns: list[str] = []
    root_digest, files = _hash(snap, _formats(report, snap, target), unknowns, announce)
    hub = hub_id or _cache_hub_id(snap)
    acc = openness.accountability
    rev = revision or snap.revision or acc.revision
    _title, description = cardfacts.title_and_description(card)
    group = hub.split("/", 1)[0] if hub else None
    name = _name(openness, snap, hub)
    task = openness.card.pipeline_tag
    inputs, outputs = cardfacts.modalities(task)
    family, arch = cardfacts.architecture(snap, _gguf_arch(report))
    licences = _licences(openness, card.meta, snap)
    datasets = _datasets(openness, card.meta, bool(card.modelscope))
    findings = _findings((*report.findings, *extra_findings), snap, target)
    assessed = _findings(openness.findings, snap, target, exclude=findings)
    ev = Evidence(
        name=name, group=group, revision=rev, root_digest=root_digest, timestamp=stamp,
        tool_version=__version__, files=files, hub_id=hub, purl=_purl(hub, rev),
        description=description, release_time=_release_time(acc.date),
        publisher=acc.publisher, contacts=acc.contacts,
        card_path=card.rel, task=task, library=openness.card.library_name,
        languages=openness.card.languages,
        tags=tuple(sorted({t[:100] for t in as_list(card.meta.get("tags"))}))[:50],
        architecture_family=family, architecture=arch, inputs=inputs, outputs=outputs,
        licences=licences, licence_terms=openness.licence.terms,
        training_information=cardfacts.section_quote(card, "training_data"),
        datasets=datasets, ancestors=_ancestors(openness),
        metrics=cardfacts.metrics(card.meta), considerations=cardfacts.considerations(card),
        signatures=_signatures(snap, files), findings=findings,
        assessment_findings=assessed, weights_found=_has_weights(report),
        verdict=report.verdict,
    )
    return _with_unknowns(ev, unknowns)


def timestamp() -> str:
    """Now, or ``SOURCE_DATE_EPOCH`` (reproducible builds) when it is set.

    Raises:
        UsageError: ``SOURCE_DATE_EPOCH`` is not a non-negative integer.
    """
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if raw:
        if not raw.isdigit():
            raise UsageError(f"SOURCE_DATE_EPOCH={raw!r} is not a number of seconds")
        moment = datetime.fromtimestamp(int(raw), UTC)
    else:
        moment = datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------------ files
def _hash(snap: Snapshot, formats: dict[str, str], unknowns: list[str],
          announce: Announce | None = None) -> tuple[str, tuple[FileFact, ...]]:
    """Every file's SHA-256 in one parallel pass; the OMS root digest from the same digests."""
    from modeltrust._integrity.errors import IntegrityError
    from modeltrust._integrity.hashing import hash_tasks, list_model, plan
    from modeltrust._integrity.manifest import root_digest
    from modeltrust._integrity.signing import DEFAULT_SIGNATURE, SIDECAR_SUFFIX

    own = [DEFAULT_SIGNATURE, DEFAULT_SIGNATURE + SIDECAR_SUFFIX] if snap.single is None else []
    root = snap.root
    oms: dict[str, str] = {}
    try:
        listing = list_model(root, own, allow_symlinks=snap.cache_root is not None)
        if announce is not None:
            announce(len(listing.files), sum(f.size for f in listing.files))
        oms = hash_tasks(plan(listing.files, "files", 0), "sha256", whole_file=True)
        digest = "sha256:" + root_digest(oms[n] for n in sorted(oms))
    except (IntegrityError, UsageError) as exc:
        digest = ""
        unknowns.append(f"OMS root digest: not computed ({exc})")
    files: list[FileFact] = []
    for rel in sorted(set(snap.files) | set(oms)):
        sha = oms.get(rel) or _sha256(root if snap.single is not None else root / rel)
        if sha is None:
            unknowns.append(f"file {rel}: unreadable, not hashed")
            continue
        size = snap.files.get(rel)
        if size is None:
            size = (root / rel).stat().st_size if snap.single is None else 0
        fmt = formats.get(rel, "unknown")
        files.append(FileFact(rel, size, sha, fmt, _role(rel, fmt), in_manifest=rel in oms))
    if snap.truncated:
        unknowns.append(f"files: {snap.truncated} more files not listed (limit reached)")
    return digest, tuple(files)


def _sha256(path: Path) -> str | None:
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None


def _role(rel: str, fmt: str) -> str:
    base = rel.rsplit("/", 1)[-1]
    if _SIGNATURE.search(base):
        return "signature"
    if fmt in _WEIGHTS:
        return "weights"
    if _CARD.match(rel):
        return "card"
    if _LICENCE.search(rel):
        return "licence"
    if _TOKENIZER.search(rel):
        return "tokenizer"
    if fmt == "python":
        return "code"
    if fmt == "jinja-template":
        return "template"
    if fmt in ("json", "yaml"):
        return "config"
    return "other"


def _formats(report: Report, snap: Snapshot, target: str) -> dict[str, str]:
    """Relative path -> detected format, from the scan's file list (members excluded)."""
    out: dict[str, str] = {}
    for entry in report.files:
        rel = _rel_path(entry.path, snap, target)
        if rel is not None and MEMBER_SEP not in rel:
            out[rel] = entry.format
    return out


def _rel_path(shown: str, snap: Snapshot, target: str) -> str | None:
    """A scan path made relative to the snapshot root (members kept); None when outside."""
    outer, sep, member = shown.partition(MEMBER_SEP)
    norm = os.path.normpath(outer)
    rel: str | None = None
    if snap.single is not None:
        rel = snap.single if norm == os.path.normpath(target) else None
    else:
        prefixes = {os.path.normpath(target), os.path.normpath(snap.shown), str(snap.root)}
        for prefix in sorted(prefixes, key=len, reverse=True):  # the snapshot before its repo
            if prefix in (".", ""):
                rel = norm
            elif norm == prefix:
                rel = ""
            elif norm.startswith(prefix + os.sep):
                rel = norm[len(prefix) + 1:].replace(os.sep, "/")
            if rel is not None:
                break
    return None if rel is None else rel + sep + member


def _findings(found: tuple[Finding, ...], snap: Snapshot, target: str,
              exclude: tuple[Finding, ...] = ()) -> tuple[Finding, ...]:
    """Distinct findings with model-relative paths, in report order (``exclude`` left out)."""
    out = {_relative(f, snap, target) for f in found} - set(exclude)
    return tuple(sorted(out, key=Finding.sort_key))


def _has_weights(report: Report) -> bool:
    """Whether the scan saw a file or archive member in a known weights format."""
    return any(e.format in _WEIGHTS for e in report.files)


def _relative(f: Finding, snap: Snapshot, target: str) -> Finding:
    from dataclasses import replace

    rel = _rel_path(f.path, snap, target)
    return replace(f, path=rel if rel is not None else f.path)


def _gguf_arch(report: Report) -> str | None:
    for entry in report.files:
        arch = dict(entry.properties).get("gguf.architecture")
        if arch:
            return arch[:100]
    return None


def _release_time(date: str | None) -> str | None:
    """A stated date as ISO 8601 UTC (a bare date is midnight UTC); None if unparseable."""
    if not date:
        return None
    try:
        moment = datetime.fromisoformat(date.strip()[:40].replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _name(openness: OpennessReport, snap: Snapshot, hub: str | None) -> str:
    """The model's name: openness's ``lineage.model_name``, hub id first when needed.

    Openness applies the rule in ``_assess.naming`` (card heading and placeholders included);
    ``--hub-id``, which openness does not see, outranks a name taken from the folder only.
    """
    assessed = openness.lineage.model_name
    fallbacks = {_basename(snap)}
    if snap.single is None:
        fallbacks.add(snap.root.resolve().name)
    if snap.cache_root is not None:
        fallbacks.add(snap.cache_root.name.split("--")[-1])
    declared = assessed if assessed not in fallbacks else None
    hub_name = hub.split("/", 1)[1] if hub else None
    return model_name(declared, hub_name, assessed) or _basename(snap)


def _basename(snap: Snapshot) -> str:
    return Path(os.path.abspath(snap.shown)).name or "model"


def _cache_hub_id(snap: Snapshot) -> str | None:
    if snap.cache_root is None or not snap.cache_root.name.startswith("models--"):
        return None
    hub = snap.cache_root.name[len("models--"):].replace("--", "/", 1)
    return hub if HUB_ID.match(hub) else None


def _purl(hub: str | None, revision: str | None) -> str | None:
    if hub is None:
        return None
    from packageurl import PackageURL

    org, name = hub.split("/", 1)
    version = revision.lower() if revision else None
    return str(PackageURL(type="huggingface", namespace=org, name=name, version=version))


# ----------------------------------------------------------------------- openness facts
def _licences(openness: OpennessReport, meta: dict[str, object],
              snap: Snapshot) -> tuple[LicenceFact, ...]:
    """The resolved licence plus every identified licence text (disagreements stay visible)."""
    lic = openness.licence
    out: set[LicenceFact] = set()
    if lic.spdx or lic.name:
        url = as_str(meta.get("license_link"))[:500] or None if lic.source == "card" else None
        source = {"license_file": "file"}.get(lic.source, lic.source)
        ack = "concluded" if source == "file" else "declared"
        out.add(LicenceFact(lic.spdx, lic.name, source, url, ack))
    for f in openness.licence.files:
        if f.role == "licence" and (f.spdx or f.name):
            rel = _rel_path(f.path, snap, snap.shown) or f.path
            out.add(LicenceFact(f.spdx, f.name, f"file:{rel}", None, "concluded"))
    return tuple(sorted(out, key=lambda x: (x.source, x.spdx or "", x.name or "")))


def _datasets(openness: OpennessReport, meta: dict[str, object],
              modelscope: bool) -> tuple[DatasetFact, ...]:
    """Declared datasets; a hub link only for what is certainly a hub dataset id.

    ``org/name`` ids, and bare (legacy canonical) ids the card lists in ``datasets``. A
    ``model-index`` dataset ``type`` such as ``cruxeval-i`` is a benchmark label, not a
    hub repository, so it gets no invented URL.
    """
    listed = {d[:300] for d in as_list(meta.get("datasets"))}
    out = []
    for d in openness.data.datasets:
        hub_like = HUB_ID.match(d.id) or (
            d.id in listed and re.fullmatch(r"[A-Za-z0-9][\w.-]{0,95}", d.id))
        url = f"{HUB_URL}datasets/{d.id}" if hub_like and not modelscope else None
        role = d.role if d.role in ("train", "source") else "eval"
        out.append(DatasetFact(d.id, role, d.licence, None, d.gated, url, d.card,
                               d.source_datasets))
    return tuple(sorted(out))


def _ancestors(openness: OpennessReport) -> tuple[AncestorFact, ...]:
    out = []
    lineage = openness.lineage
    for b in lineage.base_models:
        hub = b.id if HUB_ID.match(b.id) else None
        sources = tuple(b.sources or (b.source,))
        relation = b.relation or lineage.relation
        out.append(AncestorFact(b.id, relation, b.source, b.licence, _purl(hub, None),
                                f"{HUB_URL}{hub}" if hub else None,
                                _relation_source(b.relation, relation, sources, lineage),
                                sources))
    return tuple(sorted(set(out), key=lambda a: (a.id, a.relation or "", a.source)))


def _relation_source(own: str | None, relation: str | None, sources: tuple[str, ...],
                     lineage: LineageResult) -> str | None:
    """``card`` or ``inferred``: how the relation of one base is known (lineage's word).

    The card's ``base_model_relation`` applies to the bases the card names; a base only
    ``adapter_config.json`` names is an adapter by inference, whatever the card says.
    """
    if relation is None:
        return None
    if own is not None and own == lineage.relation and lineage.relation_source == "card":
        return "card" if "card" in sources else "inferred"
    if own is not None:
        return "inferred"
    return lineage.relation_source or "inferred"


def _signatures(snap: Snapshot, files: tuple[FileFact, ...]) -> tuple[SignatureFact, ...]:
    """Each OMS bundle beside the model, with the offline status check ``scan`` shows."""
    sigs = [f for f in files if f.role == "signature" and f.path.endswith(".sig")]
    if not sigs:
        return ()
    from modeltrust._integrity.verifying import signature_status

    # The digests of this BOM's hashing pass stand in for a second read of every file.
    status = signature_status(snap.root, known={f.path: f.sha256 for f in files})
    out = []
    for f in sigs:
        if status is not None and Path(status.signature).name == f.path.rsplit("/", 1)[-1]:
            out.append(SignatureFact(f.path, f.sha256, status.state, status.signer,
                                     f"sha256:{status.root_digest}"
                                     if status.root_digest else None))
        else:
            out.append(SignatureFact(f.path, f.sha256, "not-checked"))
    return tuple(out)


def _with_unknowns(ev: Evidence, unknowns: list[str]) -> Evidence:
    """Name every fact a BOM reader would look for and not find."""
    from dataclasses import replace

    checks = [
        (ev.hub_id is None, "hub id: not known (pass --hub-id ORG/NAME), so no purl"),
        (ev.revision is None, "revision: not recorded in the snapshot"),
        (ev.publisher is None, "publisher: not stated in the card or metadata"),
        (ev.release_time is None, "release date: not stated in the card (date) or GGUF"),
        (not ev.licences, "licence: none declared and no licence text identified"),
        (ev.card_path is None, "model card: none (README.md)"),
        (ev.task is None, "task: no pipeline_tag in the card"),
        (ev.architecture_family is None and ev.architecture is None,
         "architecture: no config.json model_type/architectures or GGUF metadata"),
        (not ev.datasets and ev.training_information is None,
         "training data: none declared"),
        (not ev.metrics, "evaluation results: no model-index in the card"),
        (not ev.weights_found, f"model files: none found (no file in a known weights "
                               f"format among the {len(ev.files)} listed)"),
    ]
    out = list(unknowns) + [text for missing, text in checks if missing]
    unlicensed = [d.id for d in ev.datasets if d.licence is None]
    for ds in unlicensed[:MAX_UNKNOWN_DATASETS]:
        out.append(f"dataset {ds}: licence unknown (no local dataset card)")
    if len(unlicensed) > MAX_UNKNOWN_DATASETS:
        out.append(f"... and {len(unlicensed) - MAX_UNKNOWN_DATASETS} more datasets with "
                   "unknown licences")
    return replace(ev, unknowns=tuple(out))
