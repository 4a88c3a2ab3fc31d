"""Rules, capability tables and severity grades for repository Python (MT-CODE-*).

A call's dotted name (after alias resolution) maps to a capability rule; its severity then
depends on when the call runs (:data:`GRADES`).
"""

from __future__ import annotations

import re

from modeltrust.findings import Rule, Severity
from modeltrust.rules import rule

_C, _H, _M, _L, _I = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW,
                      Severity.INFO)
_WHEN = ("Critical at import time (module level, class bodies, decorators, default "
         "arguments), lower inside functions, lowest in ``if __name__ == '__main__'`` blocks.")
_FIX = "Do not load the model with trust_remote_code=True until the code has been reviewed."
PROCESS = rule("MT-CODE-001", "Repository Python runs processes", _C, f"""
    The code calls ``os.system``, ``subprocess``, ``pty``, ``os.exec*``/``spawn*`` or similar:
    loading the model can run any command. {_WHEN}""", fix=_FIX, cwe=78)
DYNAMIC = rule("MT-CODE-002", "Repository Python executes dynamic code", _C, f"""
    The code calls ``exec``/``eval``/``compile``, imports modules named at run time, builds
    functions from code objects or deserialises pickles/marshal data, or loads code from
    another repository (``trust_remote_code=True``, ``torch.hub.load``). {_WHEN}""",
    fix=_FIX, cwe=94)
NATIVE = rule("MT-CODE-003", "Repository Python loads native code", _C, f"""
    The code loads shared libraries (``ctypes``, ``cffi``) or compiles and loads C++/CUDA
    extensions (``torch.utils.cpp_extension``): native code outside any review. {_WHEN}""",
    fix=_FIX, cwe=114)
NETWORK = rule("MT-CODE-004", "Repository Python uses the network", _C, f"""
    The code opens sockets or HTTP/FTP/SMTP connections, or uploads to the hub: it can
    exfiltrate data or fetch a second stage. {_WHEN}""", fix=_FIX, cwe=913)
HUB = rule("MT-CODE-005", "Repository Python downloads files from a model hub", _M, """
    The code downloads files (``hf_hub_download``, ``snapshot_download``...) that were not
    part of the scanned repository. High at import time, low inside functions.""",
    fix="Make the files part of the repository so they are scanned with it.", cwe=494)
FILE_WRITE = rule("MT-CODE-006", "Repository Python writes or deletes files", _H, """
    The code opens files for writing (``open``, ``Path.open``, ``io.FileIO``, ``os.open``
    with write flags), or removes, moves, copies or changes permissions of files. High at
    import time, medium inside functions.""", fix=_FIX, cwe=73)
CREDENTIALS = rule("MT-CODE-007", "Repository Python reads credentials or secrets", _H, """
    The code reads tokens/keys from the environment (``HF_TOKEN``, ``AWS_*``...), dumps the
    whole environment, reads credential files (``~/.ssh``, ``~/.aws``, ``.netrc``, browser
    profiles, ``/etc/passwd``, the hub token file, also when the path is built from parts)
    or uses ``keyring``/``netrc``/``huggingface_hub.get_token``. High at import time or on
    instantiation, medium inside functions.""", fix=_FIX, cwe=522)
DYNAMIC_ATTR = rule("MT-CODE-008", "Dynamic attribute lookup on a sensitive module", _H, """
    The code fetches an attribute of ``os``/``subprocess``/``builtins``... by a computed name
    (``getattr(os, "sys" + "tem")``, ``vars(os)[...]``, ``__builtins__[...]``,
    ``sys.modules["os"]``, ``operator.attrgetter("system")``), reaches another namespace's
    globals (``__globals__``, ``f_globals``, ``object.__subclasses__()``), or replaces
    attributes of those modules or entries of ``sys.modules`` (monkey-patching ``open``,
    hijacking imports): the usual ways to hide a dangerous call from reviewers and
    scanners.""", fix=_FIX, cwe=470)
OBFUSCATED = rule("MT-CODE-009", "Obfuscated payload handed to code execution", _C, """
    Encoded data (base64, zlib/bz2/lzma, hex, rot13, marshalled code) is decoded and passed
    to ``exec``/``eval``/``compile``/``__import__`` or a process call. Legitimate model code
    has no reason to hide what it runs. Decoded payloads are scanned again as Python and
    marshalled code objects are read (never loaded) for the names they use. Literal data
    that decodes to Python with capabilities is high even when its way to ``exec`` is not
    visible.""",
    fix=_FIX, cwe=506)
