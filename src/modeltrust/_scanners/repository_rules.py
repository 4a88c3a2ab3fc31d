"""The repository rules (MT-REPO-*), declared once for every check of the repository pass.

The pass (:mod:`.repository`) and the checks it calls (:mod:`.repository_remote`, and on
need :mod:`.repository_diffusers` and :mod:`.repository_pth`) raise them, so they are
declared below all of those and no import runs back up to the pass.
"""

from __future__ import annotations

from modeltrust.findings import Severity
from modeltrust.rules import rule

_REMOTE_FIX = "Load without trust_remote_code=True, or review the named Python first."
MISSING_MODULE = rule(
    "MT-REPO-001", "Remote code requested but the module is missing", Severity.MEDIUM,
    """
    ``auto_map`` names a Python module that is not in the folder. With
    ``trust_remote_code=True`` a loader fetches it from the hub at load time, so the code
    that runs was never scanned (and can change after the scan).
    """,
    fix="Add the module to the folder and scan again, or load without trust_remote_code.",
    cwe=494,
)
OTHER_REPO = rule(
    "MT-REPO-002", "Loading this model executes code from another repository", Severity.HIGH,
    """
    ``auto_map`` points into another repository (``org/repo--module.Class``). Loading the
    model with ``trust_remote_code=True`` downloads that repository's Python and runs it:
    code that is not part of this model, was not scanned, and whose owner can change it at
    any time.
    """,
    fix=_REMOTE_FIX, cwe=829,
)
REMOTE_CODE = rule(
    "MT-REPO-003", "Model requires trust_remote_code", Severity.INFO,
    """
    ``auto_map`` maps model classes to Python modules shipped in the folder: loading the model
    runs them. So does a diffusers ``model_index.json`` custom pipeline or component module
    (from a local folder diffusers runs them without asking for ``trust_remote_code``).
    Their own findings (MT-CODE-*) say what they do.
    """,
    fix=_REMOTE_FIX,
)
NOT_SCANNED = rule(
    "MT-REPO-004", "Remote-code module was not analysed", Severity.MEDIUM,
    """
    ``auto_map`` (or a diffusers ``model_index.json``) names a module that is in the folder
    but was excluded from the scan or not analysed (too large, unreadable): the code a
    loader would run was not examined.
    """,
    fix="Scan again without excluding the module.",
)
BAD_REFERENCE = rule(
    "MT-REPO-005", "Malformed auto_map reference", Severity.MEDIUM,
    """
    An ``auto_map`` value is not a ``module.Class`` (or ``org/repo--module.Class``) reference:
    path separators, ``..`` or other characters a loader turns into a file path. Also a
    diffusers ``model_index.json`` name with such characters that leads to a Python file of
    the folder other than the one it appears to name: diffusers runs that file.
    """,
    fix="Correct the reference; treat the model as untrusted until then.", cwe=22,
)
PICKLE_BESIDE = rule(
    "MT-REPO-010", "Pickle weights beside safetensors of the same name", Severity.MEDIUM,
    """
    The folder has a pickle-based weight file (``.bin``, ``.pt``, ``.ckpt``...) and a
    safetensors file of the same name. Which one a loader takes depends on its version and
    options (``use_safetensors``), so the unsafe file may be loaded even though a safe one
    exists, and a payload can hide in the copy nobody expects to be used.
    """,
    fix="Delete the pickle copy (keep safetensors), or load with use_safetensors=True.",
    cwe=502,
)
MISMATCH = rule(
    "MT-REPO-011", "File content does not match its extension", Severity.MEDIUM,
    """
    The bytes are a different format than the extension says: a ``.safetensors`` or
    ``.json`` that is a pickle or zip, a ``.npy`` that is a pickle, a binary ``.json``...
    Tools that trust the extension handle the file unsafely or skip it. High when a
    code-carrying format (pickle, zip) hides behind a data extension.
    """,
    fix="Remove the file or give it its real extension; treat the model as untrusted.",
    cwe=434,
)
EXECUTABLE = rule(
    "MT-REPO-012", "Executable file in the model repository", Severity.HIGH,
    """
    A native executable (ELF, PE, Mach-O: high), a script (``#!`` line or shell/batch
    extension: medium) or another file with an execute permission bit (low). Model weights
    never need them; setup instructions that run them execute code outside any review.
    """,
    fix="Remove executables from the model repository.", cwe=506,
)
CONFIG_UNREAD = rule(
    "MT-REPO-013", "Config file not read for remote-code references", Severity.LOW,
    """
    A Hugging Face config file was too large or unreadable, so its ``auto_map`` (the Python a
    loader would run) was not checked.
    """,
    fix="Check the file by hand.",
)
SHADOWS = rule(
    "MT-REPO-014", "Python file shadows a module that Python or a loader imports",
    Severity.MEDIUM,
    """
    A ``.py`` file (or package) is named like a standard-library module (``os.py``,
    ``typing.py``, ``json/``). Any script run from the folder, or any process with the folder
    on ``sys.path``, imports it instead of the real module, so the code runs as soon as
    anything imports that name. High for ``sitecustomize``/``usercustomize``, which Python
    imports by itself at start-up.

    Also a diffusers component file ``<component>/<library>.py`` where ``model_index.json``
    takes that component from an installed library (``unet/diffusers.py`` beside
    ``"unet": ["diffusers", "UNet2DConditionModel"]``): diffusers imports the repository
    file instead of the library, without asking for ``trust_remote_code`` (high). Medium
    when the library is a diffusers pipeline module, which only diffusers versions that
    lack that module replace with the file.
    """,
    fix="Rename or remove the file; treat the model as untrusted until it is reviewed.",
    cwe=427,
)
PTH_HOOK = rule(
    "MT-REPO-015", "Text .pth file: a Python start-up hook", Severity.HIGH,
    """
    PyTorch checkpoints named ``.pth`` are binary; a *text* ``.pth`` is a path-configuration
    file of Python's ``site`` module. When its folder is a site directory (a virtual
    environment's ``site-packages``, a vendored or installed copy of the repository),
    every Python process runs each line that starts with ``import`` at start-up (high) and
    adds each other line to ``sys.path`` (medium), so modules of that folder shadow real
    ones. Model weights never need either.
    """,
    fix="Remove the .pth file; treat the model as untrusted until it is reviewed.",
    cwe=427,
)
RULES = (MISSING_MODULE, OTHER_REPO, REMOTE_CODE, NOT_SCANNED, BAD_REFERENCE, PICKLE_BESIDE,
         MISMATCH, EXECUTABLE, CONFIG_UNREAD, SHADOWS, PTH_HOOK)

PICKLE_FORMATS = frozenset({"pickle", "pytorch-zip", "pytorch-legacy", "pytorch-legacy-tar",
                            "joblib", "torchscript"})
"""Pickle-based formats: the "pickle weights" of MT-REPO-010, and the binary ``.pth``
checkpoints MT-REPO-015 leaves alone."""
