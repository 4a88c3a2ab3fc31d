"""What a pickle global can do when it is called: the capability table behind the grading.

A pickle names its callables as ``module`` + ``name`` pairs. The scanner never imports
them, so everything here is data: a reviewed :mod:`curated` table (C builtins and third-party
gadgets that have no standard-library source to analyse) and a capability map of the standard
library computed statically from its own source by :mod:`gen_capmap` and shipped as
``stdlib_capmap.jsonl``. Both are read lazily, once; a module's names are parsed only when
that module is first looked up, since a scan touches a few dozen of the thousand.

Resolution of a pair (see :func:`assess`):

1. module aliases are normalised (``__builtin__`` -> ``builtins``, ``posix``/``nt`` -> ``os``,
   ``_pickle`` -> ``pickle``, ``numpy.core`` -> ``numpy._core`` ...);
2. dotted names are followed attribute-wise: a class method (``Trace.run``), a module the
   named module imports (``pathlib`` + ``os.system`` is ``os.system``), a submodule
   (``torch`` + ``hub.load``), a module's ``__builtins__``;
3. an exact curated entry wins, then the static map, then a curated package wildcard.

Unknown names give ``None``: the scanner grades them "unreviewed" rather than safe.
"""

from __future__ import annotations

import enum
import functools
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from modeltrust._scanners.pickle import curated

__all__ = [
    "Assessment",
    "Capability",
    "assess",
    "canonical_module",
    "curated_reason",
    "is_stdlib",
    "normalise",
    "severity_hint",
    "stdlib_name_known",
]

DATA_FILE = "stdlib_capmap.jsonl"
DATA_FORMAT = 2
_MAX_DEPTH = 8


class Capability(enum.Enum):
    """A class of side effect that calling a pickle global can have."""

    CODE_EXEC = "code-execution"
    PROCESS = "process"
    NATIVE = "native-code"
    IMPORT = "import-machinery"
    UNPICKLE = "nested-deserialisation"
    ATTRIBUTE = "attribute-resolution"
    FILE_WRITE = "file-write"
    FILE_READ = "file-read"
    NETWORK = "network"
    SYSTEM = "system-state"


#: Capabilities in order of severity; the order also picks which evidence path is shown.
CAPABILITY_ORDER: tuple[Capability, ...] = tuple(Capability)
_CRITICAL = frozenset(
    {
        Capability.CODE_EXEC,
        Capability.PROCESS,
        Capability.NATIVE,
        Capability.IMPORT,
        Capability.UNPICKLE,
        Capability.ATTRIBUTE,
    }
)
_HIGH = frozenset({Capability.FILE_WRITE, Capability.NETWORK, Capability.SYSTEM})


class Assessment(NamedTuple):
    """What calling one global can reach, and the evidence for it.

    Attributes:
        capabilities: every capability reachable (never empty).
        via: one shortest call path from the global to a primitive, first element the
            global itself, so a reviewer can check the claim in the source.
        source: ``"curated"`` (reviewed table) or ``"stdlib-analysis"`` (static map).
    """

    capabilities: frozenset[Capability]
    via: tuple[str, ...]
    source: str


# Module aliases: old or C-accelerator names mapped to the module a reviewer knows. Pickles
# written by Python 2 or by the C implementations name these; both spellings must grade alike.
_MODULE_ALIASES: dict[str, str] = {
    "__builtin__": "builtins",
    "exceptions": "builtins",
    "copy_reg": "copyreg",
    "cPickle": "pickle",
    "_pickle": "pickle",
    "_io": "io",
    "posix": "os",
    "nt": "os",
    "_codecs": "codecs",
    "_operator": "operator",
    "_functools": "functools",
    "_collections": "collections",
    "_datetime": "datetime",
    "_decimal": "decimal",
    "_pydecimal": "decimal",
    "httplib": "http.client",
    "urllib2": "urllib.request",
    "cStringIO": "io",
    "StringIO": "io",
}
_PREFIX_ALIASES: tuple[tuple[str, str], ...] = (("numpy.core", "numpy._core"),)
_MODULE_OBJECT = frozenset({Capability.ATTRIBUTE, Capability.SYSTEM})
_PY2_ONLY = frozenset({"__builtin__", "copy_reg", "exceptions", "cPickle", "httplib", "urllib2"})

