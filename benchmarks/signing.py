"""Benchmark ``modeltrust sign/verify`` against model_signing 1.1.1 in the same run.

Cases: a folder of 2 x 1 GB random files and a single 4 GB random file (generated, streamed,
under benchmarks/.work/signing; scaled down with a note when the disk is short). Both tools
sign and verify through their Python APIs in this process with an EC P-256 key, after the
files were read once so that both see a warm page cache; each measurement is the minimum
(or median) of ``--repeat`` runs with the tool order alternating. Writes
benchmarks/signing-results.json and the section benchmarks/SIGNING.md.

Usage:
    python benchmarks/signing.py [--repeat 3] [--scale 1.0] [--keep]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / ".work" / "signing"
GB = 1_000_000_000
BLOCK = 64 * 1024 * 1024


def _disk_plan(scale: float) -> tuple[float, str | None]:
    need = (2 + 4) * GB * scale + 2 * GB  # data plus a margin
    free = shutil.disk_usage(WORK.parent if WORK.parent.exists() else ROOT).free
    if free >= need:
        return scale, None
    new = max(0.01, (free - 2 * GB) / (6 * GB))
    return new, (f"only {free / GB:.1f} GB free: sizes scaled by {new:.3f} "
                 f"(wanted {need / GB:.1f} GB)")


def _write_random(path: Path, size: int) -> None:
    if path.exists() and path.stat().st_size == size:
        return
    block = bytearray(os.urandom(BLOCK))
    with path.open("wb") as f:
        left, n = size, 0
        while left:
            block[:8] = n.to_bytes(8, "little")  # every block differs
            chunk = min(left, BLOCK)
            f.write(memoryview(block)[:chunk])
            left -= chunk
            n += 1


def _warm(path: Path) -> None:
    for p in sorted(path.rglob("*")) if path.is_dir() else [path]:
        if p.is_file():
            with p.open("rb") as f:
                while f.read(BLOCK):
                    pass


def _key(work: Path) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization as s
    from cryptography.hazmat.primitives.asymmetric import ec

    priv, pub = work / "key.pem", work / "pub.pem"
    k = ec.generate_private_key(ec.SECP256R1())
    priv.write_bytes(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8,
                                     s.NoEncryption()))
    pub.write_bytes(k.public_key().public_bytes(s.Encoding.PEM,
                                                s.PublicFormat.SubjectPublicKeyInfo))
    return priv, pub


def _ms_hashing(hash_type: str, method: str) -> Any:
    from model_signing import hashing

    algo = "blake2" if hash_type == "blake2b" else hash_type
    cfg = hashing.Config()
    if method == "shards":
        return cfg.use_shard_serialization(hashing_algorithm=algo)
    return cfg.use_file_serialization(hashing_algorithm=algo)


def _ops(model: Path, sig_dir: Path, priv: Path, pub: Path, hash_type: str,
         method: str) -> dict[str, Callable[[], None]]:
    import model_signing

    import modeltrust

    ms_sig, mt_sig = sig_dir / "ms.sig", sig_dir / "mt.sig"

    def ms_sign() -> None:
        (model_signing.signing.Config().set_hashing_config(_ms_hashing(hash_type, method))
         .use_elliptic_key_signer(private_key=priv).sign(model, ms_sig))

    def ms_verify() -> None:
        model_signing.verifying.Config().use_elliptic_key_verifier(public_key=pub).verify(
            model, ms_sig)

    def mt_sign() -> None:
        modeltrust.sign(model, key=priv, signature=mt_sig, hash_type=hash_type,
                        serialization=method)

    def mt_verify() -> None:
        res = modeltrust.verify(model, signature=mt_sig, key=pub)
        if not res.verified:
            raise RuntimeError(f"modeltrust did not verify: {res.reason}")

    return {"model_signing sign": ms_sign, "model_signing verify": ms_verify,
            "modeltrust sign": mt_sign, "modeltrust verify": mt_verify}


def _measure(ops: dict[str, Callable[[], None]], repeat: int,
             errors: dict[str, str], best: bool) -> dict[str, float | None]:
    times: dict[str, list[float]] = {k: [] for k in ops}
    pairs = [("model_signing sign", "modeltrust sign"),
             ("model_signing verify", "modeltrust verify")]
    for i in range(repeat):
        for first, second in pairs:
            order = (first, second) if i % 2 == 0 else (second, first)
            for name in order:
                if name in errors:
                    continue
                t0 = time.perf_counter()
                try:
                    ops[name]()
                except Exception as exc:  # noqa: BLE001 - record the tool's failure
                    errors[name] = f"{type(exc).__name__}: {str(exc)[:200]}"
                    continue
                times[name].append(time.perf_counter() - t0)
    return {k: (min(v) if best else statistics.median(v)) if v else None
            for k, v in times.items()}


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every file size")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--stat", choices=["min", "median"], default="min",
                    help="statistic over repeats (min resists noise from other processes)")
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    scale, note = _disk_plan(args.scale)
    folder, single = WORK / "folder", WORK / "single"
    folder.mkdir(exist_ok=True)
    single.mkdir(exist_ok=True)
    sizes = {"folder": 2 * int(GB * scale), "single": 4 * int(GB * scale)}
    for i in range(2):
        _write_random(folder / f"shard-{i}.bin", int(GB * scale))
    _write_random(single / "weights.bin", 4 * int(GB * scale))
    priv, pub = _key(WORK)
    sig_dir = WORK / "sigs"
    sig_dir.mkdir(exist_ok=True)
    cases = [("folder", folder), ("single", single / "weights.bin")]
    configs = [("sha256", "files"), ("sha256", "shards"), ("blake2b", "files"),
               ("blake3", "files")]
    results: list[dict[str, Any]] = []
    for case, path in cases:
        _warm(path)
        for hash_type, method in configs:
            errors: dict[str, str] = {}
            med = _measure(_ops(path, sig_dir, priv, pub, hash_type, method), args.repeat,
                           errors, args.stat == "min")
            row = {"case": case, "bytes": sizes[case], "hash": hash_type, "method": method,
                   "seconds": med, "errors": errors,
                   "ratio_sign": _ratio(med["modeltrust sign"], med["model_signing sign"]),
                   "ratio_verify": _ratio(med["modeltrust verify"],
                                          med["model_signing verify"])}
            results.append(row)
            print(f"{case:7} {hash_type:8} {method:7} {med} {errors}", flush=True)
    doc = _report(results, note, args.repeat, args.stat)
    (ROOT / "benchmarks" / "signing-results.json").write_text(json.dumps(doc, indent=2) + "\n")
    (ROOT / "benchmarks" / "SIGNING.md").write_text(_markdown(doc))
    if not args.keep:
        shutil.rmtree(WORK, ignore_errors=True)
    return 0


def _report(results: list[dict[str, Any]], note: str | None, repeat: int,
            stat: str) -> dict[str, Any]:
    import blake3
    import model_signing

    import modeltrust

    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "versions": {"modeltrust": modeltrust.__version__,
                     "model_signing": getattr(model_signing, "__version__", "1.1.1"),
                     "blake3": blake3.__version__},
        "repeat": repeat, "statistic": stat, "note": note, "results": results,
    }


def _markdown(doc: dict[str, Any]) -> str:
    lines = [
        "## Signing and verification (OMS v1.0) vs model_signing",
        "",
        f"Run {doc['date']} on {doc['machine']['platform']}, {doc['machine']['cpus']} CPUs, "
        f"Python {doc['machine']['python']}; model_signing {doc['versions']['model_signing']}, "
        f"blake3 {doc['versions']['blake3']}. Both tools sign and verify through their "
        "Python APIs in one process with an EC P-256 key, on a warm page cache; "
        f"{doc['statistic']} of {doc['repeat']} runs, tool order alternating. "
        "Ratio = modeltrust / model_signing time (below 1.0 = modeltrust faster). "
        "modeltrust's times include the tensor statement pass (these random files hold "
        "no tensors, so it only sniffs them).",
        "",
    ]
    if doc["note"]:
        lines += [f"**Note:** {doc['note']}", ""]
    lines += ["| case | hash | serialization | modeltrust sign | model_signing sign | ratio | "
              "modeltrust verify | model_signing verify | ratio | modeltrust GB/s |",
              "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    names = {"folder": "2 x 1 GB folder", "single": "one 4 GB file"}
    failures: list[str] = []
    for r in doc["results"]:
        s = r["seconds"]
        mt = s["modeltrust sign"]
        gbs = f"{r['bytes'] / GB / mt:.2f}" if mt else "-"
        cells = [_sec(s[k]) for k in ("modeltrust sign", "model_signing sign")]
        cells.append(_x(r["ratio_sign"]))
        cells += [_sec(s[k]) for k in ("modeltrust verify", "model_signing verify")]
        cells.append(_x(r["ratio_verify"]))
        lines.append(f"| {names[r['case']]} | {r['hash']} | {r['method']} | "
                     + " | ".join(cells) + f" | {gbs} |")
        failures += [f"- {names[r['case']]}, {r['hash']} {r['method']}: {k} failed: {v}"
                     for k, v in sorted(r["errors"].items())]
    if failures:
        lines += ["", "Failures (a dash in the table):", "", *failures]
    lines += ["", "model_signing hashes BLAKE3 with its own threads and ignores shards for "
              "BLAKE3; for sha256 `files` on one file both tools are bound by one core's "
              "SHA-256 speed, so the ratio there measures I/O overhead only.", ""]
    return "\n".join(lines)


def _sec(v: float | None) -> str:
    return f"{v:.2f} s" if v is not None else "-"


def _x(v: float | None) -> str:
    return f"{v:.2f}x" if v is not None else "-"


if __name__ == "__main__":
    sys.exit(main())
