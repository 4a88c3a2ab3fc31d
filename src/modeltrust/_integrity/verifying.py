"""Verify a model against an OMS bundle, and say precisely what differs.

Order of checks (OMS §8): parse the bundle, verify the signature with what the caller
trusts, *then* read the statement, then re-enumerate and re-hash the model with the
signer's serialization and compare file by file. Anything that cannot be checked makes the
result fail, with the reason (fail closed). When files differ, the signed tensor statement
(if present and signed by the same trusted party) explains the change tensor by tensor and
recognises re-serialisations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modeltrust._integrity import methods, oms, tensordiff
from modeltrust._integrity.errors import IntegrityError
from modeltrust._integrity.hashing import Listing, hash_tasks, list_model, plan
from modeltrust._integrity.manifest import Manifest, parse_statement
from modeltrust._integrity.signing import relative_inside, sidecar_of
from modeltrust._integrity.tensors import FileTensors, read_file
from modeltrust.findings import Finding, Location
from modeltrust.rules import finding


@dataclass
class VerificationResult:
    """The answer to "is this exactly what was signed, and if not, what changed?"."""

    model: str
    signature: str
    verified: bool = False
    reason: str | None = None
    method: str | None = None
    signer: str | None = None
    root_digest: str | None = None
    files: int = 0
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    explanations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The result for a person, one fact per line."""
        head = (f"verified: {self.model} matches {self.signature} "
                f"(signed by {self.signer}, {self.method} method)" if self.verified else
                f"verification FAILED: {self.model} against {self.signature}")
        out = [head]
        if self.reason:
            out.append(f"  reason: {self.reason}")
        if self.root_digest:
            out.append(f"  root digest: sha256:{self.root_digest} ({self.files} files)")
        out += [f"  missing: {n}" for n in self.missing]
        out += [f"  extra (unsigned): {n}" for n in self.extra]
        out += [f"  changed: {n}" for n in self.changed]
        out += [f"  {e}" for e in self.explanations]
        out += [f"  note: {n}" for n in self.notes]
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``modeltrust verify --format json``)."""
        return {k: getattr(self, k) for k in (
            "model", "signature", "verified", "reason", "method", "signer", "root_digest",
            "files", "missing", "extra", "changed", "explanations", "notes")}


def verify_model(model: Path, signature: Path, trust: methods.Trust, *,
                 ignore_unsigned: bool = False, tensors: bool = True,
                 workers: int | None = None) -> VerificationResult:
    """Verify ``model`` against ``signature`` with ``trust``; never raises for bad input.

    Raises:
        UsageError: the trust options are empty or ambiguous.
    """
    trust.check()
    res = VerificationResult(str(model), str(signature))
    try:
        bundle = oms.read_bundle(signature)
        auth = methods.authenticate(bundle, trust)
        res.method, res.signer = auth.method, auth.signer
        res.notes.extend(auth.notes)
        manifest = parse_statement(oms.decode_payload(bundle))
        res.root_digest = manifest.root_digest()
        res.notes.extend(manifest.notes)
        listing = compare(model, signature, manifest, res, ignore_unsigned, workers)
        assert listing is not None  # no hash limit: always hashed
        if tensors and (res.missing or res.extra or res.changed):
            signed = _signed_tensors(signature, trust, res)
            _explain(listing, signed, res)
    except IntegrityError as exc:
        res.reason = exc.diagnostics()
        return res
    res.verified = not (res.missing or res.extra or res.changed)
    if not res.verified:
        res.reason = _summary(res)
    return res


def _summary(res: VerificationResult) -> str:
    parts = [f"{len(v)} {k}" for k, v in (("missing", res.missing), ("extra", res.extra),
                                           ("changed", res.changed)) if v]
    return "the model differs from the signed manifest: " + ", ".join(parts)


def compare(model: Path, signature: Path, manifest: Manifest, res: VerificationResult,
            ignore_unsigned: bool, workers: int | None,
            hash_limit: int | None = None,
            known: Mapping[str, str] | None = None) -> Listing | None:
    """Re-hash the model as the signer did and record missing, extra and changed files.

    With ``hash_limit``, files are re-hashed only when they total at most that many bytes;
    otherwise only the file lists are compared and None is returned (contents unchecked).
    ``known`` holds whole-file SHA-256 digests the caller already computed; a ``files``
    manifest in sha256 is then checked against them without reading the files again.
    """
    ser = manifest.serialization
    own = [p for p in (relative_inside(signature, model),
                       relative_inside(sidecar_of(signature), model)) if p]
    expected = manifest.files()
    res.files = len(expected)
    listing = list_model(model, {*ser.ignore_paths, *own}, allow_symlinks=ser.allow_symlinks)
    res.notes.extend(listing.notes)
    present = {f.name: f for f in listing.files}
    res.missing = sorted(expected.keys() - present.keys())
    extra = sorted(present.keys() - expected.keys())
    if ignore_unsigned:
        if extra:
            res.notes.append(f"{len(extra)} unsigned files ignored (--ignore-unsigned-files)")
    else:
        res.extra = extra
    common = [present[n] for n in sorted(expected.keys() & present.keys())]
    tasks = plan(common, ser.method, ser.shard_size or 0)
    reuse = (known is not None and ser.method == "files" and ser.hash_type == "sha256"
             and all(t.name in known for t in tasks))
    if reuse and known is not None:
        actual = {t.name: known[t.name] for t in tasks}
    elif hash_limit is not None and sum(f.size for f in common) > hash_limit:
        return None
    else:
        actual = hash_tasks(tasks, ser.hash_type, workers=workers,
                            whole_file=ser.method == "files")
    by_file: dict[str, dict[str, str]] = {}
    for t in tasks:
        by_file.setdefault(t.file.name, {})[t.name] = actual[t.name]
    for f in common:
        want = {r.name: r.digest for r in expected[f.name]}
        if by_file.get(f.name, {}) != want:
            res.changed.append(f.name)
    return listing


def _signed_tensors(signature: Path, trust: methods.Trust,
                    res: VerificationResult) -> dict[str, FileTensors]:
    side = sidecar_of(signature)
    if not side.exists():
        res.notes.append(f"no tensor statement ({side.name}): per-tensor explanation "
                         "unavailable")
        return {}
    try:
        bundle = oms.read_bundle(side)
        methods.authenticate(bundle, trust)
        assert res.root_digest is not None
        return tensordiff.parse_statement(oms.decode_payload(bundle), res.root_digest)
    except IntegrityError as exc:
        res.notes.append(f"tensor statement {side.name} ignored: {exc.reason}")
        return {}


def _explain(listing: Listing, signed: dict[str, FileTensors], res: VerificationResult) -> None:
    present = {f.name: f for f in listing.files}
    current: dict[str, FileTensors | None] = {}

    def now(name: str) -> FileTensors | None:
        if name not in current:
            current[name] = read_file(present[name])
        return current[name]

    for name in res.changed:
        old, new = signed.get(name), now(name)
        if old is None or new is None or old.error or new.error:
            res.explanations.append(f"{name} changed: its digest differs")
            continue
        res.explanations.append(tensordiff.explain(name, tensordiff.compare(old, new)))
    before = [signed[n] for n in res.missing if n in signed and not signed[n].error]
    after = [t for t in (now(n) for n in res.extra) if t is not None and not t.error]
    moved = tensordiff.reserialised(before, after)
    if moved:
        res.explanations.append(moved)


# ------------------------------------------------------------------------ signature status
@dataclass(frozen=True)
class SignatureStatus:
    """What ``scan`` and ``audit`` say about a signature found next to a model.

    ``state`` is ``intact`` (files match the signed manifest), ``mismatch``, ``malformed``
    or ``unchecked`` (every signed file present, contents not re-hashed: over the bound).
    The signer is never authenticated here: that needs a trusted key.
    """

    signature: str
    state: str
    message: str
    signer: str | None = None
    method: str | None = None
    root_digest: str | None = None
    verified: bool = False
    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def find_signature(model: Path) -> Path | None:
    """``model.sig`` (or the first ``*.sig``) in a folder; ``<file>.sig`` for a file."""
    if model.is_dir():
        preferred = model / "model.sig"
        if preferred.is_file():
            return preferred
        sigs = sorted(p for p in model.glob("*.sig") if p.is_file())
        return sigs[0] if sigs else None
    candidate = model.with_name(model.name + ".sig")
    return candidate if candidate.is_file() else None


def signature_status(model: Path, hash_limit: int | None = None,
                     known: Mapping[str, str] | None = None) -> SignatureStatus | None:
    """Check a found signature offline, without a key: structure and file digests only.

    ``hash_limit`` bounds the bytes re-hashed (``scan`` reads only what it must); above it
    the state is ``unchecked`` when every signed file is present and no unsigned one is.
    ``known``: SHA-256 digests already computed (see :func:`compare`).
    """
    sig = find_signature(model)
    if sig is None:
        return None
    try:
        bundle = oms.read_bundle(sig)
        manifest = parse_statement(oms.decode_payload(bundle))
    except IntegrityError as exc:
        return SignatureStatus(str(sig), "malformed", f"signature unusable: {exc.reason}")
    who = methods.claimed_signer(bundle)
    res = VerificationResult(str(model), str(sig))
    try:
        listing = compare(model, sig, manifest, res, ignore_unsigned=False, workers=None,
                          hash_limit=hash_limit, known=known)
    except IntegrityError as exc:
        return SignatureStatus(str(sig), "mismatch", f"unverified: {exc.reason}", who,
                               bundle.material.method, manifest.root_digest(),
                               notes=manifest.notes)
    intact = not (res.missing or res.extra or res.changed)
    if listing is None and intact:
        return SignatureStatus(
            str(sig), "unchecked",
            f"unverified: no trusted key given (claims to be signed by {who}); all "
            f"{res.files} signed files are present, their contents were not re-hashed "
            f"(over {hash_limit} bytes): run 'modeltrust verify' or 'modeltrust audit'",
            who, bundle.material.method, manifest.root_digest(), False,
            notes=tuple(manifest.notes) + tuple(res.notes))
    detail = (f"all {res.files} files match the signed manifest" if intact else
              _summary(res))
    return SignatureStatus(
        str(sig), "intact" if intact else "mismatch",
        f"unverified: no trusted key given (claims to be signed by {who}); {detail}",
        who, bundle.material.method, manifest.root_digest(), False, tuple(res.missing),
        tuple(res.extra), tuple(res.changed), tuple(manifest.notes) + tuple(res.notes))


def status_findings(status: SignatureStatus) -> list[Finding]:
    """The ``MT-SIG`` findings ``scan``/``audit`` report for a signature status."""
    from modeltrust._integrity import rules

    loc = Location(detail=f"root digest sha256:{status.root_digest}"
                   if status.root_digest else None)
    if status.state == "malformed":
        return [finding(rules.SIG_MALFORMED, status.signature, status.message)]
    kind = {"intact": rules.SIG_INTACT, "unchecked": rules.SIG_UNCHECKED}.get(
        status.state, rules.SIG_MISMATCH)
    out = [finding(kind, status.signature, status.message, loc)]
    out += [finding(rules.SIG_DEVIATION, status.signature, n) for n in status.notes
            if "model_signing" in n or "rawBytes" in n]
    return out
