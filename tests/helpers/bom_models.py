"""On-disk models for BOM tests: a derivative in a Hugging Face cache with everything a BOM
can state (card, licence, datasets with a cached dataset card, base model, metrics, a
malicious pickle with a harmless marker), and helpers to sign it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from helpers.openness import FULL_CARD_BODY, WEIGHTS, dataset_card, write_repo
from helpers.pickles import system_call_p4

REV = "0123456789abcdef0123456789abcdef01234567"
DATA_REV = "fedcba9876543210fedcba9876543210fedcba98"
HUB_ID = "acme/tiny-chat"
BASE_ID = "meta-llama/Llama-3.1-8B"

CARD_META = {
    "license": "llama3.1",
    "base_model": BASE_ID,
    "base_model_relation": "finetune",
    "datasets": ["acme/dialogues", "private-notes"],
    "pipeline_tag": "text-generation",
    "library_name": "transformers",
    "language": ["en", "fr"],
    "tags": ["llama", "chat"],
    "model-index": [{"name": "tiny-chat", "results": [
        {"task": {"type": "text-generation"},
         "dataset": {"name": "MMLU", "type": "cais/mmlu", "split": "test"},
         "metrics": [{"type": "accuracy", "value": 0.61, "name": "MMLU 5-shot"}]}]}],
}
CONFIG = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 8}


def derived_cache(root: Path) -> Path:
    """``root/models--acme--tiny-chat`` (snapshot files link into ``blobs/``) plus the
    cached card of its training dataset. Returns the ``models--`` repository folder."""
    staging = write_repo(root / "staging", CARD_META, FULL_CARD_BODY, {
        "config.json": json.dumps(CONFIG),
        "model.safetensors": WEIGHTS,
        "training_args.bin": system_call_p4(),
        ".gitattributes": "*.safetensors filter=lfs\n",
    })
    repo = root / "models--acme--tiny-chat"
    _cache(repo, REV, staging)
    data = write_repo(root / "staging-data", None, "", {})
    (data / "README.md").write_text(dataset_card("mit"), encoding="utf-8")
    _cache(root / "datasets--acme--dialogues", DATA_REV, data)
    return repo


def _cache(repo: Path, rev: str, staging: Path) -> None:
    blobs, snap = repo / "blobs", repo / "snapshots" / rev
    blobs.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(rev)
    for src in sorted(p for p in staging.rglob("*") if p.is_file()):
        data = src.read_bytes()
        blob = blobs / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        link = snap / src.relative_to(staging)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))


def snapshot_of(repo: Path) -> Path:
    """The snapshot folder ``refs/main`` names."""
    return repo / "snapshots" / (repo / "refs" / "main").read_text().strip()


def signed_model(root: Path, curve: str = "P-256") -> Path:
    """``root/m``: a tiny MIT-licensed model signed with a fresh key (``model.sig`` inside)."""
    import modeltrust
    from _integrity.pki import write_key
    from helpers.openness import write_repo

    model = write_repo(root / "m", {"license": "mit"}, "# M\n", {"model.safetensors": WEIGHTS})
    modeltrust.sign(model, key=write_key(root, curve=curve).private)
    return model
