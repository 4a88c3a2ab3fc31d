"""SPDX 3.0.1 JSON-LD rendering of the evidence: an AI package, its files, datasets and bases.

The document is built with the official ``spdx-python-model`` bindings, so classes,
enumerations, datatypes and cardinalities are checked as it is encoded: a document that
breaks the model cannot be written. Choices the standard leaves to us:

- Ids live under ``https://modeltrust.invalid/spdx/<root-digest-hex>`` (a reserved domain
  that never resolves) with readable fragments, so the same evidence gives the same ids.
- ``profileConformance`` names a profile only when every element meets its restrictions.
  The AI profile requires a release time, supplier, download location and version (the
  card rarely states all of them); the Dataset profile also a build time and an originator
  that a model card never gives. The document's comment says which profiles are not
  claimed and why, instead of claiming them falsely.
- The OMS root digest is a ``verifiedUsing`` hash with algorithm ``other``: it is a
  SHA-256 over a manifest of the files, not over one byte stream.
- Scan findings are ``review`` annotations on the file they concern (or the model), openness
  findings ``review`` annotations on the model (``openness: ...``); unknowns are
  ``other`` annotations and lines of the model's comment. ``ai_safetyRiskAssessment`` stays
  unset: a scan finding is not the AI-system risk assessment that field records, and
  "low" for a minor finding would claim an assessment nobody made.
- Licences: one ``LicenseExpression`` per distinct expression (a name-only licence becomes
  ``LicenseRef-<name>``). Every package has exactly one ``hasDeclaredLicense`` (AI packages
  also one ``hasConcludedLicense``), to ``NoAssertionLicense`` when nothing is known.
- Signature files are ``hasEvidence`` of the model, with their offline check as an
  annotation; they are not ``contains``-ed, since they are not part of the model.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from spdx_python_model import v3_0_1 as spdx

from modeltrust._bom.evidence import (
    AncestorFact,
    DatasetFact,
    Evidence,
    FileFact,
    LicenceFact,
    SignatureFact,
    assessment_statement,
    finding_statement,
)
from modeltrust.findings import Finding

SPEC_VERSION = "3.0.1"
ID_ROOT = "https://modeltrust.invalid/spdx/"
HUB_URL = "https://huggingface.co/"
DATA_LICENCE = "CC0-1.0"
"""SPDX documents are published under CC0-1.0 (the SpdxDocument ``dataLicense``)."""

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NO_ASSERTION_LICENCE = spdx.expandedlicensing_IndividualLicensingInfo.NoAssertionLicense

_REL = spdx.RelationshipType
_PURPOSE = spdx.software_SoftwarePurpose
_FILE_PURPOSE = {
    "weights": _PURPOSE.model, "config": _PURPOSE.configuration,
    "card": _PURPOSE.documentation, "licence": _PURPOSE.documentation,
    "code": _PURPOSE.source, "template": _PURPOSE.source, "data": _PURPOSE.data,
    "signature": _PURPOSE.other,
}
_DATASET_RELATION = {"train": _REL.trainedOn, "eval": _REL.testedOn}

# Profile restrictions (SPDX 3.0.1 AIPackage / DatasetPackage "external properties").
_AI_REQUIRED = ("releaseTime", "suppliedBy", "software_downloadLocation",
                "software_packageVersion", "software_primaryPurpose")
_DATASET_REQUIRED = ("builtTime", "originatedBy", "releaseTime", "software_downloadLocation",
                     "software_primaryPurpose", "dataset_datasetType")

# Characters JSON can escape but RDF/XML literals (and UTF-8 encoders) cannot carry.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+$")
_LICENCE_TOKEN = re.compile(
    r"^(AND|OR|WITH|\(|\)|(DocumentRef-[A-Za-z0-9.-]+:)?(LicenseRef-)?[A-Za-z0-9.-]+\+?)$")
_LICENSE_REF = re.compile(r"^LicenseRef-[A-Za-z0-9.-]+$")

E = TypeVar("E", bound=spdx.Element)


def render(ev: Evidence) -> dict[str, object]:
    """The SPDX 3.0.1 JSON-LD document for ``ev`` (a ``@context`` and a sorted ``@graph``)."""
    objects = _Builder(ev).build(ev)
    data: dict[str, object] = spdx.JSONLDSerializer().serialize_data(
        spdx.SHACLObjectSet(objects), force_at_graph=True)
    return data


def dumps(ev: Evidence) -> str:
    """The document as deterministic JSON text (same evidence, same bytes)."""
    return json.dumps(render(ev), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# ------------------------------------------------------------------------------ builder
@dataclass
class _Link:
    """One relationship being collected: a source, a type, its targets and notes."""

    source: spdx.Element
    kind: str
    targets: dict[str, spdx.Element | str] = field(default_factory=dict)
    notes: set[str] = field(default_factory=set)


class _Builder:
    """The document under construction: one id namespace, one CreationInfo, elements by id."""

    def __init__(self, ev: Evidence) -> None:
        self.ns = ID_ROOT + _digest_hex(ev.root_digest)
        moment = _moment(ev.timestamp)
        self.info = spdx.CreationInfo(specVersion=SPEC_VERSION, created=moment or EPOCH)
        if moment is None:  # ``created`` is required: say the epoch stands for "unknown"
            self.info.comment = _text(f"creation time unknown ({ev.timestamp!r} is not ISO "
                                      "8601); 1970-01-01T00:00:00Z stands in for it")
        self.elements: dict[str, spdx.Element] = {}
        self.links: dict[tuple[str, str], _Link] = {}
        self.files: dict[str, spdx.software_File] = {}

    def build(self, ev: Evidence) -> list[spdx.SHACLObject]:
        """Every element of the document, the SpdxDocument last."""
        self._creators(ev.tool_version)
        model = _model(self, ev)
        _files(self, ev, model)
        _signatures(self, ev, model)
        _licences(self, model, ev.licences)
        listed = {d.id for d in ev.datasets}
        for dataset in sorted(ev.datasets, key=repr):
            _dataset(self, dataset, model, listed)
        for ancestor in sorted(ev.ancestors, key=repr):
            _ancestor(self, ancestor, model)
        for finding in ev.findings:
            _finding(self, finding, model)
        for finding in ev.assessment_findings:
            _assessment(self, finding, model)
        for unknown in ev.unknowns:
            self.annotate(model, "other", f"Unknown: {unknown}")
        relationships = [self._relationship(link) for link in self.links.values()]
        return [_document(self, ev, model, relationships), *self.elements.values(),
                *relationships]

    def iri(self, fragment: str) -> str:
        """The spdxId of a fragment in this document's namespace."""
        return f"{self.ns}#{fragment}"

    def new(self, cls: type[E], fragment: str, **props: Any) -> E:
        """The element with this id, created with ``props`` (unset values left out)."""
        spdx_id = self.iri(fragment)
        found = self.elements.get(spdx_id)
        if found is not None:
            if not isinstance(found, cls):  # fragments are prefixed per class: a bug
                raise TypeError(f"{spdx_id} is already a {type(found).__name__}")
            return found
        values = {k: v for k, v in props.items() if v is not None and v != []}
        element = cls(spdxId=spdx_id, creationInfo=self.info, **values)
        self.elements[spdx_id] = element
        return element

    def relate(self, source: spdx.Element, kind: str, target: spdx.Element | str,
               note: str | None = None) -> None:
        """Add ``target`` to the one relationship of type ``kind`` from ``source``."""
        link = self.links.setdefault((_id(source), kind), _Link(source, kind))
        link.targets[target if isinstance(target, str) else _id(target)] = target
        if note:
            link.notes.add(_text(note))

    def annotate(self, subject: spdx.Element, kind: str, statement: str) -> None:
        """A ``review`` or ``other`` annotation on ``subject`` (one per distinct statement)."""
        statement = _text(statement)
        key = _hash(f"{_id(subject)}\n{statement}")
        self.new(spdx.Annotation, f"annotation-{key}", subject=subject, statement=statement,
                 annotationType=getattr(spdx.AnnotationType, kind))

    def _creators(self, version: str) -> None:
        agent = self.new(spdx.SoftwareAgent, "creator", name="modeltrust")
        tool = self.new(spdx.Tool, "tool", name=_text(f"modeltrust {version}"))
        self.info.createdBy = [agent]
        self.info.createdUsing = [tool]

    def _relationship(self, link: _Link) -> spdx.Relationship:
        kind = link.kind.rsplit("/", 1)[-1]
        rel = spdx.Relationship(
            spdxId=self.iri(f"rel-{_fragment_of(link.source)}-{kind}"),
            creationInfo=self.info, from_=link.source, relationshipType=link.kind,
            to=[link.targets[k] for k in sorted(link.targets)])
        if link.notes:
            rel.comment = "; ".join(sorted(link.notes))
        return rel


