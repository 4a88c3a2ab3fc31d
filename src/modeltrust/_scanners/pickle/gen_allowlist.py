"""Generate the class lists of the allowlist from installed packages' source, statically.

Run ``python -m modeltrust._scanners.pickle.gen_allowlist`` in an environment with torch,
scikit-learn and scipy installed; it writes ``allowlist_data.json`` next to this file. The
packages are located with :func:`importlib.util.find_spec` (which does not execute them) and
their ``.py`` files are parsed with :mod:`ast`; nothing is imported.

* ``torch.nn.modules.<file>.<Class>``: the public classes of ``torch/nn/modules``, which
  whole-module saves (``torch.save(model)``) name.
* scikit-learn: every public class exported by a public package (``__all__`` of
  ``sklearn.linear_model`` ...) or defined in a public module, recorded under the module that
  defines it (``sklearn.linear_model._logistic``), which is what pickles name. Packages of
  utilities, data-set fetchers and vendored code are not exported: a model does not need them.
* scipy: the sparse matrix and array classes, under their current and legacy module names.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import json
import re
from pathlib import Path

from modeltrust._scanners.pickle.allowlist import DATA_FILE

_SKLEARN_SKIP = frozenset(
    {"utils", "datasets", "externals", "experimental", "tests", "_build_utils", "callback",
     "__check_build", "inspection", "frozen"}
)  # fmt: skip
# Private modules whose classes fitted estimators hold (loss and link objects of GLMs and
# gradient boosting): reviewed, they only compute.
_SKLEARN_HELPERS = ("_loss/loss.py", "_loss/link.py")
_CAMEL = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_SPARSE = re.compile(r"^[a-z]{3}_(matrix|array)$")


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return ""


def _parse(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return None


def _public_classes(path: Path) -> list[str]:
    tree = _parse(path)
    if tree is None:
        return []
    return sorted(n.name for n in tree.body if isinstance(n, ast.ClassDef) and _CAMEL.match(n.name))


def torch_nn_classes() -> dict[str, list[str]]:
    """Public classes per ``torch.nn.modules`` submodule."""
    root = _package_dir("torch")
    out: dict[str, list[str]] = {}
    if root is None:
        return out
    for path in sorted((root / "nn" / "modules").glob("*.py")):
        if path.stem == "__init__":
            continue
        names = _public_classes(path)
        if names:
            out[f"torch.nn.modules.{path.stem}"] = names
    return out


def _module_path(root: Path, module: str) -> Path | None:
    rel = Path(*module.split(".")[1:])
    for cand in (root / rel.with_suffix(".py"), root / rel / "__init__.py"):
        if cand.exists():
            return cand
    return None


def _defining_module(root: Path, module: str, name: str, depth: int = 0) -> str:
    """Follow ``from x import name`` until the ``class name`` statement (or a C module)."""
    path = _module_path(root, module)
    tree = _parse(path) if path else None
    if tree is None or depth > 5:
        return module
    if any(isinstance(n, ast.ClassDef) and n.name == name for n in tree.body):
        return module
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.level == 0
            and any(a.name == name and a.asname is None for a in node.names)
        ):
            return _defining_module(root, node.module, name, depth + 1)
    return module


def _exported(tree: ast.Module) -> set[str]:
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
            and isinstance(node.value, ast.List | ast.Tuple)
        ):
            return {
                e.value
                for e in node.value.elts
                if isinstance(e, ast.Constant) and isinstance(e.value, str)
            }
    return set()


def sklearn_classes() -> dict[str, list[str]]:
    """Public scikit-learn classes, keyed by the module that defines them."""
    root = _package_dir("sklearn")
    found: dict[str, set[str]] = {}
    if root is None:
        return {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if any(p.startswith("_") and p != "__init__" for p in parts):
            continue
        if parts and parts[0] in _SKLEARN_SKIP or "tests" in parts or parts[-1] == "conftest":
            continue
        tree = _parse(path)
        if tree is None:
            continue
        module = ".".join(["sklearn", *(p for p in parts if p != "__init__")])
        for name in _public_classes(path):
            found.setdefault(module, set()).add(name)
        for name in _exported(tree):
            if _CAMEL.match(name):
                home = _defining_module(root, module, name)
                found.setdefault(home, set()).add(name)
    for rel in _SKLEARN_HELPERS:  # reviewed private helper modules: every class
        names = _all_classes(root / rel)
        if names:
            module = "sklearn." + rel.removesuffix(".py").replace("/", ".")
            found.setdefault(module, set()).update(n for n in names if _CAMEL.match(n))
    return {m: sorted(v) for m, v in sorted(found.items())}


def scipy_sparse_classes() -> dict[str, list[str]]:
    """Sparse matrix/array classes under ``scipy.sparse._fmt`` and legacy ``scipy.sparse.fmt``."""
    root = _package_dir("scipy")
    out: dict[str, list[str]] = {}
    if root is None:
        return out
    for path in sorted((root / "sparse").glob("_*.py")):
        names = [n for n in _public_classes(path) + _all_classes(path) if _SPARSE.match(n)]
        if names:
            out[f"scipy.sparse.{path.stem}"] = sorted(set(names))
            out[f"scipy.sparse.{path.stem[1:]}"] = sorted(set(names))
    return out


def _all_classes(path: Path) -> list[str]:
    tree = _parse(path)
    return [n.name for n in tree.body if isinstance(n, ast.ClassDef)] if tree else []


def main() -> int:
    """Write ``allowlist_data.json`` for the installed torch, scikit-learn and scipy."""
    classes = {
        "torch": ("torch", torch_nn_classes()),
        "sklearn": ("scikit-learn", sklearn_classes()),
        "scipy": ("scipy", scipy_sparse_classes()),
    }
    data = {k: {"version": _version(dist), "classes": c} for k, (dist, c) in classes.items()}
    out = Path(__file__).with_name(DATA_FILE)
    out.write_text(json.dumps(data, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    counts = {k: sum(len(v) for v in c.values()) for k, (_, c) in classes.items()}
    print(f"wrote {out}: {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
