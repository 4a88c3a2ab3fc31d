"""Capability table: curated entries, the static stdlib map, alias and dotted-name resolution.

Corpus files are only disassembled with ``pickletools.genops``; nothing is ever unpickled.
"""

from __future__ import annotations

import base64
import binascii
import json
import pickletools
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from modeltrust._scanners.pickle import capabilities as caps_mod
from modeltrust._scanners.pickle import gen_capmap
from modeltrust._scanners.pickle.allowlist import is_allowed
from modeltrust._scanners.pickle.capabilities import (
    Assessment,
    Capability,
    assess,
    is_stdlib,
    severity_hint,
    stdlib_name_known,
)

C = Capability
CORPORA = Path(__file__).resolve().parents[4] / "shared" / "corpora"

# Every callable THREATS.md lists under "Callables missing from a denylist" and
# "String-to-callable resolvers", plus the dotted-name cases, with the capability expected.
THREATS = [
    ("pip", "main", C.PROCESS),
    ("runpy", "_run_code", C.CODE_EXEC),
    ("cProfile", "run", C.CODE_EXEC),
    ("timeit", "timeit", C.CODE_EXEC),
    ("pdb", "run", C.CODE_EXEC),
    ("code", "InteractiveInterpreter", C.CODE_EXEC),
    ("pty", "spawn", C.PROCESS),
    ("ctypes", "CDLL", C.NATIVE),
    ("numpy.f2py.crackfortran", "getlincoef", C.CODE_EXEC),
    ("numpy.f2py", "compile", C.PROCESS),
    ("distutils.spawn", "spawn", C.PROCESS),
    ("setuptools.sandbox", "run_setup", C.PROCESS),
    ("asyncio.unix_events", "_UnixSubprocessTransport._start", C.PROCESS),
    ("asyncio", "create_subprocess_shell", C.PROCESS),
    ("logging", "FileHandler", C.FILE_WRITE),
    ("_io", "FileIO", C.FILE_WRITE),
    ("urllib.request", "urlopen", C.NETWORK),
    ("ssl", "get_server_certificate", C.NETWORK),
    ("dataclasses", "_create_fn", C.CODE_EXEC),
    ("multiprocessing.util", "spawnv_passfds", C.PROCESS),
    ("trace", "Trace.run", C.CODE_EXEC),
    ("idlelib.pyshell", "ModifiedInterpreter.runcode", C.CODE_EXEC),
    ("lib2to3.pgen2.pgen", "ParserGenerator.make_label", C.CODE_EXEC),
    ("lib2to3.pgen2.grammar", "Grammar.loads", C.UNPICKLE),
    ("torch.hub", "load", C.CODE_EXEC),
    ("types", "CodeType", C.CODE_EXEC),
    ("cloudpickle.cloudpickle", "_make_function", C.CODE_EXEC),
    ("cloudpickle.cloudpickle", "subimport", C.IMPORT),
    ("pkgutil", "resolve_name", C.IMPORT),
    ("importlib", "import_module", C.IMPORT),
    ("pydoc", "locate", C.IMPORT),
    ("operator", "attrgetter", C.ATTRIBUTE),
    ("operator", "methodcaller", C.ATTRIBUTE),
    ("_operator", "attrgetter", C.ATTRIBUTE),
    ("builtins", "getattr", C.ATTRIBUTE),
    ("builtins", "__import__", C.IMPORT),
    ("pathlib", "os.system", C.PROCESS),
    ("collections", "__builtins__.exec", C.CODE_EXEC),
    # Published bypasses (picklescan GHSAs) whose helpers only exist on other versions.
    ("_aix_support", "_read_cmd_output", C.PROCESS),
    ("_osx_support", "_read_output", C.PROCESS),
    ("imaplib", "IMAP4_stream", C.PROCESS),
    ("uuid", "_get_command_stdout", C.PROCESS),
    ("_pyrepl.pager", "pipe_pager", C.PROCESS),
    ("test.support.script_helper", "assert_python_ok", C.PROCESS),
    # Nested loaders.
    ("pickle", "loads", C.UNPICKLE),
    ("_pickle", "loads", C.UNPICKLE),
    ("torch", "load", C.UNPICKLE),
    ("torch.storage", "_load_from_bytes", C.UNPICKLE),
    ("joblib", "load", C.UNPICKLE),
    ("numpy", "load", C.UNPICKLE),
    ("numpy.lib.npyio", "load", C.UNPICKLE),
    ("marshal", "loads", C.UNPICKLE),
    ("yaml", "unsafe_load", C.UNPICKLE),
    ("dill", "loads", C.UNPICKLE),
    ("dill._dill", "_create_code", C.CODE_EXEC),
    ("keras.layers", "Lambda", C.CODE_EXEC),
    ("pandas", "read_pickle", C.UNPICKLE),
    ("jinja2", "Template", C.CODE_EXEC),
    ("builtins", "exec", C.CODE_EXEC),
    ("__builtin__", "eval", C.CODE_EXEC),
    ("builtins", "breakpoint", C.CODE_EXEC),
    ("builtins", "setattr", C.SYSTEM),
    ("sys", "modules", C.SYSTEM),
]


