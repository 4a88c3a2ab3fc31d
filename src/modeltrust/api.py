"""The public Python API. The CLI is a thin layer over these functions."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

from modeltrust._engine import Outcome, analyse
from modeltrust._report.model import FileEntry, Report
from modeltrust._source.interface import Artifact, Limits
from modeltrust._source.local import collect
from modeltrust.errors import UsageError
from modeltrust.findings import Finding, Severity

ProgressCallback = Callable[[int, int, str], None]
"""Called as ``progress(done, total, path)`` after each top-level file is analysed."""

_PARALLEL_MIN_BYTES = 64 * 1024 * 1024
"""Below this much data a process pool costs more than it saves."""

_SIGNATURE_HASH_BYTES = 1024 * 1024 * 1024
"""A signed model up to this size is re-hashed by ``scan`` to give its signature status;
a bigger one is only checked for missing and unsigned files (``audit``/``verify`` hash it)."""


def scan(
    path: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    fail_on: Severity | str = Severity.HIGH,
    exclude: Iterable[str] = (),
    max_file_size: int = 0,
    jobs: int | None = None,
    limits: Limits | None = None,
    digests: bool = False,
    progress: ProgressCallback | None = None,
) -> Report:
    """Scan files, folders or archives and return a :class:`Report`.

    Args:
        path: one target or several (file, folder, archive).
        fail_on: the severity at or above which ``report.failed`` is true.
        exclude: glob patterns matched against relative paths and base names.
        max_file_size: files larger than this many bytes are listed, not analysed (0 = all).
        jobs: worker processes (default: the number of CPUs, used only for large scans).
        limits: parser bounds; see :class:`modeltrust._source.interface.Limits`.
        digests: also record each file's SHA-256 in the report.
        progress: optional callback ``(done, total, path)``.

    Raises:
        SourceError: a target does not exist or cannot be read.
        UsageError: an option is invalid.
    """
    targets = _targets(path)
    if not targets:
        raise UsageError("no scan target given")
    severity = _severity(fail_on)
    if max_file_size < 0:
        raise UsageError("max_file_size must be >= 0")
    if jobs is not None and jobs < 1:
        raise UsageError("jobs must be >= 1")
    lim = limits or Limits()
    if max_file_size:
        lim = replace(lim, max_file_size=max_file_size)
    collected = collect(targets, list(exclude), max_file_size)
    entries = list(collected.entries)
    findings = list(collected.findings)
    for outcome in _run(collected.artifacts, lim, digests, jobs, progress):
        entries.extend(outcome.entries)
        findings.extend(outcome.findings)
    findings.extend(_repository_checks(collected.folders, entries, lim))
    findings.extend(_signature_checks(targets))
    return Report.build(targets, entries, findings, severity)


def _signature_checks(targets: list[str]) -> list[Finding]:
    """The status of a signature file found beside a target (checked offline, no key)."""
    found: list[Finding] = []
    for target in targets:
        path = Path(target)
        near = (list(path.glob("*.sig")) if path.is_dir()
                else [path.with_name(path.name + ".sig")])
        if not any(p.is_file() for p in near):
            continue  # the common case costs one glob; signing code is imported on need
        from modeltrust._integrity.verifying import signature_status, status_findings

        status = signature_status(path, hash_limit=_SIGNATURE_HASH_BYTES)
        if status is not None:
            found.extend(status_findings(status))
    return found


def _repository_checks(
    folders: list[tuple[Path, str]], entries: list[FileEntry], limits: Limits
) -> list[Finding]:
    """Cross-file rules (shards, duplicated weights, remote code, pinned loaders) per folder."""
    from modeltrust._scanners.pins import scan_pins
    from modeltrust._scanners.repository import mismatches, scan_repository

    found: list[Finding] = []
    covered: set[int] = set()
    for folder, shown in folders:
        prefix = "" if shown in (".", "") else f"{shown}/"
        mine = [e for e in entries if e.path.startswith(prefix) or not prefix]
        covered.update(id(e) for e in mine)
        found.extend(scan_repository(folder, shown, mine, limits))
        found.extend(scan_pins(folder, shown, mine))
    alone = [e for e in entries if id(e) not in covered]  # files given as targets themselves
    found.extend(mismatches(alone))
    return found


def _targets(path: object) -> list[str]:
    if isinstance(path, str | os.PathLike):
        return [os.fspath(path)]
    if isinstance(path, Iterable):
        return [os.fspath(p) for p in path]
    raise UsageError(f"unsupported scan target {path!r}")


def _severity(value: Severity | str) -> Severity:
    if isinstance(value, Severity):
        return value
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _run(
    artifacts: list[Artifact],
    limits: Limits,
    digests: bool,
    jobs: int | None,
    progress: ProgressCallback | None,
) -> Iterable[Outcome]:
    total = len(artifacts)
    workers = min(jobs or os.cpu_count() or 1, total)
    big = sum(a.size for a in artifacts) >= _PARALLEL_MIN_BYTES
    if workers <= 1 or (jobs is None and not big):
        for i, art in enumerate(artifacts, 1):
            yield analyse(art, limits, digests)
            if progress:
                progress(i, total, art.path)
        return
    from concurrent.futures import ProcessPoolExecutor  # only large scans pay for the import

    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(analyse, art, limits, digests) for art in artifacts]
        for i, (art, fut) in enumerate(zip(artifacts, futures, strict=True), 1):
            yield fut.result()
            if progress:
                progress(i, total, art.path)


# ------------------------------------------------------------------- integrity (OMS v1.0)
from typing import TYPE_CHECKING  # noqa: E402 - kept with the functions that use it

if TYPE_CHECKING:
    from modeltrust._integrity.signing import SignResult
    from modeltrust._integrity.verifying import VerificationResult


def sign(
    model: str | os.PathLike[str],
    *,
    key: str | os.PathLike[str] | None = None,
    password: bytes | None = None,
    cert: str | os.PathLike[str] | None = None,
    chain: Iterable[str | os.PathLike[str]] = (),
    sigstore: bool = False,
    identity_token: str | None = None,
    signature: str | os.PathLike[str] | None = None,
    ignore: Iterable[str] = (),
    hash_type: str = "sha256",
    serialization: str = "files",
    shard_size: int | None = None,
    allow_symlinks: bool = False,
    tensors: bool = True,
) -> SignResult:
    """Sign a model as an OpenSSF Model Signing (OMS v1.0) bundle.

    Args:
        model: folder or single file to sign.
        key: PEM EC private key (key method); with ``cert`` (and ``chain``) the
            certificate method.
        password: password of an encrypted private key.
        cert: PEM signing certificate matching ``key``.
        chain: PEM CA certificates written after the leaf.
        sigstore: sign keyless through Sigstore instead (network, ``modeltrust[sigstore]``).
        identity_token: OIDC token for keyless signing.
        signature: where to write the bundle (default ``MODEL/model.sig`` or ``FILE.sig``).
        ignore: paths inside the model to leave out.
        hash_type: ``sha256``, ``blake2b`` or ``blake3``.
        serialization: ``files`` or ``shards``.
        shard_size: bytes per shard (default 10^9).
        allow_symlinks: follow symbolic links (recorded in the signature).
        tensors: also write the signed per-tensor statement (``SIG.tensors.json``).

    Raises:
        UsageError: contradictory options.
        IntegrityError: unusable key material or a model that cannot be enumerated safely.
    """
    from pathlib import Path as _Path

    from modeltrust._integrity import methods
    from modeltrust._integrity.signing import sign_model

    if sigstore == (key is not None):
        raise UsageError("give exactly one of key=... or sigstore=True")
    signer: methods.Signer | methods.SigstoreSigner
    if sigstore:
        signer = methods.SigstoreSigner(identity_token=identity_token)
    else:
        assert key is not None
        signer = methods.Signer(_Path(key), password=password,
                                cert=_Path(cert) if cert is not None else None,
                                chain=tuple(_Path(c) for c in chain))
    return sign_model(_Path(model), signer,
                      signature=_Path(signature) if signature is not None else None,
                      ignore=list(ignore), hash_type=hash_type, method=serialization,
                      shard_size=shard_size, allow_symlinks=allow_symlinks, tensors=tensors)


def verify(
    model: str | os.PathLike[str],
    *,
    signature: str | os.PathLike[str] | None = None,
    key: str | os.PathLike[str] | None = None,
    cert_chain: Iterable[str | os.PathLike[str]] = (),
    identity: str | None = None,
    issuer: str | None = None,
    ignore_unsigned_files: bool = False,
    tensors: bool = True,
) -> VerificationResult:
    """Verify a model against its OMS bundle; ``result.verified`` is the verdict.

    Give exactly one trust: ``key`` (PEM public key), ``cert_chain`` (PEM CA certificates)
    or ``identity`` + ``issuer`` (Sigstore keyless). Malformed bundles, wrong keys and
    changed files give ``verified=False`` with ``reason`` and the lists of missing, extra
    and changed files; they never raise.

    Raises:
        UsageError: no trust, or several, or no signature found.
    """
    from pathlib import Path as _Path

    from modeltrust._integrity.methods import Trust
    from modeltrust._integrity.verifying import find_signature, verify_model

    root = _Path(model)
    sig = _Path(signature) if signature is not None else find_signature(root)
    if sig is None:
        raise UsageError(f"no signature given and none found next to {model}")
    trust = Trust(public_key=_Path(key) if key is not None else None,
                  cert_chain=tuple(_Path(c) for c in cert_chain), identity=identity,
                  issuer=issuer)
    return verify_model(root, sig, trust, ignore_unsigned=ignore_unsigned_files,
                        tensors=tensors)


def digest(
    model: str | os.PathLike[str],
    *,
    hash_type: str = "sha256",
    serialization: str = "files",
    shard_size: int | None = None,
    ignore: Iterable[str] = (),
) -> str:
    """The model's OMS root digest, ``sha256:<hex>``: its identity in reports and registries."""
    from pathlib import Path as _Path

    from modeltrust._integrity.signing import digest_model

    return digest_model(_Path(model), hash_type=hash_type, method=serialization,
                        shard_size=shard_size, ignore=list(ignore))