UNPARSABLE = rule("MT-CODE-020", "Python file does not parse", _M, """
    The ``.py`` file is not valid Python 3 for this interpreter (or not valid UTF-8/declared
    encoding), so it could not be analysed. Python 2 files, truncated downloads, syntax of a
    newer Python and deliberately broken files all land here; none can be vouched for. High
    when the text mentions process, ``exec``/``eval``, network or decoding names.""",
    fix="Review the file by hand.", cwe=20)
LIMIT = rule("MT-CODE-021", "Python analysis stopped at a limit", _M, """
    The file is larger, deeper or has more tokens or syntax nodes than the analysis bounds,
    or nests encoded payloads deeper than followed. Whatever lies beyond was not examined.
    A file too large to parse is still searched as text: high when it mentions process,
    ``exec``/``eval``, network or decoding names.""",
    fix="Review the file by hand.", cwe=400)
PRESENT = rule("MT-CODE-022", "Python code in the model repository", _I, """
    The repository ships Python that ``trust_remote_code=True`` (or a user running it) would
    execute. Listed for review; other rules describe what it does.""")
RULES = (PROCESS, DYNAMIC, NATIVE, NETWORK, HUB, FILE_WRITE, CREDENTIALS, DYNAMIC_ATTR,
         OBFUSCATED, UNPARSABLE, LIMIT, PRESENT)

