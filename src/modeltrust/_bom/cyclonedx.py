"""CycloneDX 1.6 ML-BOM (JSON) rendered from the evidence.

The BOM is *about* the model: ``metadata.component`` is the model, its files are nested
components, declared datasets are top-level ``data`` components its model card points at,
declared base models are pedigree ancestors, scan findings are vulnerabilities rated by
modeltrust and openness findings (licence, lineage, card) are modeltrust's annotations on
the model. What CycloneDX has no field for is a ``modeltrust:`` property, and every
unknown is a ``modeltrust:unknown`` property of the metadata, so a reader sees the gaps.

The serial number is a UUIDv5 of the rest of the document, so the same evidence always
gives the same bytes while any change in content gives a new serial number.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

from cyclonedx.spdx import fixup_id

from modeltrust import rules
from modeltrust._bom.cdx_types import (
    Annotation,
    Component,
    DataEntry,
    Dependency,
    Expression,
    ExternalRef,
    Hash,
    JsonDict,
    Licence,
    LicenceEntry,
    Metric,
    ModelCard,
    Prop,
    Supplier,
    Vulnerability,
    compact,
    each,
)
from modeltrust._bom.evidence import (
    AncestorFact,
    DatasetFact,
    Evidence,
    FileFact,
    LicenceFact,
    MetricFact,
    assessment_statement,
)
from modeltrust._report.json import TOOL_NAME, prose, safe_text
from modeltrust._source.interface import MEMBER_SEP
from modeltrust.findings import Finding

SPEC_VERSION = "1.6"
SCHEMA_URI = "http://cyclonedx.org/schema/bom-1.6.schema.json"
HUB_URL = "https://huggingface.co/"
SERIAL_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://pypi.org/project/modeltrust/#cyclonedx")
"""Namespace of serial numbers; fixed so a serial number depends on the content alone."""
UNKNOWN_TIME = "1970-01-01T00:00:00Z"
"""Stands in for a timestamp that is not RFC 3339 where the schema requires one (the
metadata then names the real one as unknown)."""
NS = TOOL_NAME + ":"
"""Prefix of our property names (CycloneDX property taxonomy: one namespace per tool)."""

_T = TypeVar("_T")
_OPERATOR = re.compile(r"\s(?:AND|OR|WITH)\s", re.IGNORECASE)
_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
_RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_SUB_DELIMS = "!$&'()*+,;=~"
_PATH_SAFE = _SUB_DELIMS + "/:@"


def dumps(ev: Evidence) -> str:
    """The BOM as deterministic JSON text (sorted keys, UTF-8 characters kept)."""
    return json.dumps(render(ev), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render(ev: Evidence) -> dict[str, object]:
    """The BOM as JSON-ready data."""
    model_ref = ev.purl or f"model:{ev.root_digest}"
    by_path = {f.path: f for f in sorted(set(ev.model_files), reverse=True)}  # one per path
    files = tuple(_file(by_path[p]) for p in sorted(by_path))
    datasets = _datasets(ev.datasets)
    declared = {f"dataset:{d.id}" for d in ev.datasets if d.role != "source"}
    model = _model(ev, model_ref, files,
                   tuple(d.bom_ref or "" for d in datasets if d.bom_ref in declared))
    file_refs = {f.name: f.bom_ref or "" for f in files}
    findings = sorted(set(ev.findings), key=Finding.sort_key)
    graph = [Dependency(model_ref, tuple(sorted([*file_refs.values(), *declared])))]
    graph += _upstream(ev.datasets)
    doc = _clean_dict(compact({
        "$schema": SCHEMA_URI,
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "version": 1,
        "metadata": _metadata(ev, model),
        "components": each(datasets),
        "dependencies": [d.to_json() for d in graph if d.depends_on],
        "vulnerabilities": [_vulnerability(f, file_refs, model_ref).to_json()
                            for f in findings],
        "annotations": [_annotation(f, ev, model_ref).to_json()
                        for f in sorted(set(ev.assessment_findings), key=Finding.sort_key)],
    }))
    doc["serialNumber"] = serial_number(doc)
    return doc


def serial_number(doc: JsonDict) -> str:
    """``urn:uuid:`` UUIDv5 of the document's canonical JSON (without a serial number)."""
    body = {k: v for k, v in doc.items() if k != "serialNumber"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"urn:uuid:{uuid.uuid5(SERIAL_NAMESPACE, canonical)}"


def _metadata(ev: Evidence, model: Component) -> JsonDict:
    """Timestamp, tool, the model as the BOM's subject, verdict and unknowns."""
    tool = Component("application", TOOL_NAME, version=ev.tool_version)
    props = [Prop(NS + "verdict", ev.verdict)]
    props += [Prop(NS + "unknown", u) for u in sorted(set(ev.unknowns))]
    timestamp: str | None = ev.timestamp
    if not _is_rfc3339(ev.timestamp):
        props.append(Prop(NS + "unknown", f"timestamp: not RFC 3339 ({ev.timestamp!r})"))
        timestamp = None
    return compact({
        "timestamp": timestamp,
        "tools": {"components": [tool.to_json()]},
        "component": model.to_json(),
        "properties": each(props),
    })


# --- the model -----------------------------------------------------------------------


def _model(ev: Evidence, ref: str, files: tuple[Component, ...],
           dataset_refs: tuple[str, ...]) -> Component:
    """The model component: identity, licences, links, files, ancestors and model card."""
    return Component(
        type="machine-learning-model",
        name=ev.name,
        bom_ref=ref,
        group=ev.group,
        version=ev.revision,
        description=ev.description,
        publisher=ev.publisher,
        supplier=_supplier(ev),
        purl=ev.purl,
        hashes=_hashes(ev.root_digest.removeprefix("sha256:")),
        licences=tuple(_licence(f) for f in _sorted(ev.licences)),
        external_refs=_model_links(ev),
        tags=tuple(sorted(set(ev.tags))),
        properties=_model_properties(ev),
        components=files,
        ancestors=tuple(_ancestor(a, ev.licences) for a in _sorted(ev.ancestors)),
        model_card=_model_card(ev, dataset_refs),
    )


def _supplier(ev: Evidence) -> Supplier:
    """Publisher and the contacts that are e-mail addresses or web links."""
    emails = [c.removeprefix("mailto:") for c in ev.contacts]
    return Supplier(
        name=ev.publisher,
        emails=tuple(sorted({e for e in emails if _EMAIL.match(e)})),
        urls=tuple(sorted({u for c in ev.contacts if _is_web(c) and (u := _iri(c))})),
    )


def _model_links(ev: Evidence) -> tuple[ExternalRef, ...]:
    """Model card, hub page and signature files (as attestations, with their hash)."""
    refs: list[ExternalRef] = []
    if ev.card_path and (url := _path_iri(ev.card_path)):
        refs.append(ExternalRef("model-card", url))
    if ev.hub_id and (url := _iri(HUB_URL + ev.hub_id)):
        refs.append(ExternalRef("distribution", url))
        refs.append(ExternalRef("vcs", url, "git repository of the model on the hub"))
    for sig in sorted(set(ev.signatures)):
        url = _path_iri(sig.path)
        if url:
            comment = "; ".join(x for x in (
                f"signature {sig.state} (offline check)",
                f"signer {sig.signer}" if sig.signer else "",
                f"root digest {sig.root_digest}" if sig.root_digest else "",
            ) if x)
            refs.append(ExternalRef("attestation", url, comment, _hashes(sig.sha256)))
    return tuple(sorted(refs, key=lambda r: (r.type, r.url)))


def _model_properties(ev: Evidence) -> tuple[Prop, ...]:
    """Facts with no component field (task, library...) and the root digest, named."""
    props = [Prop(NS + "oms-root-digest", ev.root_digest)]
    optional = (("task", ev.task), ("library", ev.library),
                ("licence-terms", ev.licence_terms))
    props += [Prop(NS + name, value) for name, value in optional if value]
    props += [Prop(NS + "language", lang) for lang in set(ev.languages)]
    props += [Prop(NS + "contact", c) for c in set(ev.contacts)
              if not _EMAIL.match(c.removeprefix("mailto:")) and not _is_web(c)]
    return tuple(sorted(props))


def _model_card(ev: Evidence, dataset_refs: tuple[str, ...]) -> ModelCard:
    """The model card; every section is absent unless the evidence states it."""
    c = ev.considerations
    training = ev.training_information
    return ModelCard(
        task=ev.task,
        architecture_family=ev.architecture_family,
        architecture=ev.architecture,
        dataset_refs=dataset_refs,
        inputs=tuple(sorted(set(ev.inputs))),
        outputs=tuple(sorted(set(ev.outputs))),
        metrics=tuple(_metric(m) for m in _sorted(ev.metrics)),
        users=c.users,
        use_cases=c.use_cases,
        technical_limitations=c.technical_limitations,
        ethical=c.ethical,
        environmental=tuple(Prop(NS + "environmental-impact", t) for t in c.environmental),
        properties=(Prop(NS + "training-information", training),) if training else (),
    )


def _metric(m: MetricFact) -> Metric:
    """A performance metric; its name, task, dataset and split describe the slice."""
    parts = [m.name or ""]
    parts += [f"{label} {v}" for label, v in
              (("task", m.task), ("dataset", m.dataset), ("split", m.split)) if v]
    return Metric(m.type, m.value, "; ".join(p for p in parts if p) or None)


def _file(f: FileFact) -> Component:
    """A file of the model, with its SHA-256 and whether the OMS manifest covers it."""
    return Component(
        type="file",
        name=f.path,
        bom_ref=f"file:{f.path}",
        hashes=_hashes(f.sha256),
        properties=(
            Prop(NS + "format", f.format),
            Prop(NS + "in-oms-manifest", _bool(f.in_manifest)),
            Prop(NS + "role", f.role),
            Prop(NS + "size", str(f.size)),
        ),
    )


# --- licences ------------------------------------------------------------------------


def _licence(fact: LicenceFact) -> LicenceEntry:
    """A licence as CycloneDX wants it: a known id, an expression, or a name."""
    ack = fact.acknowledgement if fact.acknowledgement in ("declared", "concluded") else None
    spdx = (fact.spdx or "").strip()
    if spdx and (_OPERATOR.search(spdx) or spdx.startswith("(")):
        return Expression(spdx, ack)
    url = _iri(fact.url) if fact.url else None
    props = [Prop(NS + "licence-source", fact.source)] if fact.source else []
    known = fixup_id(spdx) if spdx else None
    if known:
        return Licence(id=known, url=url, acknowledgement=ack, properties=tuple(props))
    if spdx:  # a LicenseRef- or an id CycloneDX does not list: keep it beside the name
        props.append(Prop(NS + "spdx-id", spdx))
    name = fact.name or spdx or "unknown"
    return Licence(name=name, url=url, acknowledgement=ack, properties=tuple(sorted(props)))


def _simple_licence(spdx: str | None, name: str | None, source: str,
                    known: Iterable[LicenceFact] = ()) -> tuple[LicenceEntry, ...]:
    """The licence of a dataset or ancestor (named after a model licence with that id)."""
    if not (spdx or name):
        return ()
    if name is None:
        name = next((k.name for k in known if k.spdx == spdx and k.name), None)
    return (_licence(LicenceFact(spdx, name, source)),)


# --- datasets and ancestors ----------------------------------------------------------


def _datasets(facts: Iterable[DatasetFact]) -> tuple[Component, ...]:
    """One ``data`` component per dataset id (a set used to train and evaluate is one)."""
    by_id: dict[str, list[DatasetFact]] = {}
    for d in _sorted(facts):
        by_id.setdefault(d.id, []).append(d)
    return tuple(_dataset(i, by_id[i]) for i in sorted(by_id))


def _upstream(facts: Iterable[DatasetFact]) -> list[Dependency]:
    """A dataset depends on the upstream (``source_datasets``) ones the BOM lists."""
    listed = {f.id for f in facts}
    sources: dict[str, set[str]] = {}
    for f in facts:
        sources.setdefault(f.id, set()).update(s for s in f.source_datasets if s in listed)
    return [Dependency(f"dataset:{i}", tuple(sorted(f"dataset:{s}" for s in sources[i])))
            for i in sorted(sources) if sources[i]]


def _dataset(id_: str, facts: list[DatasetFact]) -> Component:
    """A dataset component: hub-style name, terms, link and what we know of its origin."""
    group, name = _split_hub_id(id_)
    gated = _first(f.gated for f in facts)
    url = _iri(_first(f.url for f in facts) or "")
    props = [Prop(NS + "dataset-role", r) for r in {f.role for f in facts}]
    props += [Prop(NS + "source-dataset", s) for f in facts for s in f.source_datasets]
    if gated is not None:
        props.append(Prop(NS + "gated", _bool(gated)))
    if card := _first(f.card for f in facts):
        props.append(Prop(NS + "card-path", card))
    licence = _simple_licence(_first(f.licence for f in facts),
                              _first(f.licence_name for f in facts), "dataset card")
    return Component(
        type="data",
        name=name,
        group=group,
        bom_ref=f"dataset:{id_}",
        licences=licence,
        external_refs=(ExternalRef("distribution", url),) if url else (),
        properties=tuple(sorted(set(props))),
        data=(DataEntry(name=id_, url=url),),
    )


def _ancestor(a: AncestorFact, licences: Iterable[LicenceFact]) -> Component:
    """A declared base model, as a pedigree ancestor of the model."""
    group, name = _split_hub_id(a.id)
    url = _iri(a.url) if a.url else None
    props = [Prop(NS + "source", s) for s in set(a.sources or (a.source,))]
    if a.relation:
        props.append(Prop(NS + "relation", a.relation))
    if basis := a.relation_basis():
        props.append(Prop(NS + "relation-source", basis))
    return Component(
        type="machine-learning-model",
        name=name,
        group=group,
        purl=a.purl,
        licences=_simple_licence(a.licence, None, "ancestor", licences),
        external_refs=(ExternalRef("distribution", url),) if url else (),
        properties=tuple(sorted(props)),
    )


def _split_hub_id(id_: str) -> tuple[str | None, str]:
    """``org/name`` -> (``org``, ``name``); anything else is a name without a group."""
    group, sep, name = id_.partition("/")
    if sep and group and name and "/" not in name:
        return group, name
    return None, id_


# --- findings ------------------------------------------------------------------------


def _vulnerability(f: Finding, file_refs: dict[str, str], model_ref: str) -> Vulnerability:
    """A finding as a vulnerability that affects its file (or the model itself)."""
    outer = f.path.split(MEMBER_SEP, 1)[0]
    where = f.path or "the model"
    if f.location.to_dict():
        where += f", {f.location.describe()}"
    props = [Prop(NS + "path", f.path)] if f.path else []
    props += [Prop(f"{NS}location:{k}", str(v)) for k, v in f.location.to_dict().items()]
    recommendation, cwe = _rule_advice(f.rule_id)
    return Vulnerability(
        bom_ref=f"finding:{_finding_digest(f)}",
        id=f.rule_id,
        severity=f.severity.value,
        description=f.title,
        detail=f"{f.evidence} (at {where})",
        affects=file_refs.get(outer, model_ref),
        source=TOOL_NAME,
        recommendation=recommendation,
        cwe=cwe,
        properties=tuple(sorted(props)),
    )


def _annotation(f: Finding, ev: Evidence, model_ref: str) -> Annotation:
    """An openness finding as modeltrust's annotation on the model.

    Licence, lineage and card findings are about the model's terms and claims, not a
    weakness of its files, so they are not vulnerabilities. The text carries the rule id,
    severity, title, evidence and place (``openness: RULE severity: title — evidence
    (path)``, as the SPDX document's annotation says);
    the timestamp is the BOM's, so the same evidence still gives the same bytes.
    """
    stamp = ev.timestamp if _is_rfc3339(ev.timestamp) else UNKNOWN_TIME
    tool = Component("application", TOOL_NAME, version=ev.tool_version)
    return Annotation(bom_ref=f"annotation:{_finding_digest(f)}", subjects=(model_ref,),
                      annotator=tool, timestamp=stamp, text=assessment_statement(f))


def _finding_digest(f: Finding) -> str:
    """A short content hash: the same finding keeps its bom-ref across runs."""
    key = [f.rule_id, f.severity.value, f.title, f.path, f.evidence, f.location.to_dict()]
    text = json.dumps(key, sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _rule_advice(rule_id: str) -> tuple[str | None, int | None]:
    """How to fix, and the CWE, from the rule registry (nothing for an unknown rule)."""
    try:
        r = rules.get(rule_id)
    except KeyError:
        return None, None
    return (prose(r.fix) or None), r.cwe


# --- helpers -------------------------------------------------------------------------


def _hashes(sha256: str) -> tuple[Hash, ...]:
    """The SHA-256 as a CycloneDX hash, or nothing when it is not a valid digest."""
    return (Hash(sha256.lower()),) if _SHA256.match(sha256) else ()


def _is_rfc3339(text: str) -> bool:
    """True for a timestamp the schema's ``date-time`` format accepts."""
    if not _RFC3339.match(text):
        return False
    try:
        datetime.fromisoformat(text)
    except ValueError:  # well-formed but out of range, e.g. month 13
        return False
    return True


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _is_web(text: str) -> bool:
    return text.lower().startswith(("https://", "http://"))


def _first(values: Iterable[_T | None]) -> _T | None:
    """The first value that is set (facts about one dataset may come from several)."""
    return next((v for v in values if v is not None), None)


def _sorted(items: Iterable[_T]) -> list[_T]:
    """Distinct items in a stable order (``repr`` sorts even when fields are ``None``)."""
    return sorted(set(items), key=repr)


def _iri(text: str) -> str | None:
    """``text`` as a valid IRI reference: unsafe characters percent-encoded.

    URLs and paths come from model cards and file names; CycloneDX validates ``url`` fields
    as IRI references, so a space or quote in one must not make the whole BOM invalid.
    """
    text = safe_text(text).strip()
    if not text:
        return None
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return None
    path = quote(parts.path, safe=_PATH_SAFE + "%")
    if not parts.scheme:
        path = _no_scheme(path)
    if "[" in parts.netloc:  # IP literals: the schema's IRI checker rejects even valid ones
        return None
    if parts.scheme and not parts.netloc and parts.path.startswith("//"):
        return None  # ``s:////x``: no way to keep an empty authority through urlunsplit
    netloc = _authority(parts.netloc)
    query = quote(parts.query, safe="/?!$&'()*+,;=:@%~")
    fragment = quote(parts.fragment, safe="/?!$&'()*+,;=:@%~")
    url = urlunsplit((parts.scheme, netloc, path, query, fragment))
    return _STRAY_PERCENT.sub("%25", url)


def _authority(netloc: str) -> str:
    """``user@host:port`` with ``@`` kept only as the last separator (the port is checked)."""
    user, at, hostport = netloc.rpartition("@")
    host, colon, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "")
    host = quote(host, safe=_SUB_DELIMS + "%")
    return quote(user, safe=_SUB_DELIMS + ":%") + at + host + colon + port


def _path_iri(path: str) -> str | None:
    """A relative file path as an IRI reference (``#`` and ``?`` are name characters)."""
    path = safe_text(path).strip()
    return _no_scheme(quote(path, safe=_PATH_SAFE)) if path else None


def _no_scheme(path: str) -> str:
    """Guard a relative reference that would read as a scheme (``a:b``) or host (``//h``)."""
    if path.startswith("//"):
        return "." + path
    return "./" + path if ":" in path.split("/", 1)[0] else path


def _clean_dict(value: JsonDict) -> JsonDict:
    """:func:`_clean` for the whole document."""
    return {safe_text(k): _clean(v) for k, v in value.items()}


def _clean(value: object) -> object:
    """Make every string encodable (file names may carry undecodable bytes)."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, dict):
        return {safe_text(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value
