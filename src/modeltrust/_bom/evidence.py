"""The body of evidence a BOM renders: what scan, integrity and openness established.

Both renderers (CycloneDX and SPDX) read only these types, so the two documents cannot
disagree about a licence, a hash, a dataset or an ancestor. Every fact is optional: what
could not be established is ``None`` or empty and named in :attr:`Evidence.unknowns`, so a
BOM says what it does not know instead of guessing. Paths are relative to the model root
(a BOM must not leak where the auditor keeps the model, and must diff across machines).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from modeltrust.findings import Finding


@dataclass(frozen=True, order=True)
class FileFact:
    """One file of the model: relative path, size, SHA-256, detected format and role."""

    path: str
    size: int
    sha256: str
    format: str
    role: str
    """``weights``, ``config``, ``tokenizer``, ``card``, ``licence``, ``signature``,
    ``code``, ``template``, ``data`` or ``other``."""
    in_manifest: bool = True
    """Whether the file is covered by the OMS root digest (``.git*`` and signatures are not)."""


@dataclass(frozen=True, order=True)
class LicenceFact:
    """A licence that applies to the model, and how we know.

    ``spdx`` is an SPDX licence id, a ``LicenseRef-`` id or an SPDX expression; ``None``
    when only a name or link is known.
    """

    spdx: str | None
    name: str | None
    source: str
    """``card`` (declared in the card metadata), ``file:<path>`` (identified from a licence
    text) or ``gguf`` (GGUF ``general.license``)."""
    url: str | None = None
    acknowledgement: str = "declared"
    """``declared`` by the publisher, or ``concluded`` by us from a licence text."""


@dataclass(frozen=True, order=True)
class DatasetFact:
    """A dataset the card declares, with its terms when its own card was available."""

    id: str
    role: str
    """``train``, ``eval``, or ``source`` (upstream of a declared dataset, from its card's
    ``source_datasets``)."""
    licence: str | None = None
    licence_name: str | None = None
    gated: bool | None = None
    url: str | None = None
    card: str | None = None
    source_datasets: tuple[str, ...] = ()


_INFERRED = {"merge": "inferred: several base models are declared",
             "quantized": "inferred: the only weights are GGUF files",
             "adapter": "inferred from an adapter configuration"}
"""Why openness infers a relation it was not told (see ``_assess.lineage``)."""


@dataclass(frozen=True, order=True)
class AncestorFact:
    """A declared base model: id, relation (adapter, finetune, merge, quantized), source.

    ``source`` is the most authoritative declaration of the base (``card``,
    ``adapter_config``, ``gguf``) and ``sources`` every one that names it. The relation has
    its own origin, ``relation_source``: ``card`` when the card's ``base_model_relation``
    states it, ``inferred`` when openness inferred it (an ``adapter_config.json`` makes an
    adapter, several card bases a merge), ``None`` when no relation is known.
    """

    id: str
    relation: str | None
    source: str
    licence: str | None = None
    purl: str | None = None
    url: str | None = None
    relation_source: str | None = None
    sources: tuple[str, ...] = ()

    def relation_basis(self) -> str | None:
        """How the relation is known: ``inferred from adapter_config.json``, for one."""
        if not self.relation:
            return None
        if self.relation_source == "card":
            return "declared in the card's base_model_relation"
        if self.relation_source != "inferred":
            return "origin not recorded"
        declared_in = self.sources or (self.source,)
        if self.relation == "adapter" and "adapter_config" in declared_in:
            return "inferred from adapter_config.json"
        if self.relation == "merge" and "mergekit_config" in declared_in:
            return "inferred from mergekit_config.yml"
        return _INFERRED.get(self.relation, "inferred")

    def relation_note(self) -> str:
        """``relation: adapter (inferred from adapter_config.json)``: what and how we know."""
        basis = self.relation_basis()
        return f"relation: {self.relation} ({basis})" if basis else "relation: not stated"

    def sources_note(self) -> str:
        """``base declared in: card, adapter_config``."""
        return "base declared in: " + ", ".join(self.sources or (self.source,))


@dataclass(frozen=True, order=True)
class MetricFact:
    """One evaluation result from the card's ``model-index``."""

    type: str
    value: str
    name: str | None = None
    task: str | None = None
    dataset: str | None = None
    split: str | None = None


