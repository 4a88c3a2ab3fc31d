"""Rules raised by the pickle scanner, one per capability class or structural trick."""

from __future__ import annotations

from modeltrust.findings import Severity
from modeltrust.rules import rule

_LOAD = "Loading this file with pickle, torch.load, joblib.load or numpy.load(allow_pickle=True)"
_FIX_UNTRUSTED = (
    "Do not load this file. Obtain the weights as safetensors (or GGUF/ONNX) from a trusted "
    "publisher, or load with torch.load(weights_only=True) after verifying the source."
)

CODE_EXEC = rule(
    "MT-PKL-001", "Pickle reaches a code-execution callable", Severity.CRITICAL,
    f"""
    The pickle names a callable that executes arbitrary Python code (exec, eval, compile,
    code objects, interpreters, runpy, pdb, timeit, cProfile...). {_LOAD} runs it.
    Critical when the stream invokes it (REDUCE/INST/OBJ/NEWOBJ), high when it is only
    referenced.
    """,
    fix=_FIX_UNTRUSTED, cwe=502,
)
PROCESS = rule(
    "MT-PKL-002", "Pickle reaches a process-spawning callable", Severity.CRITICAL,
    f"""
    The pickle names a callable that starts processes or runs shell commands (os.system,
    subprocess, pty.spawn, asyncio subprocess internals...). {_LOAD} runs it.
    """,
    fix=_FIX_UNTRUSTED, cwe=78,
)
IMPORT = rule(
    "MT-PKL-003", "Pickle reaches import machinery or a string-to-callable resolver",
    Severity.CRITICAL,
    """
    The pickle names a callable that imports modules or turns strings into arbitrary
    callables (__import__, importlib.import_module, pkgutil.resolve_name, pydoc.locate,
    getattr, operator.attrgetter/methodcaller, pip/setuptools entry points). These are the
    classic trampolines used to reach any function while hiding its name from scanners.
    """,
    fix=_FIX_UNTRUSTED, cwe=470,
)
NESTED_LOADER = rule(
    "MT-PKL-004", "Pickle calls another deserialiser (loader trampoline)", Severity.CRITICAL,
    """
    The pickle invokes another loader (pickle.loads, torch.load, joblib.load, numpy.load,
    marshal.loads, dill/cloudpickle, yaml.load...). This is a second stage: whatever that
    loader reads can run code, and it may come from bytes hidden inside this pickle or from
    another file. Embedded payloads that can be recovered are scanned as their own files.
    """,
    fix=_FIX_UNTRUSTED, cwe=502,
)
NATIVE = rule(
    "MT-PKL-005", "Pickle reaches native-code loading", Severity.CRITICAL,
    """
    The pickle names a callable that loads shared libraries or calls native code (ctypes,
    cffi). Loading the file can run machine code.
    """,
    fix=_FIX_UNTRUSTED, cwe=114,
)
FILESYSTEM = rule(
    "MT-PKL-006", "Pickle reaches file-system access", Severity.HIGH,
    """
    The pickle names a callable that writes, deletes or reads files (open, io.FileIO,
    shutil, os.remove, logging.FileHandler...). Loading the file can plant or destroy files,
    or read secrets for later exfiltration.
    """,
    fix=_FIX_UNTRUSTED, cwe=73,
)
NETWORK = rule(
    "MT-PKL-007", "Pickle reaches network access", Severity.HIGH,
    """
    The pickle names a callable that opens network connections (socket, urllib, http.client,
    ssl.get_server_certificate, smtplib...). Loading the file can exfiltrate data or fetch a
    second stage.
    """,
    fix=_FIX_UNTRUSTED, cwe=918,
)
SYSTEM_STATE = rule(
    "MT-PKL-008", "Pickle reaches interpreter or system state", Severity.HIGH,
    """
    The pickle names a callable that changes interpreter or process state (setattr, delattr,
    sys.modules or os.environ writes, signal handlers, atexit, threads). Such changes can
    redirect later, innocent-looking calls to attacker-chosen code.
    """,
    fix=_FIX_UNTRUSTED, cwe=915,
)
UNREVIEWED_THIRD_PARTY = rule(
    "MT-PKL-010", "Pickle uses a callable outside the allowlist (third-party)",
    Severity.HIGH,
    """
    The pickle names a callable from a third-party package that is not on modeltrust's
    allowlist of known reconstruction functions. modeltrust denies by default: scanners that
    only look for known-bad names have been bypassed dozens of times with functions nobody
    had listed. High when the stream invokes it, medium when it only references it.
    """,
    fix="Review the callable. If it is a legitimate class of your own code, load the file "
        "only in an environment you trust; prefer a data-only format such as safetensors.",
    cwe=502,
)
UNREVIEWED_STDLIB = rule(
    "MT-PKL-011", "Pickle uses a standard-library callable outside the allowlist",
    Severity.MEDIUM,
    """
    The pickle names a standard-library callable that is neither a known reconstruction
    function nor known to reach a dangerous capability. Static analysis of the standard
    library found no dangerous call path (or the function is written in C and could not be
    analysed), but it is not something a model checkpoint normally needs.
    """,
    fix="Check why the pickle needs this callable; prefer a data-only format.",
    cwe=502,
)
COMPUTED_GLOBAL = rule(
    "MT-PKL-020", "STACK_GLOBAL operands computed at load time", Severity.CRITICAL,
    """
    The module or attribute name given to STACK_GLOBAL is not a string literal but a value
    produced while unpickling (a call result, a container). No serializer produces this; it
    is used to hide which callable is imported from scanners that read adjacent strings.
    """,
    fix=_FIX_UNTRUSTED, cwe=502,
)
MUTATE_GLOBAL = rule(
    "MT-PKL-021", "Pickle modifies an imported module or class", Severity.CRITICAL,
    """
    BUILD, SETITEM(S), APPEND(S) or ADDITEMS is applied to an object obtained with
    GLOBAL/STACK_GLOBAL (a module, class or function) rather than to an object the pickle
    created. This overwrites attributes of live modules (for example replacing
    torch._utils._rebuild_tensor with eval) so that later, allowlisted-looking names run
    attacker code.
    """,
    fix=_FIX_UNTRUSTED, cwe=915,
)
CALL_COMPUTED = rule(
    "MT-PKL-022", "Pickle calls a value computed at load time", Severity.HIGH,
    """
    REDUCE/NEWOBJ/OBJ is applied to something that is not a named callable: the result of an
    earlier call, a memo entry or a container. Legitimate serializers call named classes and
    functions; calling computed values is how gadget chains reach callables by indirection.
    """,
    fix=_FIX_UNTRUSTED, cwe=502,
)
EXTENSION_CODE = rule(
    "MT-PKL-023", "Pickle uses copyreg extension codes (EXT1/EXT2/EXT4)", Severity.HIGH,
    """
    EXT opcodes name a callable by a number registered in the loading process's copyreg
    registry. What it resolves to depends on the victim's environment and cannot be checked
    statically.
    """,
    fix=_FIX_UNTRUSTED, cwe=502,
)
BROKEN_STREAM = rule(
    "MT-PKL-030", "Pickle stream is malformed", Severity.MEDIUM,
    """
    The pickle cannot be fully decoded: an invalid opcode, a truncated operand, a stack
    underflow, a reference to an unset memo entry, or no STOP. A loader executes every
    opcode before the break, so anything dangerous found earlier in the stream has already
    run when the loader fails (the "nullifAI" technique). The break itself is reported as
    critical when dangerous calls precede it, medium otherwise.
    """,
    fix="Treat the file as hostile or corrupt; do not load it.",
    cwe=20,
)
TRAILING_DATA = rule(
    "MT-PKL-031", "Data after the last pickle", Severity.LOW,
    """
    Bytes follow the final STOP opcode and do not decode as a further pickle or a known
    container. Loaders ignore them, but they may be a payload for another reader.
    """,
    fix="Check where the extra data comes from.",
)
LIMIT_HIT = rule(
    "MT-PKL-032", "Pickle analysis stopped at a limit", Severity.MEDIUM,
    """
    The pickle exceeded a bound (opcodes, memo entries, stack depth, operand size or time).
    Everything before that point was analysed; the rest was not. Payloads are sometimes
    placed after millions of harmless opcodes to exhaust scanners.
    """,
    fix="Scan the file alone with larger limits, or treat it as untrusted.",
    cwe=400,
)
NESTED_PICKLE = rule(
    "MT-PKL-033", "Embedded payload handed to a deserialiser", Severity.HIGH,
    """
    The pickle passes literal bytes to a deserialiser (pickle.loads and similar). The bytes
    were recovered and scanned as their own file (path suffix ``!@loads@OFFSET``).
    """,
    fix=_FIX_UNTRUSTED, cwe=502,
)
STACKED = rule(
    "MT-PKL-034", "Several pickles stacked in one file", Severity.INFO,
    """
    The file holds more than one pickle back to back. Legacy PyTorch files legitimately hold
    five; in other files a second pickle is only read by loaders that call load() again, and
    has been used to hide payloads. Every pickle is analysed.
    """,
)
POLYGLOT = rule(
    "MT-PKL-035", "Pickle followed by an archive (polyglot file)", Severity.MEDIUM,
    """
    A zip archive is appended to a pickle. pickle.load reads the pickle while zip readers
    (torch.load, numpy.load) read the archive, so two loaders see two different files.
    Both parts are analysed.
    """,
    fix="Do not load the file; ask the publisher for a single-format checkpoint.",
    cwe=434,
)
LEGACY_MAGIC = rule(
    "MT-PKL-040", "Legacy PyTorch header is computed, not a literal", Severity.CRITICAL,
    """
    A legacy PyTorch file starts with a pickle holding the magic number. Here that first
    pickle computes the value (for example with eval) instead of storing it, so code runs
    before torch even checks the header (GHSA-97f8-7cmv-76j2).
    """,
    fix=_FIX_UNTRUSTED, cwe=502,
)
EMBEDDED_PICKLE = rule(
    "MT-PKL-036", "Serialized pickle hidden in the data", Severity.MEDIUM,
    """
    A string or bytes value inside the pickle is itself a pickle (raw, base64 or hex). Model
    data has no reason to carry serialized code; such blobs are second stages waiting for a
    loader (a later pickle.loads, a custom hook, a gadget). The blob is scanned as its own
    file; this finding is high when it would call anything outside the allowlist.
    """,
    fix="Remove the embedded blob or do not load the file.",
    cwe=502,
)