@pytest.mark.parametrize(("module", "name", "cap"), THREATS)
def test_threat_callables_are_assessed(module: str, name: str, cap: Capability) -> None:
    found = assess(module, name)
    assert found is not None, f"{module}.{name} not assessed"
    assert cap in found.capabilities
    assert found.via and found.source in {"curated", "stdlib-analysis"}
    assert severity_hint(found.capabilities) in {"critical", "high", "medium"}


@pytest.mark.parametrize(
    ("module", "name"),
    [("posix", "system"), ("nt", "system"), ("os", "system"), ("posix", "popen")],
)
def test_os_aliases_normalised(module: str, name: str) -> None:
    found = assess(module, name)
    assert found is not None and C.PROCESS in found.capabilities


def test_static_evidence_path_reaches_a_primitive() -> None:
    found = assess("trace", "Trace.run")
    assert found is not None and found.source == "stdlib-analysis"
    assert found.via[0] == "trace.Trace.run" and found.via[-1] == "builtins.exec"
    inherited = assess("pdb", "Pdb.run")  # defined on bdb.Bdb
    assert inherited is not None and "bdb.Bdb.run" in inherited.via


def test_dotted_names() -> None:
    assert assess("builtins", "dict.get") is None
    odd = assess("builtins", "object.__getattribute__")
    assert odd is not None and C.ATTRIBUTE in odd.capabilities
    sub = assess("torch", "hub.load")
    assert sub is not None and C.NETWORK in sub.capabilities
    reexport = assess("torch", "os.system")
    assert reexport is not None and C.PROCESS in reexport.capabilities


def test_module_objects_as_globals() -> None:
    found = assess("torch", "_utils")
    assert found is not None and C.SYSTEM in found.capabilities
    path = assess("os", "path")
    assert path is not None and C.ATTRIBUTE in path.capabilities


def test_harmless_names_are_not_assessed() -> None:
    for module, name in [
        ("collections", "OrderedDict"),
        ("copyreg", "_reconstructor"),
        ("datetime", "datetime"),
        ("torch._utils", "_rebuild_tensor_v2"),
        ("numpy.core.multiarray", "_reconstruct"),
    ]:
        assert assess(module, name) is None, (module, name)


def test_is_stdlib() -> None:
    assert is_stdlib("os") and is_stdlib("posix") and is_stdlib("__builtin__")
    assert is_stdlib("copy_reg") and is_stdlib("xml.etree.ElementTree")
    assert is_stdlib("test.support.script_helper")
    assert not is_stdlib("torch") and not is_stdlib("numpy.core")


def test_stdlib_name_known() -> None:
    assert stdlib_name_known("collections", "OrderedDict")
    assert stdlib_name_known("trace", "Trace.run")
    assert stdlib_name_known("pdb", "Pdb.run")
    assert stdlib_name_known("copyreg", "_reconstructor")
    assert not stdlib_name_known("builtins", "print")  # C: no source
    assert not stdlib_name_known("collections", "no_such_name")
    assert not stdlib_name_known("torch", "load")