# ------------------------------------------------------------------------------ model
def _model(b: _Builder, ev: Evidence) -> spdx.ai_AIPackage:
    """The AI package: card facts, OMS root digest, metrics; unknowns in its comment."""
    publisher = (b.new(spdx.Agent, "publisher", name=_text(ev.publisher))
                 if ev.publisher else None)
    cons = ev.considerations
    return b.new(
        spdx.ai_AIPackage, "model",
        name=_text(_display_name(ev)),
        description=_opt_text(ev.description),
        comment=_text(_model_comment(ev)),
        software_packageVersion=_opt_text(ev.revision),
        software_packageUrl=_uri(ev.purl),
        software_downloadLocation=_uri(HUB_URL + ev.hub_id) if ev.hub_id else None,
        software_primaryPurpose=_PURPOSE.model,
        releaseTime=_moment(ev.release_time) if ev.release_time else None,
        suppliedBy=publisher,
        originatedBy=[publisher] if publisher else [],
        verifiedUsing=[_root_digest(ev.root_digest)],
        ai_typeOfModel=_unique([ev.architecture_family, ev.architecture]),
        ai_domain=_unique([ev.task, *sorted(ev.tags)]),
        ai_informationAboutTraining=_opt_text(ev.training_information),
        ai_informationAboutApplication=_joined((*cons.use_cases, *cons.users)),
        ai_limitation=_joined((*cons.technical_limitations, *cons.ethical)),
        ai_metric=[_metric(m.type, m.value, m.name, m.task, m.dataset, m.split)
                   for m in sorted(ev.metrics, key=repr)],
        ai_autonomyType=spdx.PresenceType.noAssertion,
        ai_useSensitivePersonalInformation=spdx.PresenceType.noAssertion,
    )