# ------------------------------------------------------------------ openness (OSAID, MOF)
import typing as _typing  # noqa: E402 - kept with the function that uses it

if _typing.TYPE_CHECKING:
    from modeltrust._assess.report import OpennessReport


def openness(
    path: str | os.PathLike[str],
    *,
    fail_on: Severity | str = Severity.HIGH,
) -> OpennessReport:
    """Assess how open a model is, offline: licence, OSAID 1.0, MOF 1.0, data, lineage.

    Reads the model card, licence texts, dataset cards and adapter/GGUF metadata of a
    folder, Hugging Face cache repository (``models--org--name``) or single file; the
    weights are never loaded. Needs the ``openness`` extra (PyYAML, license-expression).

    Args:
        path: the model folder, hub cache repository folder or file.
        fail_on: the severity at or above which ``report.failed`` is true.

    Raises:
        SourceError: the target does not exist or cannot be read.
        UsageError: an option is invalid.
    """
    from modeltrust._assess.openness import assess

    return assess(os.fspath(path), _severity(fail_on))


if TYPE_CHECKING:
    from modeltrust._forensics.inspect import InspectionReport
    from modeltrust._forensics.report import ComparisonReport


def compare(
    base: str | os.PathLike[str],
    derived: str | os.PathLike[str],
    *,
    fail_on: Severity | str = Severity.HIGH,
    svd: bool = True,
    progress: ProgressCallback | None = None,
) -> ComparisonReport:
    """Tell what was done to DERIVED's weights relative to BASE's.

    Verdicts: ``identical``, ``reserialized``, ``quantized``, ``lora_merge``,
    ``abliteration``, ``fine_tune``, ``pruned``, ``tampered_tensors``, ``unrelated``; each
    with a confidence and evidence, plus per-tensor statistics (see ``docs/compare.md``).
    Weights are read as data (safetensors, PyTorch zip checkpoints that scan clean, GGUF).

    Args:
        base: the model DERIVED claims to come from (file or folder).
        derived: the model to examine.
        fail_on: the severity at or above which ``report.failed`` is true.
        svd: run the singular value analysis (needed for abliteration and LoRA verdicts).
        progress: optional callback ``(done, total, tensor_name)``.

    Raises:
        SourceError: a model does not exist.
        UsageError: an option is invalid, or numpy is not installed.
        Error: a model holds no weights, or a pickle that did not scan clean.
    """
    _need_numpy()
    from modeltrust._forensics.engine import run_compare

    return run_compare(base, derived, svd=svd, fail_on=_severity(fail_on), progress=progress)


