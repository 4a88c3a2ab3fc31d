"""The rules the config scanner raises (``MT-CFG-*``), declared once for its modules.

Kept apart from the scanner so that the generic walk (``config.py``) and the hub-specific
knowledge (``config_hubs.py``) report the same rule objects without importing each other.
"""

from __future__ import annotations

from modeltrust.findings import Severity
from modeltrust.rules import rule

LOCAL_CODE = rule(
    "MT-CFG-001", "Config requires trust_remote_code (code in the repository)", Severity.INFO,
    """
    An ``auto_map`` (or ``custom_pipelines``) entry names a class in a Python file of the
    model repository. ``transformers`` imports that file when the model is loaded with
    ``trust_remote_code=True``; so does diffusers for a ``model_index.json`` custom pipeline
    (``_class_name: [module, Class]``) or component (``[module, Class]`` where the module is
    not a diffusers or transformers one: ``<component>/<module>.py``). The referenced files
    are recorded so the repository pass can check they exist; the code scanner analyses them.
    """,
    fix="Review the referenced Python files before passing trust_remote_code=True, and pin "
        "the revision you reviewed.",
    cwe=94,
)
REMOTE_CODE = rule(
    "MT-CFG-002", "Config loads code from another repository", Severity.HIGH,
    """
    A class reference of the form ``org/repo--module.Class`` (in ``auto_map``,
    ``custom_pipelines``, ``tokenizer_class`` or ``processor_class``) makes ``transformers``
    download and run Python from a different repository, which this scan did not see and
    whose owner can change it at any time. Also: a diffusers ``custom_pipeline`` naming a
    hub repository, and ModelScope ``plugins`` (packages it pip-installs and imports).
    """,
    fix="Do not load with trust_remote_code; vendor and review the code, or use a model "
        "whose code lives in its own repository at a pinned revision.",
    cwe=829,
)
TRUST_FLAG = rule(
    "MT-CFG-003", "Config turns on trust_remote_code", Severity.MEDIUM,
    """
    The configuration sets ``trust_remote_code: true`` (or ModelScope's ``allow_remote``, with
    which ModelScope imports the Python in the model folder), so tools that honour it import
    and run Python shipped with (or referenced by) the model without asking. Any value a
    loader's ``if config.get(key):`` takes as on counts, not only ``true``.
    """,
    fix="Remove the flag; let the user opt in explicitly after reviewing the code.",
    cwe=94,
)
DUPLICATE_KEYS = rule(
    "MT-CFG-004", "Config has duplicate keys", Severity.LOW,
    """
    A JSON object repeats a key. Python keeps the last value, other parsers the first, so a
    scanner and a loader can see different settings. Medium for keys that decide what runs
    (chat templates, auto_map, trust_remote_code).
    """,
    fix="Remove the duplicate keys.",
)
BAD_CONFIG = rule(
    "MT-CFG-005", "Config file does not parse", Severity.MEDIUM,
    """
    A file named like a configuration is not valid JSON/YAML (truncated, invalid syntax,
    bad encoding). Loaders reject it or read it differently; it was not analysed. Low for
    files that are not one of the well-known model configuration names.
    """,
    fix="Download the file again and compare its digest with the publisher's.",
)
TOO_COMPLEX = rule(
    "MT-CFG-006", "Config too large or too deeply nested to analyse", Severity.MEDIUM,
    """
    The file exceeds a size, nesting or node bound, so it was not (fully) analysed.
    Genuine model configs are small; oversized ones are built to exhaust scanners.
    """,
    fix="Inspect the file by hand; genuine configs are a few kilobytes.",
    cwe=400,
)
BAD_REFERENCE = rule(
    "MT-CFG-007", "Malformed code reference in config", Severity.MEDIUM,
    """
    An ``auto_map``-style class reference is not ``module.Class`` (path separators, ``..``,
    empty parts). Such names may point the loader at unexpected files.
    """,
    fix="Fix or remove the reference.",
    cwe=94,
)
NO_YAML = rule(
    "MT-CFG-008", "YAML not analysed: PyYAML is not installed", Severity.INFO,
    "YAML files are parsed with PyYAML, an optional dependency.",
    fix="pip install 'modeltrust[formats]'",
)
PYTHON_TAG = rule(
    "MT-CFG-009", "YAML uses Python object tags", Severity.HIGH,
    """
    The YAML contains ``!!python/...`` tags (``python/object/apply``, ``python/name``...).
    ``yaml.safe_load`` refuses them, but tools that still call ``yaml.load`` with the
    unsafe or full loader import and call whatever the tag names (CWE-502).
    """,
    fix="Remove the tags; configuration needs only plain YAML values.",
    cwe=502,
)

RULES = (LOCAL_CODE, REMOTE_CODE, TRUST_FLAG, DUPLICATE_KEYS, BAD_CONFIG, TOO_COMPLEX,
         BAD_REFERENCE, NO_YAML, PYTHON_TAG)