MAX_SOURCE = 8 * 1024 * 1024
MAX_TOKENS = 600_000
"""Tokens parsed per file (``ast`` needs ~0.5-1 KB per node; real files stay under 300k)."""
MAX_NODES = 2_000_000
MAX_DEPTH = 400
MAX_DECODE_DEPTH = 3
MAX_DECODED = 1024 * 1024
IMPORT, INIT, CALL, SCRIPT = "import", "init", "call", "script"
# Severity per rule and context (import, init, call, script).
GRADES: dict[str, tuple[Severity, Severity, Severity, Severity]] = {
    PROCESS.id: (_C, _H, _H, _M), DYNAMIC.id: (_C, _H, _H, _M), NATIVE.id: (_C, _H, _H, _M),
    NETWORK.id: (_C, _H, _M, _L), HUB.id: (_H, _M, _L, _L), FILE_WRITE.id: (_H, _M, _M, _L),
    CREDENTIALS.id: (_H, _H, _M, _L), DYNAMIC_ATTR.id: (_H, _H, _H, _M),
    OBFUSCATED.id: (_C, _C, _C, _C),
}
ORDER = {IMPORT: 0, INIT: 1, CALL: 2, SCRIPT: 3}
_NAMES = {
    PROCESS: ("os.system os.popen os.popen2 os.popen3 os.fork os.forkpty os.startfile "
              "os.posix_spawn os.posix_spawnp pty.spawn pty.fork platform.popen "
              "commands.getoutput commands.getstatusoutput asyncio.create_subprocess_exec "
              "asyncio.create_subprocess_shell multiprocessing.util.spawnv_passfds "
              "pydoc.pipepager pydoc.tempfilepager _posixsubprocess.fork_exec pip.main "
              "distutils.spawn.spawn setuptools.sandbox.run_setup pip._internal.main "
              "pip._internal.cli.main.main"),
    DYNAMIC: ("builtins.exec builtins.eval builtins.compile builtins.__import__ "
              "builtins.breakpoint importlib.import_module importlib.__import__ "
              "importlib.reload importlib.util.spec_from_file_location "
              "importlib.util.module_from_spec imp.load_source imp.load_module "
              "types.FunctionType types.CodeType types.LambdaType marshal.loads marshal.load "
              "pickle.loads pickle.load _pickle.loads _pickle.load cPickle.loads "
              "cPickle.load dill.loads dill.load cloudpickle.loads cloudpickle.load "
              "shelve.open runpy.run_path runpy.run_module code.InteractiveInterpreter "
              "code.InteractiveConsole code.interact pydoc.locate pkgutil.resolve_name "
              "pdb.run yaml.unsafe_load jsonpickle.decode torch.hub.load "
              "transformers.dynamic_module_utils.get_class_from_dynamic_module "
              "importlib.machinery.SourceFileLoader importlib.machinery.SourcelessFileLoader "
              "importlib.util.spec_from_loader sys.meta_path.insert sys.meta_path.append "
              "sys.path_hooks.insert sys.path_hooks.append timeit.timeit timeit.repeat "
              "timeit.Timer cProfile.run cProfile.runctx profile.run profile.runctx "
              "pdb.runeval pdb.runctx pdb.runcall doctest.run_docstring_examples "
              "trace.Trace.run trace.Trace.runctx"),
    NATIVE: ("ctypes.CDLL ctypes.PyDLL ctypes.WinDLL ctypes.OleDLL ctypes.cdll.LoadLibrary "
             "ctypes.windll.LoadLibrary _ctypes.dlopen cffi.FFI torch.utils.cpp_extension.load "
             "torch.utils.cpp_extension.load_inline torch.ops.load_library "
             "torch.classes.load_library"),
    NETWORK: ("urllib.urlopen urllib.urlretrieve ssl.get_server_certificate "
              "asyncio.open_connection wget.download huggingface_hub.upload_file "
              "huggingface_hub.upload_folder huggingface_hub.create_commit "
              "huggingface_hub.HfApi"),
    HUB: ("huggingface_hub.hf_hub_download huggingface_hub.snapshot_download "
          "huggingface_hub.cached_download huggingface_hub.file_download.hf_hub_download "
          "transformers.utils.cached_file transformers.utils.hub.cached_file "
          "modelscope.snapshot_download modelscope.hub.snapshot_download.snapshot_download "
          "torch.hub.load_state_dict_from_url torch.hub.download_url_to_file "
          "torch.utils.model_zoo.load_url keras.utils.get_file "
          "tensorflow.keras.utils.get_file gdown.download"),
    FILE_WRITE: ("shutil.rmtree shutil.copy shutil.copy2 shutil.copyfile shutil.copytree "
                 "shutil.move shutil.chown os.remove os.unlink os.rename os.renames os.replace "
                 "os.rmdir os.removedirs os.chmod os.chown os.symlink os.link os.truncate "
                 "os.lchmod os.lchown os.mkfifo os.mknod os.ftruncate"),
    CREDENTIALS: ("huggingface_hub.get_token huggingface_hub.HfFolder.get_token "
                  "huggingface_hub.utils.get_token huggingface_hub.whoami getpass.getpass "
                  "huggingface_hub.constants.HF_TOKEN_PATH "
                  "huggingface_hub.constants.HF_STORED_TOKENS_PATH"),
}
_EXACT: dict[str, Rule] = {n: r for r, names in _NAMES.items() for n in names.split()}
_PREFIXES: tuple[tuple[str, Rule], ...] = (
    ("subprocess.", PROCESS), ("os.exec", PROCESS), ("os.spawn", PROCESS),
    ("socket.", NETWORK), ("urllib.request.", NETWORK), ("urllib2.", NETWORK),
    ("urllib3.", NETWORK), ("requests.", NETWORK), ("http.client.", NETWORK),
    ("httpx.", NETWORK), ("aiohttp.", NETWORK), ("ftplib.", NETWORK), ("smtplib.", NETWORK),
    ("telnetlib.", NETWORK), ("poplib.", NETWORK), ("imaplib.", NETWORK),
    ("webbrowser.", NETWORK), ("paramiko.", NETWORK), ("xmlrpc.client.", NETWORK),
    ("websocket.", NETWORK), ("websockets.", NETWORK), ("pycurl.", NETWORK),
    ("keyring.", CREDENTIALS), ("netrc.", CREDENTIALS), ("ctypes.cdll.", NATIVE),
    ("ctypes.windll.", NATIVE), ("ctypes.pydll.", NATIVE), ("_ctypes.", NATIVE),
    ("cffi.", NATIVE), ("zipimport.", DYNAMIC), ("_socket.", NETWORK), ("ssl.wrap_", NETWORK),
    ("_posixsubprocess.", PROCESS), ("nt.system", PROCESS), ("posix.system", PROCESS),
    ("posix.exec", PROCESS), ("posix.spawn", PROCESS), ("posix.fork", PROCESS),
)
RESOLVERS = frozenset({"operator.attrgetter", "operator.methodcaller"})
"""Build a callable from an attribute name given as a string."""
WRITE_METHODS = frozenset({"write_text", "write_bytes", "symlink_to", "hardlink_to", "unlink",
                           "rmdir", "chmod", "lchmod"})
