"""Benchmark ``modeltrust compare`` on two generated ~1 GB checkpoints, cold and warm.

For each scenario (abliteration, fine-tune) and each cache state, the comparison runs in a
child process, SVD on and off; wall time and peak RSS come from ``os.wait4``. Throughput
is a fraction of the plain read speed of the same two files (sequential ``read()`` into a
16 MiB buffer, as ``cat`` does):

* cold: before every read and every comparison the files are dropped from the page cache
  (``fsync`` + ``posix_fadvise(POSIX_FADV_DONTNEED)``, no root needed), so both read from
  storage. This is the baseline the issue-7 target (>= 80 % with SVD on) is judged on.
* warm: the files stay cached; the "read" is then a memory copy, shown for honesty.

Every number is the median of ``--repeat`` runs (other work on the machine makes single
runs noisy); each repetition measures every scenario and cache state, and reads and
comparisons are interleaved, so they see the same conditions. The cold time of compare's
own reading alone (its reader thread, no computing) is recorded too. Targets: peak RSS
< 1 GB; >= 80 % of cold read speed.

Usage: python benchmarks/forensics.py [--workdir DIR] [--layers N] [--repeat N] [--keep]
Writes benchmarks/FORENSICS.md and benchmarks/forensics-results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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


# --------------------------------------------------------------------------- measuring
def evict(paths: list[Path]) -> None:
    """Drop the files' pages from the page cache (dirty pages are written first)."""
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def read_seconds(paths: list[Path]) -> float:
    """One plain sequential read of the files (16 MiB ``readinto``)."""
    buf = bytearray(16 * 1024 * 1024)
    start = time.perf_counter()
    for p in paths:
        with p.open("rb", buffering=0) as fh:
            while fh.readinto(buf):
                pass
    return time.perf_counter() - start


READER = """
import sys, time
from modeltrust._forensics.pairing import pair
from modeltrust._forensics.pipeline import read_ahead
from modeltrust._forensics.tensors import open_model
pairs = pair(open_model(sys.argv[1]).tensors, open_model(sys.argv[2]).tensors).pairs
t = time.perf_counter()
for _, raws in read_ahead(pairs):
    del raws
print(time.perf_counter() - t)
"""


def reader_seconds(base: Path, derived: Path) -> float:
    """compare's own reading alone (its reader thread, no computing), in a child."""
    out = subprocess.run([sys.executable, "-c", READER, str(base), str(derived)],
                         check=True, capture_output=True, text=True)
    return float(out.stdout)


CHILD = """
import sys, time, json
from modeltrust._forensics.engine import run_compare
t = time.perf_counter()
r = run_compare(sys.argv[1], sys.argv[2], svd=sys.argv[3] == "1")
print(json.dumps({"seconds": time.perf_counter() - t, "kinds": r.kinds}))
"""


def run_child(base: Path, derived: Path, svd: bool) -> dict[str, Any]:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(base), str(derived),
                             "1" if svd else "0"], stdout=subprocess.PIPE, text=True)
    start = time.perf_counter()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    assert proc.stdout is not None
    out = json.loads(proc.stdout.read() or "{}")
    return {"wall_seconds": wall, "compare_seconds": out.get("seconds", 0.0),
            "peak_rss_bytes": usage.ru_maxrss * 1024, "exit_status": status,
            "verdicts": out.get("kinds")}


Samples = dict[str, list[Any]]
"""One scenario in one cache state: ``read``, ``reader`` (cold), ``svd_on``, ``svd_off``."""


def iteration(base: Path, derived: Path, cold: bool, into: Samples) -> None:
    """One read and one comparison with SVD on and off, of one scenario in one cache state."""
    paths = [base, derived]
    if cold:
        evict(paths)
        into["reader"].append(reader_seconds(base, derived))
        evict(paths)
    else:
        read_seconds(paths)  # make sure the files are cached
    into["read"].append(read_seconds(paths))
    for svd in (True, False):
        if cold:
            evict(paths)
        into["svd_on" if svd else "svd_off"].append(run_child(base, derived, svd))


def summarise(samples: Samples, total: int) -> dict[str, Any]:
    reads = samples["read"]
    read = statistics.median(reads)
    out: dict[str, Any] = {"bytes_read": total, "plain_read_seconds": _r(read),
                           "plain_read_runs": [_r(x) for x in reads],
                           "read_mib_per_s": round(total / read / 2**20, 1)}
    if samples["reader"]:
        out["reader_only_seconds"] = _r(statistics.median(samples["reader"]))
    for key in ("svd_on", "svd_off"):
        out[key] = _summary(samples[key], reads, total)
    return out


def _summary(runs: list[dict[str, Any]], reads: list[float], total: int) -> dict[str, Any]:
    """Medians; the fraction is the median of each iteration's read s / compare s (a read
    and a comparison of the same iteration see the same machine load)."""
    seconds = statistics.median(r["compare_seconds"] for r in runs)
    fractions = [rd / max(r["compare_seconds"], 1e-9) for rd, r in zip(reads, runs, strict=True)]
    return {"compare_seconds": _r(seconds),
            "compare_runs": [_r(r["compare_seconds"]) for r in runs],
            "wall_seconds": _r(statistics.median(r["wall_seconds"] for r in runs)),
            "compare_mib_per_s": round(total / max(seconds, 1e-9) / 2**20, 1),
            "fraction_of_read_speed": round(statistics.median(fractions), 3),
            "fraction_runs": [round(f, 3) for f in fractions],
            "peak_rss_bytes": max(r["peak_rss_bytes"] for r in runs),
            "exit_status": max(r["exit_status"] for r in runs),
            "verdicts": sorted({k for r in runs for k in (r["verdicts"] or [])})}