def inspect(
    model: str | os.PathLike[str],
    *,
    fail_on: Severity | str = Severity.HIGH,
    progress: ProgressCallback | None = None,
) -> InspectionReport:
    """Look for the abliteration signature in one model, without a base.

    Args:
        model: file or folder.
        fail_on: the severity at or above which ``report.failed`` is true.
        progress: optional callback ``(done, total, tensor_name)``.

    Raises:
        SourceError: the model does not exist.
        UsageError: numpy is not installed.
        Error: the model holds no weights, or a pickle that did not scan clean.
    """
    _need_numpy()
    from modeltrust._forensics.inspect import run_inspect

    return run_inspect(model, fail_on=_severity(fail_on), progress=progress)


def _need_numpy() -> None:
    import importlib.util

    if importlib.util.find_spec("numpy") is None:
        raise UsageError("weight forensics needs numpy: pip install 'modeltrust[forensics]'")


# ---------------------------------------------------------------- bills of materials
def bom(
    path: str | os.PathLike[str],
    *,
    format: str = "cyclonedx",  # noqa: A002 - the word users know from --format
    hub_id: str | None = None,
    revision: str | None = None,
    progress: ProgressCallback | None = None,
) -> str:
    """A bill of materials for a model: CycloneDX 1.6 ML-BOM or SPDX 3.0.1 (AI, Dataset).

    The BOM renders the scan, the openness assessment and every file's SHA-256 (with the
    OMS root digest): one body of evidence, so both formats say the same thing. Output is
    deterministic JSON text; set ``SOURCE_DATE_EPOCH`` for a reproducible timestamp.

    Args:
        path: the model folder, hub cache repository folder or file.
        format: ``cyclonedx`` or ``spdx``.
        hub_id: ``org/name`` on the Hugging Face Hub when known (gives the purl).
        revision: the hub commit when known.
        progress: optional callback ``(done, total, path)`` for the scan.

    Raises:
        SourceError: the target does not exist or cannot be read.
        UsageError: an option is invalid, or the ``bom`` extra is not installed.
    """
    from modeltrust._bom.interface import BomFormat, render

    try:
        fmt = BomFormat(format)
    except ValueError:
        raise UsageError(f"unknown BOM format {format!r} (cyclonedx or spdx)") from None
    evidence = bom_evidence(path, hub_id=hub_id, revision=revision, progress=progress)
    return render(evidence, fmt)


if TYPE_CHECKING:
    from modeltrust._bom.evidence import Evidence


def bom_evidence(
    path: str | os.PathLike[str],
    *,
    hub_id: str | None = None,
    revision: str | None = None,
    progress: ProgressCallback | None = None,
    report: Report | None = None,
    openness: OpennessReport | None = None,
    extra_findings: Iterable[Finding] = (),
    announce: Callable[[int, int], None] | None = None,
) -> Evidence:
    """The evidence a BOM renders (see :mod:`modeltrust._bom.evidence`), for custom output.

    Raises:
        SourceError: the target does not exist or cannot be read.
        UsageError: an option is invalid, or the ``bom`` extra is not installed.
    """
    import importlib.util

    missing = [m for m in ("packageurl", "license_expression", "yaml")
               if importlib.util.find_spec(m) is None]
    if missing:
        raise UsageError(f"BOMs need {', '.join(missing)}: pip install 'modeltrust[bom]'")
    from modeltrust._bom.gather import gather

    target = os.fspath(path)
    report = report or scan(target, progress=progress)
    return gather(target, report=report, openness=openness, hub_id=hub_id,
                  revision=revision, extra_findings=tuple(extra_findings), announce=announce)