# Attribute names that hand out namespaces, frames or code: reaching one by a dotted global
# name is a way to get at any callable, whatever the module.
_DANGEROUS_DUNDERS = frozenset(
    {
        "__dict__", "__globals__", "__builtins__", "__getattribute__", "__getattr__",
        "__setattr__", "__delattr__", "__subclasses__", "__class__", "__bases__", "__base__",
        "__mro__", "__code__", "__closure__", "__import__", "__loader__", "__spec__",
        "__self__", "__func__", "__reduce__", "__reduce_ex__", "__init_subclass__",
        "__wrapped__", "__call__", "__get__", "__set__",
    }
)  # fmt: skip


def canonical_module(module: str) -> str:
    """Return the canonical spelling of a module name (aliases resolved)."""
    if module in _MODULE_ALIASES:
        return _MODULE_ALIASES[module]
    for old, new in _PREFIX_ALIASES:
        if module == old or module.startswith(old + "."):
            return new + module[len(old) :]
    return module


def normalise(module: str, name: str) -> tuple[str, str]:
    """Canonicalise a ``(module, name)`` pair so aliases compare equal."""
    return canonical_module(module), name


def is_stdlib(module: str) -> bool:
    """Return whether ``module`` belongs to the standard library (or its Python 2 names).

    ``test`` (CPython's regression-test package) ships with the interpreter but is missing
    from ``sys.stdlib_module_names``; published bypasses use its helpers, so it counts.
    """
    top = module.split(".", 1)[0]
    if top in _PY2_ONLY or top == "test":
        return True
    top = canonical_module(top).split(".", 1)[0]
    return top in sys.stdlib_module_names


def severity_hint(caps: frozenset[Capability]) -> str:
    """Map capabilities to the finding severity the design assigns them.

    Code that runs on load (or can resolve a string to any callable) is critical; a dangerous
    but bounded capability is high; reading files, or nothing known, is medium.
    """
    if caps & _CRITICAL:
        return "critical"
    if caps & _HIGH:
        return "high"
    return "medium"


# --------------------------------------------------------------------------- data


class _ModuleInfo(NamedTuple):
    names: frozenset[str]
    imports: Mapping[str, str]
    bases: Mapping[str, tuple[str, ...]]
    star: tuple[str, ...]


@dataclass(frozen=True)
class _CapMap:
    python: str
    index: Mapping[str, int]
    nodes: tuple[str, ...]
    caps: tuple[int, ...]
    next_hop: tuple[int, ...]
    modules: Mapping[str, _ModuleInfo]


def _decode_module(raw: Mapping[str, Any]) -> _ModuleInfo:
    return _ModuleInfo(
        names=frozenset(raw.get("n", ())),
        imports=dict(raw.get("i", {})),
        bases={k: tuple(v) for k, v in raw.get("b", {}).items()},
        star=tuple(raw.get("s", ())),
    )


class _LazyModules(Mapping[str, _ModuleInfo]):
    """Per-module data, read and decoded on first lookup: most scans need one module or none.

    ``spans`` maps each module to the byte range of its JSON line in the file, which
    ``read`` returns whole (read once, on the first lookup).
    """

    def __init__(self, spans: dict[str, tuple[int, int]], read: Callable[[], bytes]) -> None:
        self._spans, self._read = spans, read
        self._blob: bytes | None = None
        self._decoded: dict[str, _ModuleInfo] = {}

    def __getitem__(self, module: str) -> _ModuleInfo:
        info = self._decoded.get(module)
        if info is None:
            start, end = self._spans[module]
            if self._blob is None:
                self._blob = self._read()
            if len(self._blob) < end or self._blob[end - 1 : end] != b"\n":
                raise ValueError(_DAMAGED)
            info = self._decoded[module] = _decode_module(json.loads(self._blob[start:end]))
        return info

    def __contains__(self, module: object) -> bool:
        return module in self._spans

    def __iter__(self) -> Iterator[str]:
        return iter(self._spans)

    def __len__(self) -> int:
        return len(self._spans)


_DAMAGED = f"{DATA_FILE} is damaged or of another format; reinstall modeltrust"


