"""Rules of the integrity stage: signature status (``MT-SIG``) and Hugging Face cache (``MT-HFC``).

``scan`` and ``audit`` raise the ``MT-SIG`` rules when a model folder carries an OMS
signature; the ``MT-HFC`` rules come from checking a Hugging Face cache snapshot against
the content addresses of its blobs.
"""

from __future__ import annotations

from modeltrust.findings import Severity
from modeltrust.rules import rule

_OMS = "https://github.com/ossf/model-signing-spec"
_HF = "https://huggingface.co/docs/huggingface_hub/guides/manage-cache"

SIG_INTACT = rule(
    "MT-SIG-001", "Signed model: files match the signed manifest (signer not checked)",
    Severity.INFO,
    """
    The folder carries an OpenSSF Model Signing (OMS v1.0) bundle and every file matches
    its signed digest. Without a trusted key, certificate chain or identity the signer is
    not authenticated: anyone can write a bundle that matches files they changed.
    """,
    fix="Run 'modeltrust verify MODEL --signature SIG --key PUB.pem' (or --cert-chain, or "
        "--identity/--issuer) with the publisher's key material.",
    references=(_OMS,),
)
SIG_UNCHECKED = rule(
    "MT-SIG-005", "Signed model: contents not re-hashed by scan", Severity.INFO,
    """
    The folder carries an OpenSSF Model Signing (OMS v1.0) bundle and every file it names
    is present, but the files are larger than ``scan`` re-hashes (a scan reads only what it
    must: a 10 GB checkpoint's pickle is kilobytes). Whether their bytes match the signed
    digests was not checked here.
    """,
    fix="Run 'modeltrust verify MODEL --signature SIG --key PUB.pem' (or 'modeltrust "
        "audit MODEL', which checks the digests offline).",
    references=(_OMS,),
)
SIG_MISMATCH = rule(
    "MT-SIG-002", "Files differ from the signed manifest", Severity.HIGH,
    """
    The model's OMS signature lists files that are missing, changed or joined by unsigned
    files. The model is not what was signed: it was modified, partially downloaded, or the
    signature belongs to another release.
    """,
    fix="Download the model again from its publisher and verify it with 'modeltrust "
        "verify'; do not load files that changed after signing.",
    cwe=354,
    references=(_OMS,),
)
SIG_MALFORMED = rule(
    "MT-SIG-003", "Signature file is not a valid OMS bundle", Severity.MEDIUM,
    """
    A file named like a model signature (``model.sig``, ``*.sig``) cannot be read as an OMS
    v1.0 bundle: malformed JSON, a missing layer, an unknown predicate or hash type, or an
    inconsistent manifest (root digest, order, duplicates). It protects nothing.
    """,
    fix="Ask the publisher for a valid signature, or re-sign with 'modeltrust sign'.",
    cwe=347,
    references=(_OMS,),
)
SIG_DEVIATION = rule(
    "MT-SIG-004", "Signature uses a known non-standard encoding", Severity.INFO,
    """
    The bundle deviates from OMS v1.0 in a way model_signing is known to produce (shard
    algorithms named ``sha256-sharded-N``, ``blake2`` for ``blake2b``, path-component sort
    order, ``publicKey.rawBytes``). It is accepted; the evidence names the deviation.
    """,
    references=(_OMS,),
)

HFC_LFS_MISMATCH = rule(
    "MT-HFC-001", "Hugging Face cache blob does not match its SHA-256 name", Severity.HIGH,
    """
    In a Hugging Face cache, large (LFS) files are stored in ``blobs/<sha256>`` and a
    snapshot links to them. This blob's bytes hash to something else: the file was modified
    in the cache after download (tampering, or a corrupt download that was not rechecked).
    """,
    fix="Delete the blob and the snapshot link and download the file again.",
    cwe=354,
    references=(_HF,),
)
HFC_GIT_MISMATCH = rule(
    "MT-HFC-002", "Hugging Face cache blob does not match its git blob SHA-1 name",
    Severity.HIGH,
    """
    Small (non-LFS) files are stored in ``blobs/<git blob sha1>``. This blob's git object
    hash (``sha1("blob <size>" + NUL + bytes)``) differs from its name: it was modified in the
    cache after download.
    """,
    fix="Delete the blob and the snapshot link and download the file again.",
    cwe=354,
    references=(_HF,),
)
HFC_BAD_LINK = rule(
    "MT-HFC-003", "Hugging Face snapshot entry does not point into the cache's blobs",
    Severity.HIGH,
    """
    A file in ``snapshots/<revision>/`` should be a link to ``blobs/<hash>`` of the same
    repository. This one is a regular file, points elsewhere (outside the cache, another
    repository), or dangles: its content is not covered by the cache's content addresses.
    """,
    fix="Delete the snapshot folder and download the revision again.",
    cwe=59,
    references=(_HF,),
)
HFC_UNKNOWN_NAME = rule(
    "MT-HFC-004", "Hugging Face cache blob name is not a content hash", Severity.LOW,
    """
    The blob's name is neither a 64-hex-digit SHA-256 nor a 40-hex-digit git SHA-1, so its
    content cannot be checked against it.
    """,
    references=(_HF,),
)
HFC_UNREADABLE = rule(
    "MT-HFC-005", "Hugging Face cache blob could not be read", Severity.MEDIUM,
    """
    The blob a snapshot links to could not be opened or read completely, so its integrity
    is unknown.
    """,
    references=(_HF,),
)
