"""Benchmark ``modeltrust compare`` on two generated ~1 GB checkpoints.

Measures, for each scenario, the wall time and peak RSS of a child process running the
comparison (``os.wait4``), and the throughput as a fraction of the plain read speed of the
same two files (read once to warm the page cache, then timed). Targets (issue 7): peak RSS
< 1 GB, and >= 80 % of read speed with the SVD step on.

Usage: python benchmarks/forensics.py [--workdir DIR] [--layers N] [--keep]
Writes benchmarks/FORENSICS.md and benchmarks/forensics-results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
HIDDEN, INTER, VOCAB = 1024, 2816, 8192
TARGET_RSS = 1024**3
TARGET_FRACTION = 0.8


def state(layers: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    sd = {"model.embed_tokens.weight": rng.standard_normal((VOCAB, HIDDEN), np.float32) * 0.02}
    for i in range(layers):
        p = f"model.layers.{i}."
        for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
            sd[p + f"self_attn.{name}.weight"] = rng.standard_normal((HIDDEN, HIDDEN),
                                                                     np.float32) * 0.02
        sd[p + "mlp.gate_proj.weight"] = rng.standard_normal((INTER, HIDDEN), np.float32) * 0.02
        sd[p + "mlp.up_proj.weight"] = rng.standard_normal((INTER, HIDDEN), np.float32) * 0.02
        sd[p + "mlp.down_proj.weight"] = rng.standard_normal((HIDDEN, INTER), np.float32) * 0.02
        sd[p + "input_layernorm.weight"] = np.ones(HIDDEN, np.float32)
    return sd


def abliterate(sd: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    r = np.random.default_rng(1).standard_normal(HIDDEN).astype(np.float32)
    r /= np.linalg.norm(r)
    out = dict(sd)
    for name, w in sd.items():
        if name.endswith(("o_proj.weight", "down_proj.weight")):
            out[name] = w - np.outer(r, r @ w)
        elif "embed_tokens" in name:
            out[name] = w - np.outer(w @ r, r)
    return out


def fine_tune(sd: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2)
    return {k: v + 1e-3 * rng.standard_normal(v.shape, np.float32) for k, v in sd.items()}


SCENARIOS = {"abliteration": abliterate, "fine_tune": fine_tune}


def read_seconds(paths: list[Path]) -> float:
    """Plain sequential read of the files (16 MiB buffers), page cache warm."""
    buf = bytearray(16 * 1024 * 1024)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for p in paths:
            with p.open("rb", buffering=0) as fh:
                while fh.readinto(buf):
                    pass
        best = min(best, time.perf_counter() - start)
    return best


CHILD = """
import sys, time, json
from modeltrust._forensics.engine import run_compare
t = time.perf_counter()
r = run_compare(sys.argv[1], sys.argv[2], svd=sys.argv[3] == "1")
print(json.dumps({"seconds": time.perf_counter() - t, "kinds": r.kinds}))
"""


def run_child(base: Path, derived: Path, svd: bool) -> dict[str, object]:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(base), str(derived),
                             "1" if svd else "0"], stdout=subprocess.PIPE, text=True)
    start = time.perf_counter()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    assert proc.stdout is not None
    out = json.loads(proc.stdout.read() or "{}")
    return {"wall_seconds": round(wall, 3), "compare_seconds": round(out.get("seconds", 0), 3),
            "peak_rss_bytes": usage.ru_maxrss * 1024, "exit_status": status,
            "verdicts": out.get("kinds")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--layers", type=int, default=20)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    from safetensors.numpy import save_file

    work = Path(args.workdir or tempfile.mkdtemp(prefix="mt-forensics-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.generate:
        sd = state(args.layers)
        save_file(sd, str(work / "base.safetensors"))
        for name, edit in SCENARIOS.items():
            save_file(edit(sd), str(work / f"{name}.safetensors"))
        return
    # Generate in a child: the measured children are forked from this (small) process, and
    # Linux carries a forked parent's peak RSS into the child's ru_maxrss.
    subprocess.run([sys.executable, __file__, "--generate", "--workdir", str(work),
                    "--layers", str(args.layers)], check=True)
    base = work / "base.safetensors"
    scenarios = SCENARIOS
    results: dict[str, object] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average": list(os.getloadavg())},
        "base_bytes": base.stat().st_size, "scenarios": {}}
    for name in scenarios:
        derived = work / f"{name}.safetensors"
        read = read_seconds([base, derived])
        total = base.stat().st_size + derived.stat().st_size
        rows = {}
        for svd in (True, False):
            run = run_child(base, derived, svd)
            run["fraction_of_read_speed"] = round(read / max(run["compare_seconds"], 1e-9), 3)  # type: ignore[arg-type]
            rows["svd_on" if svd else "svd_off"] = run
        results["scenarios"][name] = {  # type: ignore[index]
            "bytes_read": total, "plain_read_seconds": round(read, 3),
            "read_mib_per_s": round(total / read / 2**20, 1), **rows}
        derived.unlink()
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    (HERE / "forensics-results.json").write_text(json.dumps(results, indent=2) + "\n")
    (HERE / "FORENSICS.md").write_text(markdown(results))
    print(markdown(results))


def markdown(results: dict[str, object]) -> str:
    lines = ["# modeltrust compare: forensics benchmark", "",
             f"Two generated float32 safetensors checkpoints of {results['base_bytes'] / 1e9:.2f}"
             f" GB each; machine {results['machine']}.", "",
             "| scenario | SVD | verdicts | compare s | plain read s | fraction of read speed "
             "| peak RSS MiB | RSS < 1 GB | >= 80 % |", "|---|---|---|---|---|---|---|---|---|"]
    for name, sc in results["scenarios"].items():  # type: ignore[attr-defined]
        for key in ("svd_on", "svd_off"):
            run = sc[key]
            lines.append(
                f"| {name} | {key[4:]} | {', '.join(run['verdicts'] or [])} | "
                f"{run['compare_seconds']} | {sc['plain_read_seconds']} | "
                f"{run['fraction_of_read_speed']:.0%} | {run['peak_rss_bytes'] / 2**20:.0f} | "
                f"{'yes' if run['peak_rss_bytes'] < TARGET_RSS else 'NO'} | "
                f"{'yes' if run['fraction_of_read_speed'] >= TARGET_FRACTION else 'NO'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
