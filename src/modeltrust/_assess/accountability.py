"""Who answers for the model: publisher, contact, security policy, gating, revision, date.

Everything is read from the snapshot itself: the card's metadata and contact section,
SECURITY.md, the Hugging Face cache (``refs/main``, the ``snapshots/<revision>`` folder),
``huggingface-cli download --local-dir`` metadata (``.cache/huggingface/download/*.metadata``)
and GGUF ``general.*`` keys. Nothing is looked up online.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modeltrust._assess import rules
from modeltrust._assess.card import Card
from modeltrust._assess.snapshot import Snapshot
from modeltrust._assess.yamlsafe import as_list, as_str
from modeltrust.findings import Finding
from modeltrust.rules import finding

DATE_KEYS = ("date", "release_date", "released", "last_updated")
"""Card metadata keys that carry a release date (none is standard on the Hub)."""
_EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")
_REV = re.compile(r"^[0-9a-f]{40}$")
_SECURITY = re.compile(r"(^|/)(\.github/)?security(\.md|\.txt|\.rst)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Accountability:
    """Publisher, contact and security-policy facts, each with where it was read."""

    publisher: str | None
    publisher_source: str | None
    contacts: tuple[str, ...]
    security_policy: str | None
    gated: bool
    gating_fields: tuple[str, ...]
    revision: str | None
    revision_source: str | None
    date: str | None
    original_creator: str | None = None
    """A re-packaging's credit to the original model's creator (card ``model_creator``,
    TheBloke-style): not the publisher of this repository."""

    def to_dict(self) -> dict[str, object]:
        """JSON form (the ``accountability`` object of the openness report)."""
        return {
            "publisher": self.publisher, "publisher_source": self.publisher_source,
            "contacts": list(self.contacts), "security_policy": self.security_policy,
            "gated": self.gated, "gating_fields": list(self.gating_fields),
            "revision": self.revision, "revision_source": self.revision_source,
            "date": self.date, "original_creator": self.original_creator,
        }


def assess_accountability(snap: Snapshot, card: Card, gguf: dict[str, dict[str, str]],
                          findings: list[Finding]) -> Accountability:
    """Gather accountability facts and flag a missing contact and security policy."""
    publisher, psource = _publisher(snap, card, gguf)
    contacts = _contacts(card)
    security = next((snap.path_of(r) for r in sorted(snap.files) if _SECURITY.search(r)), None)
    fields = card.meta.get("extra_gated_fields") if card.meta_ok else None
    gating = tuple(sorted(str(k)[:100] for k in fields)[:50]) if isinstance(fields, dict) else ()
    gated = gated_meta(card.meta) if card.meta_ok else False
    revision, rsource = _revision(snap)
    date = next((as_str(card.meta.get(k))[:64] for k in DATE_KEYS
                 if card.meta_ok and as_str(card.meta.get(k))), "")
    for meta in gguf.values():
        date = date or meta.get("general.date", "")
    if not contacts and security is None:
        findings.append(finding(rules.CARD_NO_CONTACT,
                                snap.path_of(card.rel) if card.rel else snap.shown,
                                "no contact in the card and no SECURITY.md"))
    creator = as_str(card.meta.get("model_creator"))[:200] if card.meta_ok else ""
    return Accountability(publisher, psource, contacts, security, gated, gating, revision,
                          rsource, date or None, creator or None)


def gated_meta(meta: dict[str, object]) -> bool:
    """Whether the hub gates the repository.

    ``gated: auto|manual|true`` gates; ``false``/``no`` (as text too) does not. Any
    ``extra_gated_*`` key with a value (prompt, fields, heading, description, button) is
    only shown on a gated repository, so it gates too.
    """
    flag = meta.get("gated")
    if isinstance(flag, str):
        flag = flag.strip().lower() not in ("", "false", "no", "0", "none", "off")
    extra = any(isinstance(k, str) and k.startswith("extra_gated_")
                and v not in (None, False, "", {}, [])
                for k, v in list(meta.items())[:10_000])
    return bool(flag or extra)


def _publisher(snap: Snapshot, card: Card,
               gguf: dict[str, dict[str, str]]) -> tuple[str | None, str | None]:
    for key in ("author", "organization", "publisher"):
        value = as_str(card.meta.get(key)) if card.meta_ok else ""
        if value:
            return value[:200], f"card: {key}"
    for path, meta in sorted(gguf.items()):
        for key in ("general.organization", "general.author"):
            if meta.get(key):
                return meta[key][:200], f"{path}: {key}"
    if snap.cache_root is not None and snap.cache_root.name.count("--") >= 2:
        return snap.cache_root.name.split("--")[1], "hub cache folder name"
    return None, None


def _contacts(card: Card) -> tuple[str, ...]:
    found: set[str] = set()
    sec = card.section("contact")
    text = card.section_text("contact") if sec is not None else ""
    if sec is not None and sec.by == "content":
        text = sec.heading
    found.update(_EMAIL.findall(text[:20_000]))
    if card.meta_ok:
        found.update(c[:200] for c in as_list(card.meta.get("contact"))[:20])
    if sec is not None and sec.by == "heading" and not found and text.strip():
        found.add(f"section '{sec.heading}' (line {sec.line})")
    return tuple(sorted(found)[:20])


def _revision(snap: Snapshot) -> tuple[str | None, str | None]:
    if snap.revision:
        return snap.revision, "hub cache snapshot"
    for rel in sorted(snap.files):
        if rel.startswith(".cache/huggingface/download/") and rel.endswith(".metadata"):
            data, error = snap.read_bytes(rel, 4096)
            first = data.decode("ascii", "replace").splitlines()[:1] if not error else []
            if first and _REV.match(first[0].strip()):
                return first[0].strip(), snap.path_of(rel)
    return None, None