def parse_capmap(head: bytes, read: Callable[[], bytes]) -> _CapMap:
    """Decode the shipped file (layout in :func:`gen_capmap.encode`) from its first line.

    ``read`` returns the whole file; it is called only when a module's data is needed.

    Raises:
        ValueError: the file is not a complete map in :data:`DATA_FORMAT`.
    """
    raw = json.loads(head)
    names: list[str] = raw["modules"]
    ends: list[int] = raw["ends"]
    starts = [len(head), *(len(head) + e for e in ends[:-1])]
    if raw["format"] != DATA_FORMAT or len(ends) != len(names) or any(
        b <= a for a, b in zip(ends, ends[1:], strict=False)
    ):
        raise ValueError(_DAMAGED)
    nodes = tuple(raw["nodes"])
    return _CapMap(
        python=raw["python"],
        index={n: i for i, n in enumerate(nodes)},
        nodes=nodes,
        caps=tuple(raw["caps"]),
        next_hop=tuple(raw["next"]),
        modules=_LazyModules(
            {m: (a, len(head) + e) for m, a, e in zip(names, starts, ends, strict=True)}, read
        ),
    )


@functools.cache
def _capmap() -> _CapMap:
    """Load the shipped stdlib map once; a missing file means an empty map, not a crash."""
    path = Path(__file__).with_name(DATA_FILE)
    try:
        with path.open("rb") as fh:
            head = fh.readline()
    except FileNotFoundError:  # pragma: no cover - broken install
        return _CapMap("", {}, (), (), (), {})
    return parse_capmap(head, path.read_bytes)


def capmap_python_version() -> str:
    """Return the Python version whose standard library the shipped map was computed from."""
    return _capmap().python


@functools.cache
def caps_from_mask(mask: int) -> frozenset[Capability]:
    """Decode a capability bit mask (bit i = ``CAPABILITY_ORDER[i]``); a few dozen occur."""
    return frozenset(c for i, c in enumerate(CAPABILITY_ORDER) if mask >> i & 1)


def caps_to_mask(caps: frozenset[Capability] | set[Capability]) -> int:
    """Encode capabilities as a bit mask (bit i = ``CAPABILITY_ORDER[i]``)."""
    return sum(1 << CAPABILITY_ORDER.index(c) for c in caps)


@functools.cache
def _curated() -> tuple[dict[str, tuple[frozenset[Capability], str]], tuple[str, ...]]:
    """Index the curated table: exact entries, and wildcard prefixes longest first."""
    table: dict[str, tuple[frozenset[Capability], str]] = {}
    sets: dict[str, frozenset[Capability]] = {}  # a thousand entries, a few dozen distinct
    for key, (caps, reason) in curated.CURATED.items():
        found = sets.get(caps)
        if found is None:
            found = sets[caps] = frozenset(Capability(c) for c in caps.split())
        table[key] = (found, reason)
    wild = tuple(sorted((k[:-2] for k in table if k.endswith(".*")), key=len, reverse=True))
    return table, wild


def curated_reason(module: str, name: str) -> str | None:
    """Return the reviewer's note for a curated entry matching the pair, if any."""
    found = _lookup_curated(f"{canonical_module(module)}.{name}")
    return None if found is None else found[1]


def _lookup_curated(qual: str) -> tuple[frozenset[Capability], str] | None:
    table, wild = _curated()
    if qual in table:
        return table[qual]
    for prefix in wild:
        if qual.startswith(prefix + "."):
            return table[prefix + ".*"]
    return None


# --------------------------------------------------------------------------- lookup


def _static(qual: str) -> Assessment | None:
    """Assessment for a fully qualified node of the static map, with its evidence path."""
    cm = _capmap()
    idx = cm.index.get(qual)
    if idx is None:
        return None
    path = [cm.nodes[idx]]
    hop = cm.next_hop[idx]
    while hop >= 0 and len(path) < 64:
        path.append(cm.nodes[hop])
        hop = cm.next_hop[hop]
    return Assessment(caps_from_mask(cm.caps[idx]), tuple(path), "stdlib-analysis")


def is_package_attr_class(qual: str) -> bool:
    """Return whether ``qual`` names a class or function rather than a submodule."""
    head, _, tail = qual.rpartition(".")
    info = _capmap().modules.get(head)
    return info is not None and tail in info.names and tail not in info.imports


def _split_module(qual: str) -> Iterator[tuple[str, str]]:
    """Yield ``(module, rest)`` splits of a dotted path, longest analysed module first."""
    parts = qual.split(".")
    for i in range(len(parts) - 1, 0, -1):
        yield ".".join(parts[:i]), ".".join(parts[i:])