def _display_name(ev: Evidence) -> str:
    """``org/name`` when the name is the hub repository's, else the declared name alone.

    ``org/`` before a name the hub does not use would read as a hub id that is not one.
    """
    if ev.hub_id:
        return ev.hub_id if ev.hub_id.split("/", 1)[-1] == ev.name else ev.name
    return f"{ev.group}/{ev.name}" if ev.group else ev.name


def _model_comment(ev: Evidence) -> str:
    """Facts SPDX has no property for, then every unknown, one per line."""
    facts = [
        ("hub id", ev.hub_id), ("library", ev.library),
        ("languages", ", ".join(ev.languages)), ("inputs", ", ".join(ev.inputs)),
        ("outputs", ", ".join(ev.outputs)), ("contacts", ", ".join(ev.contacts)),
        ("model card", ev.card_path), ("licence terms", ev.licence_terms),
        ("environmental impact", " ".join(ev.considerations.environmental)),
        ("scan verdict", ev.verdict), ("OMS root digest", ev.root_digest),
    ]
    lines = [f"{key}: {value}" for key, value in facts if value]
    lines += [f"unknown: {u}" for u in ev.unknowns]
    return "\n".join(lines)


def _metric(kind: str, value: str, *context: str | None) -> spdx.DictionaryEntry:
    """A metric as key ``type [name; task; dataset; split]`` and its value."""
    where = "; ".join(c for c in context if c)
    key = f"{kind} [{where}]" if where else kind
    return spdx.DictionaryEntry(key=_text(key), value=_text(value))


def _root_digest(digest: str) -> spdx.Hash:
    algorithm, _, value = digest.partition(":")
    return spdx.Hash(
        algorithm=spdx.HashAlgorithm.other, hashValue=_text(value or digest),
        comment=_text(f"OMS v1.0 root digest ({algorithm or 'unknown'} over the manifest of "
                      "the model's files), as computed by `modeltrust digest`"))


