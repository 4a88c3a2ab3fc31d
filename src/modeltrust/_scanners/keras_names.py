"""Which names a Keras config may use: Keras' own namespaces and the catalogue of dangers.

Kept apart from the walk so the lists can be reviewed (and extended) as data. Grading is
deny by default: a module outside :data:`KERAS_ROOTS` is foreign whatever it names, and
inside Keras the gadgets, side-effect modules and dangerous callables below are graded by
what they reach (downloads, files, safe mode, unpickling, the interpreter).
"""

from __future__ import annotations

from modeltrust.findings import Severity

KERAS_ROOTS = frozenset({"keras", "keras_core", "keras_nlp", "keras_hub", "keras_cv",
                         "tf_keras", "keras_rs", "keras_tuner"})
"""First components of Keras' own namespaces and of the Keras-team libraries."""
DANGEROUS_MODULES = frozenset({
    "os", "posix", "nt", "subprocess", "builtins", "__builtin__", "sys", "shutil", "socket",
    "pty", "runpy", "importlib", "code", "codeop", "ctypes", "pickle", "_pickle", "marshal",
    "shelve", "webbrowser", "urllib", "urllib2", "http", "ftplib", "telnetlib", "smtplib",
    "pathlib", "io", "_io", "platform", "multiprocessing", "asyncio", "pdb", "timeit",
    "cProfile", "profile", "trace", "functools", "operator", "types", "tempfile", "glob",
    "zipfile", "tarfile", "commands", "popen2", "signal", "requests", "dill", "joblib",
    "cloudpickle", "torch", "numpy", "pip", "setuptools", "distutils", "inspect",
})
"""Top-level modules whose objects run commands, evaluate code, unpickle or touch files."""
_H, _C, _M = Severity.HIGH, Severity.CRITICAL, Severity.MEDIUM
GADGETS: dict[str, tuple[Severity, str]] = {
    "get_file": (_H, "downloads (and may extract) a file: CVE-2025-8747, CVE-2025-12060"),
    "enable_unsafe_deserialization": (_C, "turns safe_mode off for the rest of the load: "
                                      "CVE-2025-9906"),
    "set_global_attribute": (_C, "rewrites Keras global state such as safe_mode_saving: "
                             "CVE-2025-9906"),
    "SafeModeScope": (_C, "a scope that can switch safe_mode off"),
    "func_load": (_C, "turns marshalled bytecode into a function"),
    "TorchModuleWrapper": (_C, "unpickles a torch module with torch.load: CVE-2025-49655"),
    "TFSMLayer": (_H, "loads an external TensorFlow SavedModel: CVE-2026-1462"),
    "load_model": (_H, "loads another model file"),
    "load_weights": (_H, "loads weights from another file"),
    "load_serialized_object": (_H, "loads another serialized object from a preset"),
    "deserialize_keras_object": (_H, "builds any object named by a config it is given"),
    "extract_archive": (_H, "extracts an archive onto the file system: CVE-2025-12060"),
    "extract_open_archive": (_H, "extracts an archive onto the file system: CVE-2025-12060"),
    "rmtree": (_H, "deletes a directory tree"),
    "save_model": (_H, "writes a model file"),
    "save_weights": (_H, "writes a weights file"),
    "save_img": (_H, "writes an image file"),
    "plot_model": (_H, "writes a file and runs the graphviz executable"),
    "load_img": (_M, "reads a local file"),
    "image_dataset_from_directory": (_M, "lists and reads a local directory"),
    "text_dataset_from_directory": (_M, "lists and reads a local directory"),
    "audio_dataset_from_directory": (_M, "lists and reads a local directory"),
    "set_random_seed": (_M, "changes global interpreter state"),
}
"""Keras objects (by last name component) abusable at load time: severity and why."""
GADGET_MODULES: dict[str, str] = {
    "file_utils": "Keras file utilities (download, extract, copy, delete)",
    "io_utils": "Keras I/O utilities", "global_state": "Keras global state (safe mode)",
    "python_utils": "Keras bytecode helpers", "serialization_lib": "the Keras deserializer",
    "saving_lib": "the Keras model loader", "saving_api": "the Keras model loader",
    "legacy_h5_format": "the legacy model loader", "module_utils": "lazy module imports",
    "tfsm_layer": "SavedModel loading", "preset_utils": "preset downloads and loading",
}
"""Keras-internal modules (any dotted component) whose functions have side effects."""
DANGER_PARTS = frozenset({"io", "gfile", "io_ops", "gen_io_ops", "script_ops", "file_io",
                          "load_library", "raw_ops", "saved_model", "summary", "lookup"})
"""Module components (TensorFlow's mostly) whose ops read, write or run Python."""
DANGER_CALLS = frozenset({
    "system", "popen", "Popen", "exec", "eval", "compile", "open", "run", "spawn",
    "__import__", "import_module", "getattr", "loads", "load", "write_file", "read_file",
    "matching_files", "GFile", "py_function", "numpy_function", "py_func", "eager_py_func",
    "load_library", "load_op_library", "rmtree", "remove", "unlink", "urlopen",
    "WriteFile", "ReadFile", "MatchingFiles", "PyFunc", "EagerPyFunc", "PrintV2", "Save",
    "SaveV2", "RestoreV2", "TextFileInitializer", "check_output", "check_call", "call",
})
"""Callables that touch files, processes, the interpreter or the network, in any module."""
TF_SAFE_NS = frozenset({"math", "nn", "linalg", "__operators__", "image", "signal",
                        "random", "bitwise", "sparse", "ragged", "strings", "dtypes",
                        "experimental.numpy", "numpy", "keras"})
"""TensorFlow namespaces a ``TFOpLambda`` may call without a finding."""
FILE_KEYS = frozenset({"vocabulary", "filepath", "file_path", "path", "origin", "fname",
                       "cache_dir", "cache_subdir", "url", "filename", "directory",
                       "idf_weights", "saved_model_dir", "model_path", "weights_path",
                       "asset_path", "vocabulary_file", "merges", "proto", "spm_proto",
                       "log_dir", "logdir", "backup_dir", "export_dir", "data_dir",
                       "dirname", "file", "files", "preset", "root_path", "to_file"})
"""Config keys whose values Keras treats as files or URLs."""
SAFE_FN_PARENTS = ("activations", "losses", "metrics", "initializers", "regularizers",
                   "constraints", "ops", "random", "schedules", "optimizers", "layers",
                   "backend", "math", "nn", "numpy", "image", "utils.sequence")
"""Keras module suffixes whose functions are computations (not reported as outside them)."""


def is_keras_module(module: str) -> bool:
    """True when ``module`` is Keras' own namespace (or a Keras-team library)."""
    root = module.split(".", 1)[0]
    return root in KERAS_ROOTS or module == "tensorflow.keras" or module.startswith(
        ("tensorflow.keras.", "tensorflow.python.keras"))


def dangerous(module: str, targets: list[str]) -> bool:
    """True when the module, or a callable it is asked for, runs code or touches files."""
    parts = module.split(".")
    return parts[0] in DANGEROUS_MODULES or bool(DANGER_PARTS.intersection(parts)) or any(
        leaf(t) in DANGER_CALLS for t in targets)


def leaf(name: str) -> str:
    """Last component of a dotted or ``package>name`` registered name."""
    return name.rsplit(">", 1)[-1].rsplit(".", 1)[-1]