def test_severity_hint() -> None:
    assert severity_hint(frozenset({C.CODE_EXEC})) == "critical"
    assert severity_hint(frozenset({C.ATTRIBUTE, C.FILE_READ})) == "critical"
    assert severity_hint(frozenset({C.NETWORK})) == "high"
    assert severity_hint(frozenset({C.SYSTEM, C.FILE_READ})) == "high"
    assert severity_hint(frozenset({C.FILE_READ})) == "medium"
    assert severity_hint(frozenset()) == "medium"


def test_assessment_is_frozen() -> None:
    found = assess("os", "system")
    assert isinstance(found, Assessment)
    with pytest.raises(AttributeError):
        found.source = "x"  # type: ignore[misc]


def test_shipped_data_is_small_and_current() -> None:
    blob = (Path(caps_mod.__file__).parent / caps_mod.DATA_FILE).read_bytes()
    assert len(blob) < 2_000_000
    raw = json.loads(blob.partition(b"\n")[0])
    assert raw["format"] == caps_mod.DATA_FORMAT == 2
    major_minor = ".".join(raw["python"].split(".")[:2])
    if major_minor != f"{sys.version_info[0]}.{sys.version_info[1]}":
        pytest.skip(f"map built for Python {raw['python']}; regenerate with gen_capmap")


def _parse(blob: bytes) -> Any:
    reads: list[int] = []

    def read() -> bytes:
        reads.append(1)
        return blob

    cm = caps_mod.parse_capmap(blob[: blob.index(b"\n") + 1], read)
    return cm, reads


def test_modules_are_read_and_decoded_on_first_lookup_only() -> None:
    blob = gen_capmap.encode({
        "python": "3.11.0", "format": caps_mod.DATA_FORMAT, "nodes": ["m.f"], "caps": [1],
        "next": [-1], "modules": {"m": {"n": ["f"], "i": {"os": "os"}}, "n": {"s": ["m"]}},
    })
    cm, reads = _parse(blob)
    assert cm.index == {"m.f": 0} and list(cm.modules) == ["m", "n"] and "m" in cm.modules
    assert not reads and not cm.modules._decoded
    assert cm.modules["m"].names == {"f"} and cm.modules["m"].imports == {"os": "os"}
    assert cm.modules["n"].star == ("m",) and cm.modules.get("x") is None
    assert set(cm.modules._decoded) == {"m", "n"} and len(reads) == 1


@pytest.mark.parametrize("damage", [
    lambda b: b[:-1],
    lambda b: b.rsplit(b"\n", 2)[0] + b"\n",
    lambda b: b.replace(b'"format":2', b'"format":1', 1),
    lambda b: b.replace(b'"ends":[', b'"ends":[0,', 1),
])
def test_damaged_map_is_an_error_not_an_empty_map(damage: Any) -> None:
    blob = damage((Path(caps_mod.__file__).parent / caps_mod.DATA_FILE).read_bytes())
    with pytest.raises(ValueError, match="damaged"):
        cm, _ = _parse(blob)
        for module in cm.modules:
            cm.modules[module]


# --------------------------------------------------------------------------- generator


def _write(root: Path, rel: str, src: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(src))