@dataclass(frozen=True, order=True)
class SignatureFact:
    """A signature file found beside the model and what an offline check said about it."""

    path: str
    sha256: str
    state: str
    """``intact``, ``mismatch`` or ``malformed`` (see ``modeltrust verify`` to authenticate)."""
    signer: str | None = None
    root_digest: str | None = None


@dataclass(frozen=True)
class Considerations:
    """What the card says about use and risks (quoted excerpts, each with its heading)."""

    use_cases: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    technical_limitations: tuple[str, ...] = ()
    ethical: tuple[str, ...] = ()
    environmental: tuple[str, ...] = ()

    def empty(self) -> bool:
        """True when the card stated none of these."""
        return not (self.use_cases or self.users or self.technical_limitations
                    or self.ethical or self.environmental)


@dataclass(frozen=True)
class Evidence:
    """Everything one BOM states about one model."""

    name: str
    group: str | None
    """The publisher namespace of a hub id (``org`` in ``org/name``)."""
    revision: str | None
    root_digest: str
    """The OMS v1.0 root digest (``sha256:<hex>``) over the files in the manifest."""
    timestamp: str
    """ISO 8601 UTC, from ``SOURCE_DATE_EPOCH`` when set (reproducible BOMs)."""
    tool_version: str
    files: tuple[FileFact, ...]
    hub_id: str | None = None
    purl: str | None = None
    description: str | None = None
    release_time: str | None = None
    """When the publisher released this version (ISO 8601), from the card's ``date`` or
    GGUF ``general.date``; None when not stated (never the file times: copies change them)."""
    publisher: str | None = None
    contacts: tuple[str, ...] = ()
    card_path: str | None = None
    task: str | None = None
    library: str | None = None
    languages: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    architecture_family: str | None = None
    architecture: str | None = None
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    licences: tuple[LicenceFact, ...] = ()
    licence_terms: str | None = None
    """``permissive``, ``copyleft``, ``restricted``, ``non-commercial``... (openness)."""
    training_information: str | None = None
    """The card's training data section, quoted (SPDX ``informationAboutTraining``)."""
    datasets: tuple[DatasetFact, ...] = ()
    ancestors: tuple[AncestorFact, ...] = ()
    metrics: tuple[MetricFact, ...] = ()
    considerations: Considerations = field(default_factory=Considerations)
    signatures: tuple[SignatureFact, ...] = ()
    findings: tuple[Finding, ...] = ()
    """Scan (and ``audit`` integrity) findings: what may harm whoever loads the files."""
    assessment_findings: tuple[Finding, ...] = ()
    """Openness findings (licence, lineage, card, data): terms and claims, not exploits."""
    weights_found: bool = True
    """Whether any file (or archive member) is in a known weights format."""
    verdict: str = "unknown"
    """The scan's verdict (``clean``, ``findings``...); the worst severity is in findings."""
    unknowns: tuple[str, ...] = ()
    """Facts we could not establish, as sentences (e.g. ``revision: not recorded``)."""

    @property
    def model_files(self) -> tuple[FileFact, ...]:
        """Files that make up the model (everything but signature files)."""
        return tuple(f for f in self.files if f.role != "signature")


def finding_statement(f: Finding) -> str:
    """One line both formats use: ``RULE severity: title \u2014 evidence (path, location)``."""
    where = [f.path or "model"]
    if f.location.to_dict():
        where.append(f.location.describe())
    return (f"{f.rule_id} {f.severity.value}: {f.title} \u2014 {f.evidence} "
            f"({', '.join(where)})")


def assessment_statement(f: Finding) -> str:
    """:func:`finding_statement` of an openness finding, marked as one."""
    return "openness: " + finding_statement(f)