def _follow(module: str, name: str, depth: int) -> Assessment | None:
    """Resolve a dotted name through imports, class bases and star imports of the map."""
    info = _capmap().modules.get(module)
    head, _, rest = name.partition(".")
    if info is not None:
        target = info.imports.get(head)
        if target is not None and not rest and target in _capmap().modules:
            return Assessment(_MODULE_OBJECT, (f"{module}.{name}", target), "curated")
        if target is not None:
            qual = f"{target}.{rest}" if rest else target
            for mod, attr in _split_module(qual):
                found = _assess(mod, attr, depth + 1)
                if found is not None:
                    return found
        if rest and head in info.bases and name not in info.names:
            for base in info.bases[head]:
                bmod, _, bcls = base.rpartition(".")
                found = _assess(bmod, f"{bcls}.{rest}", depth + 1)
                if found is not None:
                    return found
        if head not in info.names:
            for src in info.star:
                found = _assess(src, name, depth + 1)
                if found is not None:
                    return found
    if rest:
        # A submodule reached as an attribute (``torch`` + ``hub.load``).
        found = _assess(f"{module}.{head}", rest, depth + 1)
        if found is not None:
            return found
    return None


def _assess(module: str, name: str, depth: int) -> Assessment | None:
    if depth > _MAX_DEPTH or not module or not name:
        return None
    module = canonical_module(module)
    qual = f"{module}.{name}"
    parts = name.split(".")
    if "__builtins__" in parts[:-1]:
        rest = ".".join(parts[parts.index("__builtins__") + 1 :])
        found = _assess("builtins", rest, depth + 1)
        caps = frozenset({Capability.ATTRIBUTE}) | (found.capabilities if found else frozenset())
        return Assessment(caps, (qual, *(found.via if found else ())), "curated")
    exact = curated.CURATED.get(qual)
    static = _static(qual)
    if exact is not None:
        caps = _curated()[0][qual][0] | (static.capabilities if static else frozenset())
        return Assessment(caps, (qual,), "curated")
    if static is not None:
        return static
    if qual in _capmap().modules and not is_package_attr_class(qual):
        # A module object as a global: BUILD or attribute access rewrites its namespace.
        return Assessment(_MODULE_OBJECT, (qual,), "curated")
    dunder = _DANGEROUS_DUNDERS.intersection(parts)
    followed = _follow(module, name, depth) if depth < _MAX_DEPTH else None
    if followed is None and "." in name and parts[0] in sys.stdlib_module_names:
        # Packages re-export the stdlib modules they import (``torch`` + ``os.system``).
        followed = _assess(parts[0], ".".join(parts[1:]), depth + 1)
    if dunder:
        caps = frozenset({Capability.ATTRIBUTE})
        if followed is not None:
            caps |= followed.capabilities
        return Assessment(caps, (qual,), "curated")
    if followed is not None:
        via = followed.via if followed.via[0] == qual else (qual, *followed.via)
        return Assessment(followed.capabilities, via, followed.source)
    wild = _lookup_curated(qual)
    if wild is not None:
        return Assessment(wild[0], (qual,), "curated")
    return None


def assess(module: str, name: str) -> Assessment | None:
    """Return the capabilities reachable by calling or instantiating ``module.name``.

    Args:
        module: the module string from the pickle (any alias spelling).
        name: the attribute name, possibly dotted (``Trace.run``; ``os.system`` for module
            ``pathlib``).

    Returns:
        The capabilities with one evidence path, or ``None`` when nothing dangerous is
        known; ``None`` is not a verdict of safety (see :func:`stdlib_name_known`).
    """
    return _assess(module, name, 0)


def stdlib_name_known(module: str, name: str) -> bool:
    """Return whether the static analysis saw ``module.name`` in the library's source.

    This separates "analysed, nothing dangerous found" from "C function or unknown name",
    which the scanner grades as unreviewed.
    """
    return _known(canonical_module(module), name, 0)


def _known(module: str, name: str, depth: int) -> bool:
    if depth > _MAX_DEPTH:
        return False
    info = _capmap().modules.get(module)
    if info is None:
        return False
    if name in info.names or f"{module}.{name}" in _capmap().index:
        return True
    head, _, rest = name.partition(".")
    if rest and head in info.bases:
        for base in info.bases[head]:
            bmod, _, bcls = base.rpartition(".")
            if _known(bmod, f"{bcls}.{rest}", depth + 1):
                return True
    if rest and head in info.imports:
        target = info.imports[head]
        for mod, attr in _split_module(f"{target}.{rest}"):
            if mod in _capmap().modules:
                return _known(mod, attr, depth + 1)
    return False
