"""The Keras rules (MT-KRS-*) and the reporter a config walk raises them through.

Declared apart from the checks so that the config walk, the Lambda decoding and the HDF5
scanner share one declaration of each rule, and so that a finding seen twice in one
config (the same rule, path and evidence) is reported once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from modeltrust._scanners.interface import ScanContext
from modeltrust._source.interface import Artifact
from modeltrust.findings import Location, Rule, Severity
from modeltrust.rules import finding, rule

_LOAD_FIX = "Do not load the model; rebuild it from code you trust and re-save it without it."
LAMBDA_BYTECODE = rule(
    "MT-KRS-001", "Keras config carries marshalled Python bytecode (Lambda layer)",
    Severity.CRITICAL,
    """
    A ``Lambda`` layer (or another config field) holds a base64 ``marshal`` dump of a Python
    code object. Keras turns it back into a function and calls it while building the model,
    so whatever the code does runs on load (CVE-2024-3660; legacy ``.h5`` files ignore
    ``safe_mode``, CVE-2025-9905). The evidence lists the code's names and constants, read
    without unmarshalling it.
    """,
    fix=_LOAD_FIX, cwe=94, references=("CVE-2024-3660", "CVE-2025-9905"),
)
LAMBDA_SOURCE = rule(
    "MT-KRS-002", "Keras Lambda layer with Python source or unreadable function", Severity.HIGH,
    """
    The ``Lambda`` layer's function is Python source text (``function_type: raw``) or a value
    that cannot be read as bytecode. Loaders that accept it evaluate it. Critical when the
    code uses names such as ``eval``, ``exec``, ``os`` or ``__import__``.
    """,
    fix=_LOAD_FIX, cwe=94, references=("CVE-2024-3660",),
)
LAMBDA_NAMED = rule(
    "MT-KRS-003", "Keras Lambda layer calls a named function", Severity.MEDIUM,
    """
    The ``Lambda`` layer refers to a function by name (``function_type: function`` or a
    serialised function object). The function comes from the loading environment, so the
    model only works with custom code, and the name decides what runs.
    """,
    fix="Check that the named function is one you provide and trust.", cwe=470,
)
FOREIGN_MODULE = rule(
    "MT-KRS-004", "Keras config instantiates an object from outside Keras", Severity.HIGH,
    """
    A ``module``/``registered_name`` in the config names a namespace other than Keras'
    own (``keras``, ``keras_hub``, ``keras_nlp``, ``keras_cv``, ``tf_keras``,
    ``tensorflow.keras``). Keras imports the module and calls the named class or function,
    also when it is nested in an initializer, regularizer, constraint, activation, loss,
    metric or optimizer (CVE-2025-1550). Critical when the module is one that runs commands,
    evaluates code or touches files (``os``, ``subprocess``, ``builtins`` ...).
    """,
    fix="Load only with the custom objects you expect; remove unknown ones.", cwe=470,
    references=("CVE-2025-1550",),
)
GADGET = rule(
    "MT-KRS-005", "Keras config uses a Keras object with dangerous side effects", Severity.HIGH,
    """
    The config references an object inside Keras that is known to be abusable at load
    time: ``get_file`` downloads and extracts files (CVE-2025-8747, CVE-2025-12060),
    ``enable_unsafe_deserialization``, ``set_global_attribute`` or a nested
    ``safe_mode=False`` switch safe mode off for what follows (CVE-2025-9906),
    ``TorchModuleWrapper`` unpickles a torch module (CVE-2025-49655), ``TFSMLayer`` loads an
    external SavedModel (CVE-2026-1462), model loaders load other files, ``func_load`` turns
    bytecode into a function, and ``TFOpLambda`` layers call TensorFlow file or Python ops.
    Any other function from Keras' file, saving or global-state modules, or from outside
    the activation/loss/metric namespaces, is reported too (deny by default).
    """,
    fix=_LOAD_FIX, cwe=502,
    references=("CVE-2025-8747", "CVE-2025-9906", "CVE-2025-49655", "CVE-2025-12060",
                "CVE-2026-1462"),
)
EXTERNAL_PATH = rule(
    "MT-KRS-006", "Keras config points at a local file or URL", Severity.HIGH,
    """
    A file-like config value (``vocabulary``, ``filepath``, ``origin``, ``fname``,
    ``cache_dir`` ...) is an absolute path, a ``..`` path, a home-relative path or a URL.
    Keras reads it while loading, even in safe mode: ``StringLookup``/``IndexLookup``
    vocabularies read local files or fetch URLs (CVE-2025-12058, file disclosure and SSRF).
    A URL elsewhere in the config is reported at medium.
    """,
    fix="Ship vocabularies and assets inside the model file; never load configs that name "
        "files outside it.",
    cwe=73, references=("CVE-2025-12058",),
)
MALFORMED = rule(
    "MT-KRS-007", "Keras config is malformed", Severity.MEDIUM,
    """
    The Keras config is not valid JSON or not shaped like a Keras config, so what Keras
    would build from it cannot be vouched for.
    """,
    fix="Re-save the model with Keras.",
)
LIMIT = rule(
    "MT-KRS-008", "Keras config analysis stopped at a limit", Severity.MEDIUM,
    """
    The config is nested deeper or has more values than the scanner examines; the rest was
    not checked. Oversized configs are also used to exhaust scanners.
    """,
    fix="Inspect the config by hand.", cwe=400,
)
EMBEDDED_BLOB = rule(
    "MT-KRS-009", "Keras config embeds a serialized blob", Severity.HIGH,
    """
    A config string decodes (base64) to a pickle or a zip archive, which some Keras objects
    hand to ``torch.load``/``pickle`` while loading. The blob is scanned as a file of its own.
    """,
    fix=_LOAD_FIX, cwe=502, references=("CVE-2025-49655",),
)

RULES = (LAMBDA_BYTECODE, LAMBDA_SOURCE, LAMBDA_NAMED, FOREIGN_MODULE, GADGET, EXTERNAL_PATH,
         MALFORMED, LIMIT, EMBEDDED_BLOB)
"""Every Keras rule, in id order, for the scanner's ``rules``."""


@dataclass
class Walk:
    """State of one config walk: where the config came from, counts, findings already made."""

    artifact: Artifact
    ctx: ScanContext
    where: str
    nodes: int = 0
    stopped: bool = False
    reported: set[str] = field(default_factory=set)

    def loc(self, path: str) -> Location:
        """The config's origin followed by the JSON path of a value."""
        return Location(detail=f"{self.where}: {path or '$'}")

    def report(self, r: Rule, path: str, evidence: str, sev: Severity | None = None) -> None:
        """Report ``r`` at ``path`` unless the same finding was already made in this walk."""
        key = f"{r.id}|{path}|{evidence}"
        if key in self.reported:
            return
        self.reported.add(key)
        self.ctx.report(finding(r, self.artifact.path, evidence, self.loc(path), severity=sev))