def _r(x: float) -> float:
    return round(x, 3)


def machine() -> dict[str, Any]:
    cpu = ""
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "")
    blas = ""
    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(f"{i['internal_api']} {i.get('version')}" for i in threadpool_info())
    except ImportError:
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "numpy": np.__version__, "blas": blas,
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
            "load_average_start": [round(x, 2) for x in os.getloadavg()]}


# --------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", default=None, help="where the checkpoints are written")
    ap.add_argument("--layers", type=int, default=20, help="decoder layers (20: ~1 GB)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    ap.add_argument("--keep", action="store_true", help="keep the generated checkpoints")
    ap.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="mt-forensics-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.generate:
        generate(work, args.layers)
        return
    # Generate in a child: the measured children are forked from this (small) process, and
    # Linux carries a forked parent's peak RSS into the child's ru_maxrss.
    subprocess.run([sys.executable, __file__, "--generate", "--workdir", str(work),
                    "--layers", str(args.layers)], check=True)
    base = work / "base.safetensors"
    results: dict[str, Any] = {"machine": machine(), "base_bytes": base.stat().st_size,
                               "repeat": args.repeat, "scenarios": {}}
    # Every repetition measures every scenario in both cache states, so a change in the
    # machine's load during the benchmark affects all rows alike.
    samples = {(name, cache): {"read": [], "reader": [], "svd_on": [], "svd_off": []}
               for name in SCENARIOS for cache in ("cold", "warm")}
    for _ in range(args.repeat):
        for (name, cache), into in samples.items():
            iteration(base, work / f"{name}.safetensors", cache == "cold", into)
    for (name, cache), into in samples.items():
        total = base.stat().st_size + (work / f"{name}.safetensors").stat().st_size
        results["scenarios"].setdefault(name, {})[cache] = summarise(into, total)
    results["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    (HERE / "forensics-results.json").write_text(json.dumps(results, indent=2) + "\n")
    (HERE / "FORENSICS.md").write_text(markdown(results))
    print(markdown(results))


def generate(work: Path, layers: int) -> None:
    from safetensors.numpy import save_file

    sd = state(layers)
    save_file(sd, str(work / "base.safetensors"))
    for name, edit in SCENARIOS.items():
        save_file(edit(sd), str(work / f"{name}.safetensors"))


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        "# modeltrust compare: forensics benchmark", "",
        f"Two generated float32 safetensors checkpoints of {results['base_bytes'] / 1e9:.2f} GB"
        f" each. Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, Python "
        f"{m['python']}, numpy {m['numpy']} ({m['blas'] or 'BLAS unknown'}); load average "
        f"{m['load_average_start']} at the start, {m.get('load_average_end')} at the end "
        "(other jobs were running). Medians of "
        f"{results['repeat']} runs; the fraction is the median over runs of plain read s / "
        "compare s measured in the same iteration.", "",
        "*Plain read* is a sequential `read()` of both files. **cold**: the files are dropped "
        "from the page cache before every read and every comparison, so both come from "
        "storage; the >= 80 % target is judged on this. **warm**: the files are cached, the "
        "read is a memory copy (shown for honesty, not judged).", "",
        "| scenario | cache | SVD | verdicts | compare s | child wall s | plain read s "
        "| fraction of read speed | peak RSS MiB | RSS < 1 GB | >= 80 % (cold) |",
        "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, caches in results["scenarios"].items():
        for cache, sc in caches.items():
            for key in ("svd_on", "svd_off"):
                lines.append(_row(name, cache, key, sc))
    lines += ["", _reader_note(results)]
    return "\n".join(lines) + "\n"


def _row(name: str, cache: str, key: str, sc: dict[str, Any]) -> str:
    run = sc[key]
    frac = run["fraction_of_read_speed"]
    judged = ("yes" if frac >= TARGET_FRACTION else "NO") if cache == "cold" and \
        key == "svd_on" else "(not judged)"
    return (f"| {name} | {cache} | {key[4:]} | {', '.join(run['verdicts'])} | "
            f"{run['compare_seconds']} | {run['wall_seconds']} | {sc['plain_read_seconds']} | "
            f"{frac:.0%} | {run['peak_rss_bytes'] / 2**20:.0f} | "
            f"{'yes' if run['peak_rss_bytes'] < TARGET_RSS else 'NO'} | {judged} |")


def _reader_note(results: dict[str, Any]) -> str:
    parts = []
    for name, caches in results["scenarios"].items():
        cold = caches["cold"]
        alone, on = cold["reader_only_seconds"], cold["svd_on"]["compare_seconds"]
        parts.append(f"{name} {alone} s, so compare with SVD ({on} s) runs at "
                     f"{alone / max(on, 1e-9):.0%} of its own read speed")
    reads = [x for c in results["scenarios"].values() for x in c["cold"]["plain_read_runs"]]
    best = ", ".join(
        f"{name} {min(reads) / max(c['cold']['svd_on']['compare_seconds'], 1e-9):.0%}"
        for name, c in results["scenarios"].items())
    return (f"Cold plain reads ranged {min(reads)}-{max(reads)} s over the runs; against "
            f"the fastest, compare with SVD (median) reaches {best}. compare's own reading "
            "alone, cold (its reader thread maps each tensor pair and reads the pages in, "
            "64 MiB ahead, nothing computed): " + "; ".join(parts) + ".")


if __name__ == "__main__":
    main()