def test_generator_resolution_rules(tmp_path: Path) -> None:
    # Module names must be stdlib names for the walker to take them; contents are fake.
    _write(
        tmp_path,
        "shlex.py",
        """
        import os as _os
        from subprocess import Popen as _P

        def direct(cmd):
            return _os.system(cmd)

        def const_exec():
            exec("x = 1")

        def var_exec(src):
            exec(src)

        def reader(p):
            return open(p).read()

        def writer(p):
            return open(p, "w")

        class Base:
            def run(self, cmd):
                return _P(cmd)

        class Child(Base):
            def go(self, cmd):
                return self.run(cmd)

            def sup(self, cmd):
                return super().run(cmd)

        def via_instance(cmd):
            c = Child()
            return c.go(cmd)
        """,
    )
    _write(
        tmp_path,
        "pipes.py",
        """
        from shlex import direct

        def uses(cmd):
            return direct(cmd)

        class Quiet:
            def __init__(self):
                self.x = 1
        """,
    )
    an = gen_capmap.analyse(tmp_path)
    data = gen_capmap.render(an)
    nodes = data["nodes"]
    assert isinstance(nodes, list)
    masks = dict(zip(nodes, data["caps"], strict=True))  # type: ignore[call-overload]

    def caps(q: str) -> frozenset[Capability]:
        return caps_mod.caps_from_mask(masks.get(q, 0))

    assert C.PROCESS in caps("shlex.direct")
    assert C.PROCESS in caps("pipes.uses")
    assert "shlex.const_exec" not in masks
    assert C.CODE_EXEC in caps("shlex.var_exec")
    assert caps("shlex.reader") == {C.FILE_READ}
    assert C.FILE_WRITE in caps("shlex.writer")
    assert C.PROCESS in caps("shlex.Child.go")
    assert C.PROCESS in caps("shlex.Child.sup")
    assert C.PROCESS in caps("shlex.via_instance")
    assert C.PROCESS in caps("shlex.Child")  # a class reaches its (inherited) methods
    assert "pipes.Quiet" not in masks
    assert "Quiet.__init__" in data["modules"]["pipes"]["n"]  # type: ignore[index]


# --------------------------------------------------------------------------- corpora


_STRING_OPS = frozenset(
    {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "STRING", "BINSTRING",
     "SHORT_BINSTRING"}
)  # fmt: skip
_BYTES_OPS = frozenset({"SHORT_BINBYTES", "BINBYTES", "BINBYTES8", "BYTEARRAY8"})


def pickle_globals(data: bytes, depth: int = 0) -> set[tuple[str, str]]:
    """Globals named by every stacked pickle in ``data`` and by pickles embedded in operands.

    A small stack model over ``pickletools.genops`` resolves STACK_GLOBAL operands that come
    from the memo. Never unpickles.
    """
    found: set[tuple[str, str]] = set()
    pos = 0
    while pos < len(data) and depth < 3:
        stack: list[object] = []
        memo: dict[int, object] = {}
        end: int | None = None
        try:
            for op, arg, at in pickletools.genops(data[pos:]):
                if _step(op, arg, stack, memo, found, depth):
                    end = pos + (at or 0) + 1
        except (ValueError, IndexError, KeyError):
            break
        if end is None:
            break
        pos = end
    return found


def _step(
    op: pickletools.OpcodeInfo,
    arg: object,
    stack: list[object],
    memo: dict[int, object],
    found: set[tuple[str, str]],
    depth: int,
) -> bool:
    name = op.name
    if name in ("GLOBAL", "INST"):
        text, _, attr = str(arg).partition(" ")
        found.add((text, attr))
    if name == "STACK_GLOBAL":
        top, below = stack.pop(), stack.pop()
        if isinstance(below, str) and isinstance(top, str):
            found.add((below, top))
        stack.append(None)
        return False
    if name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):
        memo[len(memo) if name == "MEMOIZE" else int(str(arg))] = stack[-1]
        return False
    if name in ("GET", "BINGET", "LONG_BINGET"):
        stack.append(memo[int(str(arg))])
        return False
    before = list(op.stack_before)
    if pickletools.stackslice in before:
        while stack and stack[-1] is not pickletools.markobject:
            stack.pop()
        if stack:
            stack.pop()
        before = [b for b in before if b not in (pickletools.stackslice, pickletools.markobject)]
    del stack[len(stack) - min(len(before), len(stack)) :]
    if name in _BYTES_OPS or name in _STRING_OPS:
        _embedded(arg, found, depth)
    if name in _STRING_OPS:
        stack.append(arg)
    elif name == "MARK":
        stack.append(pickletools.markobject)
    else:
        stack.extend([None] * len(op.stack_after))
    return name == "STOP"