# ------------------------------------------------------------------------------ files
def _files(b: _Builder, ev: Evidence, model: spdx.ai_AIPackage) -> None:
    """Every file with its SHA-256; the model ``contains`` all but signatures."""
    for fact in sorted(ev.files):
        element = _file(b, fact.path, fact.sha256, fact)
        if fact.role == "signature":
            b.relate(model, _REL.hasEvidence, element)
        else:
            b.relate(model, _REL.contains, element)
    if ev.card_path and ev.card_path in b.files:
        b.relate(model, _REL.hasDocumentation, b.files[ev.card_path])


def _file(b: _Builder, path: str, sha256: str, fact: FileFact | None) -> spdx.software_File:
    if path in b.files:
        return b.files[path]
    comment = None
    if fact is not None:
        comment = f"role: {fact.role}; format: {fact.format}; size: {fact.size} bytes"
        if not fact.in_manifest:
            comment += "; not covered by the OMS root digest"
    element = b.new(
        spdx.software_File, _fragment("file", path), name=_text(path),
        comment=_opt_text(comment),
        software_primaryPurpose=_FILE_PURPOSE.get(fact.role) if fact else _PURPOSE.other,
        verifiedUsing=[spdx.Hash(algorithm=spdx.HashAlgorithm.sha256,
                                 hashValue=_text(sha256))])
    b.files[path] = element
    return element


def _signatures(b: _Builder, ev: Evidence, model: spdx.ai_AIPackage) -> None:
    """Each signature file is evidence for the model; its offline check is an annotation."""
    for sig in sorted(ev.signatures, key=repr):
        element = _file(b, sig.path, sig.sha256, None)
        b.relate(model, _REL.hasEvidence, element)
        b.annotate(element, "review", _signature_statement(sig, ev.root_digest))


def _signature_statement(sig: SignatureFact, root_digest: str) -> str:
    parts = [f"signature {sig.state} (offline check; the signer is not authenticated)"]
    if sig.signer:
        parts.append(f"signer: {sig.signer}")
    if sig.root_digest:
        same = "matches" if sig.root_digest == root_digest else "differs from"
        parts.append(f"signed root digest {sig.root_digest} {same} the model's")
    return "; ".join(parts)


# ------------------------------------------------------------------------------ licences
def _licences(b: _Builder, model: spdx.ai_AIPackage, facts: Iterable[LicenceFact]) -> None:
    """Declared and concluded licences of the model; NoAssertion for a kind not known."""
    for fact in sorted(facts, key=repr):  # repr: None-safe, total order
        kind = _REL.hasConcludedLicense if fact.acknowledgement == "concluded" else (
            _REL.hasDeclaredLicense)
        b.relate(model, kind, _licence(b, fact))
    for kind in (_REL.hasDeclaredLicense, _REL.hasConcludedLicense):
        if (_id(model), kind) not in b.links:
            b.relate(model, kind, NO_ASSERTION_LICENCE)


def _licence(b: _Builder, fact: LicenceFact) -> spdx.simplelicensing_LicenseExpression:
    """The expression element of a licence fact, noting where it came from."""
    expression = _expression(fact.spdx, fact.name, fact.url)
    element = _expression_element(b, expression)
    note = f"{fact.acknowledgement} ({fact.source})" + (f": {fact.name}" if fact.name else "")
    notes = {n for n in (element.comment or "").split("\n") if n} | {_text(note)}
    element.comment = "\n".join(sorted(notes))
    url = _uri(fact.url)
    if url and _LICENSE_REF.match(expression) and not element.simplelicensing_customIdToUri:
        element.simplelicensing_customIdToUri = [
            spdx.DictionaryEntry(key=expression, value=url)]
    return element


def _expression(spdx_id: str | None, name: str | None, url: str | None) -> str:
    """An SPDX expression: as given when well formed, else a ``LicenseRef-`` for the name."""
    if spdx_id and _well_formed(spdx_id):
        return spdx_id
    label = spdx_id or name
    if not label:
        return f"LicenseRef-unnamed-{_hash(url or '')[:8]}"
    slug = re.sub(r"[^A-Za-z0-9.-]+", "-", label).strip("-")[:80]
    return f"LicenseRef-{slug or _hash(label)[:8]}"


