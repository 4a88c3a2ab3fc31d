"""Small typed pieces of a CycloneDX 1.6 JSON document, each able to write itself.

We build the document from these rather than cyclonedx-python-lib's object model because
that library cannot write ``modelCard`` (the heart of an ML-BOM). Every ``to_json`` omits
empty fields, so a fact we do not know is absent rather than stated as ``""`` or ``[]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

JsonDict = dict[str, object]


def compact(fields: Mapping[str, object]) -> JsonDict:
    """Drop ``None`` and empty strings, lists and objects (``False`` and ``0`` are facts)."""
    return {k: v for k, v in fields.items() if v is not None and v not in ("", [], {})}


def each(items: Iterable[Json]) -> list[JsonDict]:
    """Serialise a sequence of pieces, keeping its order (callers sort)."""
    return [item.to_json() for item in items]


class Json:
    """Anything that renders to a JSON object."""

    def to_json(self) -> JsonDict:
        """The JSON object, without empty fields."""
        raise NotImplementedError


@dataclass(frozen=True, order=True)
class Prop(Json):
    """A name/value property; ``modeltrust:`` names hold what CycloneDX has no field for."""

    name: str
    value: str

    def to_json(self) -> JsonDict:
        """``{name, value}``."""
        return {"name": self.name, "value": self.value}


@dataclass(frozen=True, order=True)
class Hash(Json):
    """A SHA-256: a file's, or the model's OMS root digest (over its files' digests)."""

    content: str
    alg: str = "SHA-256"

    def to_json(self) -> JsonDict:
        """``{alg, content}``."""
        return {"alg": self.alg, "content": self.content}


@dataclass(frozen=True)
class Licence(Json):
    """One licence entry: an SPDX ``id`` CycloneDX knows, or else a ``name``."""

    id: str | None = None
    name: str | None = None
    url: str | None = None
    acknowledgement: str | None = None
    properties: tuple[Prop, ...] = ()

    def to_json(self) -> JsonDict:
        """``{license: {...}}``; the schema wants exactly one of ``id`` and ``name``."""
        body = compact({
            "id": self.id,
            "name": None if self.id else (self.name or "unknown"),
            "url": self.url,
            "acknowledgement": self.acknowledgement,
            "properties": each(self.properties),
        })
        return {"license": body}


@dataclass(frozen=True)
class Expression(Json):
    """A compound SPDX expression (``A OR B``), which CycloneDX keeps whole."""

    expression: str
    acknowledgement: str | None = None

    def to_json(self) -> JsonDict:
        """``{expression, acknowledgement}``."""
        return compact({"expression": self.expression, "acknowledgement": self.acknowledgement})

    def as_named(self) -> Licence:
        """The same expression as a named licence, for lists that mix it with others."""
        return Licence(name=self.expression, acknowledgement=self.acknowledgement,
                       properties=(Prop("modeltrust:spdx-expression", self.expression),))


LicenceEntry = Licence | Expression


def licence_choice(entries: Iterable[LicenceEntry]) -> list[JsonDict]:
    """A schema-valid ``licenses`` array.

    CycloneDX 1.6 allows either a list of licences or exactly one expression, never both,
    so an expression that shares the list with other licences is written as a named licence.
    """
    items = list(entries)
    if len(items) == 1:
        return [items[0].to_json()]
    return [(e.as_named() if isinstance(e, Expression) else e).to_json() for e in items]


@dataclass(frozen=True)
class ExternalRef(Json):
    """A link to something about a component (card, distribution, signature...)."""

    type: str
    url: str
    comment: str | None = None
    hashes: tuple[Hash, ...] = ()

    def to_json(self) -> JsonDict:
        """``{type, url, comment, hashes}``."""
        return compact({"type": self.type, "url": self.url, "comment": self.comment,
                        "hashes": each(self.hashes)})


@dataclass(frozen=True)
class Supplier(Json):
    """The organisation behind a model, with the contact addresses it published."""

    name: str | None = None
    emails: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()

    def to_json(self) -> JsonDict:
        """``{name, url, contact: [{email}]}``."""
        return compact({"name": self.name, "url": list(self.urls),
                        "contact": [{"email": e} for e in self.emails]})

    def empty(self) -> bool:
        """True when nothing is known about the supplier."""
        return not (self.name or self.emails or self.urls)


@dataclass(frozen=True)
class DataEntry(Json):
    """The ``data`` block of a dataset component: what it is and where its contents are."""

    name: str
    url: str | None = None
    type: str = "dataset"

    def to_json(self) -> JsonDict:
        """``{type, name, contents: {url}}``."""
        contents = compact({"url": self.url})
        return compact({"type": self.type, "name": self.name, "contents": contents})


@dataclass(frozen=True)
class Metric(Json):
    """One performance metric of the model card."""

    type: str
    value: str
    slice: str | None = None

    def to_json(self) -> JsonDict:
        """``{type, value, slice}``."""
        return compact({"type": self.type, "value": self.value, "slice": self.slice})


@dataclass(frozen=True)
class ModelCard(Json):
    """The CycloneDX model card: parameters, quantitative analysis and considerations."""

    task: str | None = None
    architecture_family: str | None = None
    architecture: str | None = None
    dataset_refs: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    metrics: tuple[Metric, ...] = ()
    users: tuple[str, ...] = ()
    use_cases: tuple[str, ...] = ()
    technical_limitations: tuple[str, ...] = ()
    ethical: tuple[str, ...] = ()
    environmental: tuple[Prop, ...] = ()
    properties: tuple[Prop, ...] = ()

    def to_json(self) -> JsonDict:
        """The ``modelCard`` object; empty sections are left out."""
        params = compact({
            "task": self.task,
            "architectureFamily": self.architecture_family,
            "modelArchitecture": self.architecture,
            "datasets": [{"ref": r} for r in self.dataset_refs],
            "inputs": [{"format": f} for f in self.inputs],
            "outputs": [{"format": f} for f in self.outputs],
        })
        considerations = compact({
            "users": list(self.users),
            "useCases": list(self.use_cases),
            "technicalLimitations": list(self.technical_limitations),
            "ethicalConsiderations": [{"name": text} for text in self.ethical],
            "environmentalConsiderations": compact({"properties": each(self.environmental)}),
        })
        return compact({
            "modelParameters": params,
            "quantitativeAnalysis": compact({"performanceMetrics": each(self.metrics)}),
            "considerations": considerations,
            "properties": each(self.properties),
        })


@dataclass(frozen=True)
class Component(Json):
    """A CycloneDX component: the model, one of its files, a dataset or an ancestor."""

    type: str
    name: str
    bom_ref: str | None = None
    group: str | None = None
    version: str | None = None
    description: str | None = None
    publisher: str | None = None
    supplier: Supplier | None = None
    purl: str | None = None
    hashes: tuple[Hash, ...] = ()
    licences: tuple[LicenceEntry, ...] = ()
    external_refs: tuple[ExternalRef, ...] = ()
    tags: tuple[str, ...] = ()
    properties: tuple[Prop, ...] = ()
    components: tuple[Component, ...] = ()
    ancestors: tuple[Component, ...] = ()
    model_card: ModelCard | None = None
    data: tuple[DataEntry, ...] = ()

    def to_json(self) -> JsonDict:
        """The component object, nested components and pedigree included.

        ``name`` is required by the schema, so it stays even when empty.
        """
        supplier = self.supplier if self.supplier and not self.supplier.empty() else None
        return {"name": self.name} | compact({
            "type": self.type,
            "bom-ref": self.bom_ref,
            "group": self.group,
            "version": self.version,
            "description": self.description,
            "publisher": self.publisher,
            "supplier": supplier.to_json() if supplier else None,
            "purl": self.purl,
            "hashes": each(self.hashes),
            "licenses": licence_choice(self.licences) if self.licences else None,
            "externalReferences": each(self.external_refs),
            "tags": list(self.tags),
            "properties": each(self.properties),
            "components": each(self.components),
            "pedigree": compact({"ancestors": each(self.ancestors)}),
            "modelCard": self.model_card.to_json() if self.model_card else None,
            "data": each(self.data),
        })


@dataclass(frozen=True)
class Vulnerability(Json):
    """A scan finding, stated as a CycloneDX vulnerability rated by modeltrust."""

    bom_ref: str
    id: str
    severity: str
    description: str
    detail: str
    affects: str
    source: str
    recommendation: str | None = None
    cwe: int | None = None
    properties: tuple[Prop, ...] = ()

    def to_json(self) -> JsonDict:
        """The vulnerability object with one ``other``-method rating."""
        source = {"name": self.source}
        rating = {"source": source, "severity": self.severity, "method": "other"}
        return compact({
            "bom-ref": self.bom_ref,
            "id": self.id,
            "source": source,
            "ratings": [rating],
            "cwes": [self.cwe] if self.cwe is not None else [],
            "description": self.description,
            "detail": self.detail,
            "recommendation": self.recommendation,
            "affects": [{"ref": self.affects}],
            "properties": each(self.properties),
        })


@dataclass(frozen=True)
class Annotation(Json):
    """A statement by modeltrust about parts of the BOM (an openness finding, for one).

    CycloneDX 1.6 requires ``subjects``, ``annotator``, ``timestamp`` and ``text``; the
    annotator is the tool itself, the timestamp the BOM's own (deterministic output).
    """

    bom_ref: str
    subjects: tuple[str, ...]
    annotator: Component
    timestamp: str
    text: str

    def to_json(self) -> JsonDict:
        """``{bom-ref, subjects, annotator: {component}, timestamp, text}``."""
        return {"bom-ref": self.bom_ref, "subjects": list(dict.fromkeys(self.subjects)),
                "annotator": {"component": self.annotator.to_json()},
                "timestamp": self.timestamp, "text": self.text}


@dataclass(frozen=True)
class Dependency(Json):
    """One node of the dependency graph."""

    ref: str
    depends_on: tuple[str, ...] = ()

    def to_json(self) -> JsonDict:
        """``{ref, dependsOn}``."""
        return compact({"ref": self.ref, "dependsOn": list(self.depends_on)})