def _embedded(arg: object, found: set[tuple[str, str]], depth: int) -> None:
    """Second-stage pickles carried as raw bytes or base64 text."""
    blob: bytes | None = None
    if isinstance(arg, bytes | bytearray) and arg[:1] == b"\x80":
        blob = bytes(arg)
    elif isinstance(arg, str) and arg.startswith("gA"):
        try:
            blob = base64.b64decode(arg, validate=True)
        except (binascii.Error, ValueError):
            blob = None
    if blob:
        found |= pickle_globals(blob, depth + 1)


def _corpus(label: str) -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    for corpus in ("picklescan", "modelaudit"):
        labels_file = CORPORA / corpus / "labels.json"
        if not labels_file.exists():
            continue
        for rel, lab in json.loads(labels_file.read_text()).items():
            if lab == label and rel.endswith((".pkl", ".pickle")):
                out.append((f"{corpus}/{rel}", CORPORA / corpus / rel))
    return out


# Globals of malicious corpus files that are *not* assessed: harmless helpers next to the
# payload (allowlisted or graded "unreviewed" by the scanner), never the payload itself.
EXPECTED_UNASSESSED = {
    ("__builtin__", "dict"), ("_codecs", "encode"), ("functools", "partial"),
    ("collections", "OrderedDict"), ("torch._utils", "_rebuild_tensor"), ("torch", "Tensor"),
    ("torch", "device"), ("torch", "nn"), ("torch", "cuda"), ("torch", "optim"),
    ("torch", "utils"), ("torch", "no_grad"), ("torch", "FloatTensor"),
    ("torch", "LongTensor"), ("torch.utils", "data"), ("torch.utils.data", "DataLoader"),
    ("torch.optim", "SGD"), ("torch.optim", "Adam"), ("builtins", "print"),
    ("echo \"type-confusion-exploit\"", "os"),
    *{("torch.nn", n) for n in ["Module", "Linear", "Conv2d", "Sequential", "ReLU",
                                 "BatchNorm2d", "Dropout", "MaxPool2d"]},
}  # fmt: skip

MALICIOUS = _corpus("malicious")
BENIGN = _corpus("benign")


@pytest.mark.skipif(not MALICIOUS, reason="shared corpora not present")
@pytest.mark.parametrize(("rel", "path"), MALICIOUS, ids=[r for r, _ in MALICIOUS])
def test_malicious_corpus_is_caught(rel: str, path: Path) -> None:
    names = pickle_globals(path.read_bytes())
    assessed = {g for g in names if assess(*g) is not None}
    flagged = assessed | {g for g in names if not is_allowed(*g)}
    assert flagged, f"{rel}: every global is allowlisted: {sorted(names)}"
    missing = names - assessed - EXPECTED_UNASSESSED
    assert not missing, f"{rel}: dangerous-looking globals not assessed: {sorted(missing)}"


@pytest.mark.skipif(not BENIGN, reason="shared corpora not present")
@pytest.mark.parametrize(("rel", "path"), BENIGN, ids=[r for r, _ in BENIGN])
def test_benign_corpus_is_allowed(rel: str, path: Path) -> None:
    names = pickle_globals(path.read_bytes())
    assert all(is_allowed(*g) for g in names), sorted(names)


@pytest.mark.slow
def test_shipped_map_is_what_the_generator_makes() -> None:
    """The shipped data is reproducible from this interpreter's stdlib (deterministic)."""
    import sysconfig

    shipped = (Path(caps_mod.__file__).parent / caps_mod.DATA_FILE).read_bytes()
    if json.loads(shipped.partition(b"\n")[0])["python"] != ".".join(
        map(str, sys.version_info[:3])
    ):
        pytest.skip("shipped map was built on another Python version")
    fresh = gen_capmap.render(gen_capmap.analyse(Path(sysconfig.get_paths()["stdlib"])))
    assert gen_capmap.encode(fresh) == shipped
