"""From per-tensor deltas to verdicts: what was done to the weights, with evidence.

Each changed tensor is explained at most once, most specific edit first: abliteration
(low-rank edits of residual-writing matrices sharing one direction, or a subspace of at most
three, across layers), LoRA merge (exact low rank r on several attention/MLP matrices),
pruning (new exact zeros), then whatever is left is either a few tampered tensors or a
fine-tune. Lineage comes first: a model whose tensors are uncorrelated with the base's was
not derived from it, and nothing else is said about it.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from modeltrust._forensics import roles
from modeltrust._forensics.delta import TensorDelta
from modeltrust._forensics.pairing import Pairing

LOW_RANK_ENERGY = 0.99
"""Top-3 energy of a delta above which it counts as a rank <= 3 edit."""
SHARED_ENERGY = 0.9
"""Delta energy inside the shared subspace for an abliteration verdict."""
UNRELATED_CORRELATION = 0.2
"""Median per-tensor correlation below which the models are unrelated."""
LINEAGE_MIN_SIZE = 256
"""Tensors smaller than this do not vote on lineage (too few elements)."""
LORA_MAX_RANK = 23
"""Highest LoRA rank the sketch can certify (one less than its width)."""


@dataclass
class Verdict:
    """One conclusion about the derived model."""

    kind: str
    confidence: float
    summary: str
    evidence: dict[str, object] = field(default_factory=dict)
    tensors: list[str] = field(default_factory=list)


def decide(pairing: Pairing, deltas: list[TensorDelta], same_format: bool) -> list[Verdict]:
    """All verdicts for one comparison, in a fixed order."""
    if not deltas:
        return []
    lineage = _lineage(deltas)
    if lineage is not None:
        return [lineage]
    statuses = Counter(d.status for d in deltas)
    structural = pairing.only_base or pairing.only_derived or pairing.shape_changes
    if not structural and statuses["identical"] == len(deltas):
        kind = "identical" if same_format and not pairing.renamed else "reserialized"
        return [Verdict(kind, 1.0, f"all {len(deltas)} tensors have identical values",
                        {"tensors": len(deltas), "renamed": len(pairing.renamed)})]
    if not structural and statuses["identical"] + statuses["reserialized"] == len(deltas):
        return [Verdict("reserialized", 1.0,
                        f"all {len(deltas)} tensors have identical values in another "
                        "encoding (dtype, layout or container)",
                        {"reserialized": statuses["reserialized"],
                         "dtype_changes": len(pairing.dtype_changes)})]
    out: list[Verdict] = []
    quant = [d for d in deltas if d.status == "quantized"]
    if quant:
        grids = Counter(d.grid for d in quant)
        out.append(Verdict(
            "quantized", round(len(quant) / max(1, len(quant) + statuses["changed"]), 3),
            f"{len(quant)} tensors differ only by quantisation rounding "
            f"({', '.join(f'{g}: {n}' for g, n in sorted(grids.items()))})",
            {"tensors": len(quant), "grids": dict(sorted(grids.items()))},
            sorted(d.name for d in quant)))
    changed = [d for d in deltas if d.status == "changed"]
    explained: set[str] = set()
    for finder in (_abliteration, _lora, _pruned):
        verdict = finder([d for d in changed if d.name not in explained])
        if verdict is not None:
            out.append(verdict)
            explained.update(verdict.tensors)
    rest = [d for d in changed if d.name not in explained]
    if rest:
        out.append(_rest(rest, len(deltas)))
    return out


def _lineage(deltas: list[TensorDelta]) -> Verdict | None:
    votes = [d.correlation for d in deltas if _size(d) >= LINEAGE_MIN_SIZE]
    if not votes:
        return None
    median = statistics.median(votes)
    if median >= UNRELATED_CORRELATION:
        return None
    conf = min(1.0, max(0.5, 1.0 - abs(median) / UNRELATED_CORRELATION))
    return Verdict("unrelated", round(conf, 3),
                   f"median per-tensor correlation with the base is {median:.3f} over "
                   f"{len(votes)} tensors: DERIVED is not derived from BASE",
                   {"median_correlation": round(median, 6), "tensors": len(votes),
                    "max_correlation": round(max(votes), 6)})


def median_correlation(deltas: list[TensorDelta]) -> float | None:
    """Median per-tensor correlation of the tensors that vote on lineage."""
    votes = [d.correlation for d in deltas if _size(d) >= LINEAGE_MIN_SIZE]
    return statistics.median(votes) if votes else None


def _size(d: TensorDelta) -> int:
    n = 1
    for s in d.shape:
        n *= s
    return n


def _hidden_size(deltas: list[TensorDelta]) -> int | None:
    sizes = [d.shape[1] for d in deltas if roles.role(d.name) == roles.EMBEDDING
             and len(d.shape) == 2]
    if sizes:
        return Counter(sizes).most_common(1)[0][0]
    outs = [d.shape[0] for d in deltas if roles.role(d.name) == roles.RESIDUAL_OUT
            and len(d.shape) == 2]
    return Counter(outs).most_common(1)[0][0] if outs else None


def _abliteration(changed: list[TensorDelta]) -> Verdict | None:
    hidden = _hidden_size(changed)
    cols: list[np.ndarray] = []
    members: list[tuple[TensorDelta, np.ndarray]] = []
    for d in changed:
        kind = roles.role(d.name)
        axis = roles.hidden_axis(d.name, kind, d.shape, hidden)
        sp = d.spectrum
        if axis is None or sp is None or sp.energy_top3 < LOW_RANK_ENERGY:
            continue
        vecs = sp.u if axis == 0 else sp.v
        k = vecs.shape[1]
        s = np.asarray(sp.singular_values[:k], dtype=np.float64)
        if hidden is not None and vecs.shape[0] != hidden:
            continue
        weighted = vecs.astype(np.float64) * (s / max(np.sqrt(d.delta_energy), 1e-300))
        members.append((d, weighted))
        cols.append(weighted)
    if len(members) < 2:
        return None
    m = np.concatenate(cols, axis=1) / np.sqrt(len(members))
    basis, sv, _ = np.linalg.svd(m, full_matrices=False)
    energies = np.cumsum(sv**2)
    allowed = [q for q in (1, 2, 3) if q <= energies.size and (q == 1 or len(members) >= 2 * q)]
    for level in (LOW_RANK_ENERGY, SHARED_ENERGY):  # the tightest subspace that explains it
        for q in allowed:
            if energies[q - 1] >= level:
                return _ablit_verdict(members, basis[:, :q], float(energies[q - 1]), q)
    return None


def _ablit_verdict(members: list[tuple[TensorDelta, np.ndarray]], basis: np.ndarray,
                   shared: float, q: int) -> Verdict:
    layers: dict[str, float] = {}
    for d, weighted in members:
        proj = float(np.sum((basis.T @ weighted) ** 2))
        key = str(roles.layer(d.name)) if roles.layer(d.name) is not None else d.name
        layers[key] = round(max(layers.get(key, 0.0), d.rel_norm if proj > 0.5 else 0.0), 6)
    ranks = Counter(d.spectrum.rank for d, _ in members if d.spectrum is not None)
    numbered = sorted(int(k) for k in layers if k.isdigit())
    conf = min(1.0, 0.5 + 0.5 * (shared - SHARED_ENERGY) / (1 - SHARED_ENERGY)
               + 0.05 * len(members))
    what = "one shared residual direction" if q == 1 else f"a shared {q}-dimensional subspace"
    return Verdict(
        "abliteration", round(min(conf, 0.99), 3),
        f"{len(members)} residual-writing matrices carry low-rank edits along {what} "
        f"(shared-direction energy {shared:.4f}; layers {_span(numbered)})",
        {"shared_direction_energy": round(shared, 6), "subspace_dimension": q,
         "matrices": len(members), "layers": numbered,
         "per_layer_relative_norm": dict(sorted(layers.items())),
         "ranks": {str(k): v for k, v in sorted(ranks.items(), key=lambda kv: str(kv[0]))},
         "windowed": bool(numbered) and len(numbered) < _layer_count(members)},
        sorted(d.name for d, _ in members))


def _layer_count(members: list[tuple[TensorDelta, np.ndarray]]) -> int:
    return 1 + max((roles.layer(d.name) or 0) for d, _ in members)


def _span(layers: list[int]) -> str:
    if not layers:
        return "none (embeddings only)"
    return ", ".join(str(x) for x in layers)


def _lora(changed: list[TensorDelta]) -> Verdict | None:
    low = [d for d in changed if d.spectrum is not None and d.spectrum.rank is not None
           and d.spectrum.rank <= LORA_MAX_RANK and roles.role(d.name) in
           (roles.ATTENTION_IN, roles.MLP_IN, roles.RESIDUAL_OUT)]
    if len(low) < 2:
        return None
    ranks = Counter(d.spectrum.rank for d in low if d.spectrum is not None)
    rank, count = ranks.most_common(1)[0]
    targets = sorted({roles.target(d.name) for d in low})
    layers = sorted({x for d in low if (x := roles.layer(d.name)) is not None})
    conf = min(0.99, 0.6 + 0.4 * count / len(low))
    return Verdict(
        "lora_merge", round(conf, 3),
        f"{len(low)} matrices have deltas of exact low rank (r = {rank}) on "
        f"{', '.join(targets)}",
        {"rank": rank, "ranks": {str(k): v for k, v in sorted(ranks.items())},
         "targets": targets, "layers": layers, "matrices": len(low)},
        sorted(d.name for d in low))


def _pruned(changed: list[TensorDelta]) -> Verdict | None:
    pruned = [d for d in changed if d.pruned]
    if not pruned:
        return None
    zeros = sum(d.new_zeros for d in pruned)
    total = sum(_size(d) for d in pruned)
    two_four = sorted(d.name for d in pruned if d.two_four)
    return Verdict(
        "pruned", 0.95,
        f"{len(pruned)} tensors had {zeros} non-zero weights set to exactly zero "
        f"({zeros / max(total, 1):.1%} of their weights)"
        + (f"; {len(two_four)} follow a 2:4 pattern" if two_four else ""),
        {"tensors": len(pruned), "new_zeros": zeros,
         "new_zeros_fraction": round(zeros / max(total, 1), 6), "two_four": two_four},
        sorted(d.name for d in pruned))


def _rest(rest: list[TensorDelta], paired: int) -> Verdict:
    """Unexplained changes: a few tensors are tampering, many are a fine-tune."""
    names = sorted(d.name for d in rest)
    worst = max(rest, key=lambda d: d.rel_norm)
    if len(rest) <= max(2, paired // 50):
        return Verdict(
            "tampered_tensors", 0.9 if len(rest) == 1 else 0.8,
            f"{len(rest)} of {paired} tensors changed while the rest are unchanged: "
            f"{', '.join(names[:5])}" + (" ..." if len(names) > 5 else ""),
            {"tensors": names, "largest_relative_norm": round(worst.rel_norm, 6),
             "largest": worst.name},
            names)
    dense = [d.spectrum.stable_rank for d in rest if d.spectrum is not None]
    median_rel = statistics.median(d.rel_norm for d in rest)
    conf = min(0.95, 0.5 + 0.45 * len(rest) / paired)
    return Verdict(
        "fine_tune", round(conf, 3),
        f"{len(rest)} of {paired} tensors changed densely (median relative delta norm "
        f"{median_rel:.2e})",
        {"tensors": len(rest), "median_relative_norm": round(median_rel, 8),
         "median_stable_rank": round(statistics.median(dense), 3) if dense else None,
         "largest_relative_norm": round(worst.rel_norm, 6), "largest": worst.name},
        names)
