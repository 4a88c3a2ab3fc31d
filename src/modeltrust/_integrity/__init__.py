"""Integrity: OpenSSF Model Signing (OMS v1.0) sign/verify/digest, tensor digests, HF cache.

* :mod:`hashing` enumerates a model as OMS does and hashes files or shards in parallel;
* :mod:`manifest` builds and strictly parses the OMS statement (root digest included);
* :mod:`oms` reads and writes Sigstore bundle v0.3 / DSSE envelopes;
* :mod:`keys`, :mod:`methods` and :mod:`sigstore_method` sign and authenticate;
* :mod:`tensors` and :mod:`tensordiff` produce and compare per-tensor digests;
* :mod:`signing` and :mod:`verifying` put it together (``modeltrust sign/verify/digest``,
  ``signature_status`` for ``scan`` and ``audit``);
* :mod:`hf_cache` checks a Hugging Face cache's blobs against their content addresses.

Heavy dependencies (``cryptography``, ``blake3``, ``sigstore``) are imported on use only.
"""