def _well_formed(expression: str) -> bool:
    tokens = re.findall(r"\(|\)|[^\s()]+", expression)
    depth = 0
    for token in tokens:
        depth += {"(": 1, ")": -1}.get(token, 0)
        if depth < 0 or not _LICENCE_TOKEN.match(token):
            return False
    return depth == 0 and bool(tokens)


def _expression_element(b: _Builder,
                        expression: str) -> spdx.simplelicensing_LicenseExpression:
    return b.new(spdx.simplelicensing_LicenseExpression, _fragment("licence", expression),
                 simplelicensing_licenseExpression=expression)


def _declared(b: _Builder, package: spdx.software_Package, spdx_id: str | None,
              name: str | None = None) -> None:
    """A dataset's or base model's declared licence (NoAssertion when unknown)."""
    if spdx_id or name:
        b.relate(package, _REL.hasDeclaredLicense,
                 _expression_element(b, _expression(spdx_id, name, None)))
    else:
        b.relate(package, _REL.hasDeclaredLicense, NO_ASSERTION_LICENCE)


# ------------------------------------------------------------------------------ lineage
def _dataset(b: _Builder, fact: DatasetFact, model: spdx.ai_AIPackage,
             listed: set[str]) -> None:
    """A declared dataset; the model is ``trainedOn``/``testedOn`` it.

    An upstream (``source``) dataset is tied to the datasets derived from it instead: each
    of those is ``descendantOf`` it (only when it is in the document, so every id resolves).
    """
    availability = None
    if fact.gated is not None:
        availability = (spdx.dataset_DatasetAvailabilityType.clickthrough if fact.gated
                        else spdx.dataset_DatasetAvailabilityType.directDownload)
    notes = [f"role: {fact.role}"]
    if fact.gated is not None:
        notes.append(f"gated: {'yes' if fact.gated else 'no'}")
    if fact.card:
        notes.append(f"dataset card: {fact.card}")
    if fact.source_datasets:
        notes.append(f"derived from: {', '.join(fact.source_datasets)}")
    if fact.url and not _uri(fact.url):
        notes.append(f"location: {fact.url}")
    elif not fact.url:
        notes.append("download location: NOASSERTION (not known to be a hub dataset id)")
    element = b.new(
        spdx.dataset_DatasetPackage, _fragment("dataset", fact.id), name=_text(fact.id),
        comment=_text("; ".join(notes)), software_downloadLocation=_uri(fact.url),
        software_primaryPurpose=_PURPOSE.data,
        dataset_datasetType=[spdx.dataset_DatasetType.noAssertion],
        dataset_datasetAvailability=availability)
    _declared(b, element, fact.licence, fact.licence_name)
    for upstream in sorted(set(fact.source_datasets) & listed):
        b.relate(element, _REL.descendantOf, b.iri(_fragment("dataset", upstream)))
    if fact.role == "source":
        return
    b.relate(model, _DATASET_RELATION.get(fact.role, _REL.other), element,
             None if fact.role in _DATASET_RELATION else f"dataset role: {fact.role}")


def _ancestor(b: _Builder, fact: AncestorFact, model: spdx.ai_AIPackage) -> None:
    """A declared base model: an AI package that is ``ancestorOf`` this one."""
    element = b.new(
        spdx.ai_AIPackage, _fragment("ancestor", fact.id), name=_text(fact.id),
        comment=_text(fact.sources_note()),
        software_packageUrl=_uri(fact.purl), software_downloadLocation=_uri(fact.url),
        software_primaryPurpose=_PURPOSE.model)
    _declared(b, element, fact.licence)
    b.relate(element, _REL.hasConcludedLicense, NO_ASSERTION_LICENCE)
    b.relate(element, _REL.ancestorOf, model,
             f"{fact.relation_note()}; {fact.sources_note()}")


# ------------------------------------------------------------------------------ findings
def _finding(b: _Builder, finding: Finding, model: spdx.ai_AIPackage) -> None:
    """A scan finding as a review annotation on its file (archive members: the archive)."""
    file_path = finding.path.split("!", 1)[0]
    subject: spdx.Element = b.files.get(file_path, model) if file_path else model
    b.annotate(subject, "review", finding_statement(finding))