ESCAPE_ATTRS = frozenset({"__globals__", "__builtins__", "f_globals", "f_builtins",
                          "func_globals", "gi_frame", "cr_frame", "ag_frame"})
"""Attributes that reach another namespace's globals or a frame: sandbox-escape plumbing."""
PATCH_MODULES = frozenset({"os", "posix", "nt", "subprocess", "builtins", "importlib", "pty",
                           "socket", "ctypes", "shutil", "pickle", "marshal", "runpy", "types"})
"""Modules whose attributes model code has no reason to replace."""
SYS_HOOKS = frozenset({"sys.meta_path", "sys.path_hooks", "sys.modules", "sys.excepthook",
                       "sys.displayhook", "sys.breakpointhook", "sys.path_importer_cache"})
SENSITIVE_MODULES = frozenset({
    "os", "posix", "nt", "subprocess", "builtins", "__builtins__", "importlib", "sys", "pty",
    "socket", "ctypes", "shutil", "pickle", "marshal", "runpy", "code", "types", "io",
})
BUILTINS = frozenset({"exec", "eval", "compile", "__import__", "open", "getattr", "setattr",
                       "delattr", "breakpoint", "vars", "globals", "locals", "bytes",
                       "bytearray", "dict", "str", "repr", "list", "print", "chr",
                       "reversed", "isinstance", "issubclass", "hasattr", "id", "map",
                       "filter", "callable", "type"})
SECRET_ENV = re.compile(r"^(?!.*(?:DISABLE|ENABLE))(?:.*(?:TOKEN(?!IZ)|SECRET|PASSW|API_?KEY|"
                         r"ACCESS_?KEY|PRIVATE|CREDENTIAL|COOKIE|SESSION)|AWS_|SSH_)",
                         re.IGNORECASE)
"""Environment variables holding secrets; on/off switches named after one
(``HF_HUB_DISABLE_IMPLICIT_TOKEN``) hold none."""
SECRET_PATH = re.compile(
    r"\.ssh\b|id_rsa|id_ed25519|\.aws/credentials|~/\.aws|\.netrc|/etc/passwd|/etc/shadow|"
    r"\.git-credentials|\.docker/config\.json|\.kube/config|huggingface/token|\.pypirc|"
    r"Login Data|\.mozilla/firefox|Google/Chrome|BraveSoftware|wallet\.dat|\.gnupg|Keychains",
    re.IGNORECASE)
RISKY_TEXT = re.compile(
    rb"\b(os\.system|os\.popen|os\.exec\w*|subprocess|pty\.spawn|exec\s*\(|eval\s*\(|"
    rb"compile\s*\(|__import__|importlib|marshal\.loads|pickle\.loads|ctypes|cffi|socket|"
    rb"urlopen|requests\.\w+|b64decode|zlib\.decompress|__builtins__|getattr\s*\()")
"""What a file too large to parse is searched for, as text, so the limit finding says."""
SINK_EXEC = frozenset({"builtins.exec", "builtins.eval", "builtins.compile"})
SINK_PICKLE = frozenset({"pickle.loads", "_pickle.loads", "cPickle.loads", "dill.loads",
                         "cloudpickle.loads", "joblib.load", "torch.load", "pickle.load",
                         "numpy.load", "pickle.Unpickler", "_pickle.Unpickler"})
"""Sinks that deserialise their argument: a literal payload is handed to the pickle scanner."""
OPEN_WRITE_FLAGS = frozenset({"O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND"})


def listed(name: str) -> bool:
    """Named one by one in the capability table (``ctypes.CDLL``), not by prefix."""
    return name in _EXACT


_INERT = frozenset({"subprocess.list2cmdline", "subprocess.PIPE", "subprocess.STDOUT",
                    "subprocess.DEVNULL", "shlex.quote", "shlex.split", "shlex.join"})
"""Names under a dangerous module that only build strings or constants: no capability."""


def classify(name: str) -> Rule | None:
    found = _EXACT.get(name)
    if found is not None:
        return found
    last = name.rsplit(".", 1)[-1]
    if last.endswith(("Error", "Exception", "Warning")) or ".exceptions." in name \
            or name in _INERT:
        return None
    for prefix, r in _PREFIXES:
        if name.startswith(prefix):
            return r
    return None