def _assessment(b: _Builder, finding: Finding, model: spdx.ai_AIPackage) -> None:
    """An openness finding (licence, lineage, card, data) as a review annotation.

    Its subject is the model: it is about the model's terms and claims, whichever file
    stated them (the statement names that file).
    """
    b.annotate(model, "review", assessment_statement(finding))


# ------------------------------------------------------------------------------ document
def _document(b: _Builder, ev: Evidence, model: spdx.ai_AIPackage,
              relationships: list[spdx.Relationship]) -> spdx.SpdxDocument:
    data_licence = _expression_element(b, DATA_LICENCE)
    profiles, gaps = _conformance(b, relationships)
    name = _display_name(ev)
    comment = [f"Written by modeltrust {ev.tool_version} from the model's files, card and "
               "scan; nothing was fetched. Ids are derived from the OMS root digest.", *gaps]
    members = sorted([*b.elements.values(), *relationships], key=_id)
    return spdx.SpdxDocument(
        spdxId=b.iri("document"), creationInfo=b.info,
        name=_text(f"modeltrust BOM for {name}"), comment=_text("\n".join(comment)),
        dataLicense=data_licence, rootElement=[model], element=members,
        profileConformance=profiles)


def _conformance(b: _Builder, relationships: list[spdx.Relationship]) -> tuple[
        list[str], list[str]]:
    """The profiles every element meets, and why the AI/Dataset profiles are not claimed."""
    ids = spdx.ProfileIdentifierType
    profiles = [ids.core, ids.software, ids.simpleLicensing]
    gaps: list[str] = []
    checks = ((ids.ai, spdx.ai_AIPackage, _AI_REQUIRED),
              (ids.dataset, spdx.dataset_DatasetPackage, _DATASET_REQUIRED))
    for profile, cls, required in checks:
        members = [e for e in b.elements.values() if type(e) is cls]
        missing = sorted({p for e in members for p in required if not getattr(e, p)})
        if members and not missing:
            profiles.append(profile)
        elif missing:
            gaps.append(f"Profile {profile.rsplit('/', 1)[-1]!r} not claimed: "
                        f"{', '.join(missing)} not known for every {cls.__name__}.")
    return profiles, gaps


# ------------------------------------------------------------------------------ helpers
def _id(element: spdx.Element) -> str:
    spdx_id = element.spdxId
    assert spdx_id is not None, "every element is created with an id"
    return spdx_id


def _fragment_of(element: spdx.Element) -> str:
    return _id(element).split("#", 1)[1]


def _fragment(prefix: str, text: str) -> str:
    """``prefix-text`` when the text is id-safe, else a slug plus a short hash of it."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:64]
    if not slug or slug != text:
        slug = f"{slug}-{_hash(text)[:8]}".lstrip("-")
    return f"{prefix}-{slug}"


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _digest_hex(root_digest: str) -> str:
    value = root_digest.partition(":")[2] or root_digest
    return value if re.fullmatch(r"[0-9a-f]{16,128}", value) else _hash(root_digest)


def _moment(timestamp: str) -> datetime | None:
    """The evidence timestamp as an aware UTC datetime (naive means UTC, never local)."""
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return None
    if moment.year < 1000:  # not expressible as the four-digit year SPDX requires
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def _text(value: str) -> str:
    """Text with characters RDF literals cannot hold replaced by U+FFFD."""
    return _BAD_CHARS.sub("\ufffd", value)


def _opt_text(value: str | None) -> str | None:
    return _text(value) if value else None


def _joined(parts: Iterable[str]) -> str | None:
    text = "\n\n".join(p for p in parts if p)
    return _text(text) if text else None


def _unique(values: Iterable[str | None]) -> list[str]:
    """Set values, first occurrence kept, in order."""
    return [_text(v) for v in dict.fromkeys(v for v in values if v)]


def _uri(value: str | None) -> str | None:
    """``value`` when it is an absolute URI (``anyURI`` properties), else ``None``."""
    return value if value and _URI.match(value) else None
