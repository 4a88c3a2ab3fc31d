"""Model configuration files (JSON, YAML): chat templates, remote code, Keras model configs.

A model's JSON and YAML files decide what code a loader runs: ``auto_map`` entries make
``transformers`` import Python from the repository (or from *another* repository, with
``org/repo--module.Class``) under ``trust_remote_code``, so do diffusers' ``model_index.json``
custom components and ModelScope's ``allow_remote``; chat templates are rendered on every
request, and a Keras ``config.json`` names the classes to rebuild. Files are parsed with
``json.loads`` (any encoding it takes, duplicate keys noticed) and ``yaml.safe_load`` only,
within size, depth and node bounds; nothing they name is imported.

This module is the scanner and the generic walk; ``config_parse`` turns bytes into
documents, ``config_hubs`` knows what diffusers and ModelScope files make a loader run, and
``config_rules`` declares the rules.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

from modeltrust._inventory.formats import Format
from modeltrust._report.model import Coverage
from modeltrust._scanners import common
from modeltrust._scanners.config_parse import (
    dump,
    load_json,
    load_yaml,
    python_tags,
    starts_like_pickle,
)
from modeltrust._scanners.config_rules import (
    BAD_CONFIG,
    BAD_REFERENCE,
    DUPLICATE_KEYS,
    LOCAL_CODE,
    NO_YAML,
    REMOTE_CODE,
    RULES,
    TOO_COMPLEX,
    TRUST_FLAG,
)
from modeltrust._scanners.interface import Result, ScanContext, Scanner
from modeltrust._source.interface import MEMBER_SEP, Artifact, Buffer
from modeltrust.findings import Location, Severity
from modeltrust.rules import finding

MAX_JSON_BYTES = 64 * 1024 * 1024
MAX_YAML_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 100
MAX_NODES = 2_000_000
MAX_TEMPLATES = 64
MAX_INLINE = 256
HF_CONFIG_NAMES = frozenset({
    "config.json", "tokenizer_config.json", "processor_config.json",
    "preprocessor_config.json", "generation_config.json", "chat_template.json",
    "adapter_config.json", "special_tokens_map.json", "model_index.json",
    "video_preprocessor_config.json", "feature_extractor_config.json",
    "sentence_bert_config.json", "config_sentence_transformers.json", "modules.json",
    "configuration.json",
})
_SENSITIVE = ("template", "auto_map", "trust_remote_code", "custom_pipelines", "_class",
              "allow_remote", "plugins", "custom_pipeline")
_CLASS_KEYS = ("tokenizer_class", "processor_class", "image_processor_type",
               "feature_extractor_type")
_JINJA = re.compile(r"\{\{|\{%")
_MODULE = re.compile(r"^[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*$")
_KERAS_KEYS = ("module", "registered_name", "keras_version", "backend")

TRUST_KEYS = frozenset({"trust_remote_code", "allow_remote"})
"""Switches that make a loader run the model's own Python (``allow_remote``: ModelScope)."""


class ConfigScanner(Scanner):
    """JSON and YAML files: chat templates, remote-code references, Keras configs."""

    name = "config"
    formats = frozenset({Format.JSON, Format.YAML})
    rules = RULES

    def scan(self, artifact: Artifact, data: Buffer, fmt: Format, ctx: ScanContext) -> Result:
        """Parse within bounds, then dispatch on what the document is."""
        name = _basename(artifact.path)
        is_yaml = fmt is Format.YAML
        limit = MAX_YAML_BYTES if is_yaml else MAX_JSON_BYTES
        if len(data) > limit:
            ctx.report(finding(TOO_COMPLEX, artifact.path,
                               f"{len(data)} bytes exceeds the {limit}-byte limit for "
                               f"{fmt.value} configs", Location(offset=0)))
            return Result.not_analysed("config file too large", format=fmt)
        if is_yaml:
            python_tags(data, artifact.path, ctx)
        if starts_like_pickle(data):
            # Text wins over pickle for config names, but a protocol-0 pickle is text too:
            # hand the bytes to the pickle scanner as well, in case a loader unpickles them.
            ctx.scan_child(artifact.child("@pickle", bytes(data[: ctx.limits.max_member_size])))
        parsed = load_yaml(data) if is_yaml else load_json(data)
        if isinstance(parsed, str):
            if parsed == "pyyaml missing":
                ctx.report(finding(NO_YAML, artifact.path, "PyYAML is not installed"))
                return Result.not_analysed("install modeltrust[formats] to read YAML",
                                           format=fmt)
            sev = None if name in HF_CONFIG_NAMES else Severity.LOW
            ctx.report(finding(BAD_CONFIG, artifact.path, parsed, Location(offset=0),
                               severity=sev))
            if _keras_member(artifact.path) in ("config.json", "metadata.json"):
                from modeltrust._scanners.keras_rules import MALFORMED

                ctx.report(finding(MALFORMED, artifact.path, f"{name} of a .keras archive "
                                   f"does not parse ({parsed}): Keras cannot read it",
                                   Location(detail=name)))
            return Result.partial(f"{fmt.value} does not parse: {parsed}", format=fmt)
        obj, duplicates, shadowed = parsed
        _report_duplicates(duplicates, artifact.path, ctx)
        return _Dispatch(artifact, name, fmt, ctx).run(obj, shadowed)


def _basename(path: str) -> str:
    return path.rsplit(MEMBER_SEP, 1)[-1].replace("\\", "/").rsplit("/", 1)[-1]


def _keras_member(path: str) -> str:
    """The member name when ``path`` is a top-level member of a ``.keras`` archive, else ""."""
    outer, sep, member = path.rpartition(MEMBER_SEP)
    return member if sep and outer.endswith(".keras") and "/" not in member else ""


def _report_duplicates(keys: list[str], path: str, ctx: ScanContext) -> None:
    for key in sorted(set(keys))[:20]:
        sensitive = any(s in key for s in _SENSITIVE)
        ctx.report(finding(DUPLICATE_KEYS, path,
                           f'duplicate key "{key}" (Python keeps the last value, other '
                           'parsers the first)', Location(detail=f"key {key}"),
                           severity=Severity.MEDIUM if sensitive else None))


def _switched_on(value: object) -> bool:
    """A scalar a loader's ``if config.get(key):`` takes as on (``true``, ``1``, ``"yes"``)."""
    return not isinstance(value, dict | list) and bool(value)


def _walk(obj: object) -> Iterator[tuple[tuple[str, ...], object, int]]:
    """Containers and the leaves that matter (Jinja-like strings, ``trust_remote_code``).

    Iterative, with shared YAML nodes visited once; other leaves are skipped without
    building their key paths, so a 30 MB ``tokenizer.json`` takes seconds, not minutes.
    """
    stack: list[tuple[tuple[str, ...], object, int]] = [((), obj, 0)]
    seen: set[int] = set()
    while stack:
        path, value, depth = stack.pop()
        yield path, value, depth
        if depth >= MAX_DEPTH or id(value) in seen or not isinstance(value, dict | list):
            continue
        seen.add(id(value))
        is_dict = isinstance(value, dict)
        pairs: Any = value.items() if isinstance(value, dict) else enumerate(value)
        children: list[tuple[tuple[str, ...], object, int]] = []
        for k, v in pairs:
            if is_dict and k in TRUST_KEYS and _switched_on(v):
                pass
            elif isinstance(v, str):
                if "{" not in v or not _JINJA.search(v):
                    continue
            elif not isinstance(v, dict | list):
                continue
            children.append((path + (str(k) if is_dict else f"[{k}]",), v, depth + 1))
        children.reverse()
        stack.extend(children)


class _Dispatch:
    """What one parsed document holds, and the checks that apply to it."""

    def __init__(self, artifact: Artifact, name: str, fmt: Format, ctx: ScanContext) -> None:
        self.artifact, self.name, self.fmt, self.ctx = artifact, name, fmt, ctx
        self.files: set[str] = set()
        self.remote: set[str] = set()
        self.children: set[str] = set()
        self.handed: set[tuple[str, ...]] = set()
        self.templates = 0
        self.problem = ""

    def run(self, obj: object, shadowed: list[object] | None = None) -> Result:
        kind = "document"
        if self._is_keras(obj):
            self._keras(obj, shadowed or [])
            kind = "Keras model config"
        elif isinstance(obj, dict):
            kind = "Hugging Face config" if self.name in HF_CONFIG_NAMES else "mapping"
            self._chat_templates(obj.get("chat_template"))
            self._references(obj)
            if self.name == "model_index.json":
                self._diffusers(obj)
        self._scan_tree(obj)
        props: list[tuple[str, str]] = []
        if self.files:
            props.append(("config.auto_map.files", ",".join(sorted(self.files))))
        if self.remote:
            props.append(("config.auto_map.remote", ",".join(sorted(self.remote))))
        detail = f"{self.fmt.value} {kind}" + (
            f", {self.templates} template(s)" if self.templates else "")
        if self.problem:
            return Result(Coverage.PARTIAL, self.problem, detail, self.fmt, tuple(props))
        return Result(detail=detail, format=self.fmt, properties=tuple(props))

    def _is_keras(self, obj: object) -> bool:
        if _keras_member(self.artifact.path) == "config.json":
            return True  # whatever it holds, Keras deserializes it
        if not isinstance(obj, dict):
            return False
        looks = isinstance(obj.get("class_name"), str) and isinstance(obj.get("config"), dict)
        return looks and (any(k in obj for k in _KERAS_KEYS)
                          or obj["class_name"] in ("Sequential", "Functional", "Model"))

    def _keras(self, obj: object, shadowed: list[object]) -> None:
        """The Keras checks, on the document and on values duplicate keys hid."""
        from modeltrust._scanners.keras import check_keras_config
        from modeltrust._scanners.keras_rules import MALFORMED

        if isinstance(obj, list):  # Keras deserializes each element, then fails
            self.ctx.report(finding(MALFORMED, self.artifact.path, f"{self.name} is a list of "
                                    f"{len(obj)} values, not an object: Keras still builds "
                                    "each element", Location(detail=self.name)))
        check_keras_config(obj, self.artifact, self.ctx, where=self.name)
        for value in shadowed[:20]:
            if isinstance(value, dict | list):
                check_keras_config(value, self.artifact, self.ctx, f"{self.name} (shadowed)")

    def _chat_templates(self, value: object) -> None:
        """``chat_template``: a string, a list of ``{name, template}`` or a ``{name: template}``.

        transformers turns the list into the mapping and accepts the mapping as it is.
        """
        if isinstance(value, str):
            self._hand_template(("chat_template",), value)
        elif isinstance(value, list):
            for i, item in enumerate(value[:MAX_TEMPLATES]):
                if isinstance(item, dict) and isinstance(item.get("template"), str):
                    name = item.get("name")
                    label = name if isinstance(name, str) else str(i)
                    self._hand_template(("chat_template", label), item["template"],
                                        ("chat_template", f"[{i}]", "template"))
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, str):
                    self._hand_template(("chat_template", str(key)), item)

    def _hand_template(self, label: tuple[str, ...], source: str,
                       path: tuple[str, ...] | None = None) -> None:
        """Give the template its own file entry (``config.json!chat_template.jinja``).

        ``path`` (default ``label``) is where the walk finds it: that string is not
        analysed a second time in place.
        """
        if not source.strip():
            self.handed.add(path or label)
            return
        if self.templates >= MAX_TEMPLATES:
            self.problem = f"more than {MAX_TEMPLATES} templates: the rest not analysed"
            return
        self.handed.add(path or label)
        base = ".".join(re.sub(r"[^\w-]", "_", part) for part in label)[:100] or "template"
        name, n = f"{base}.jinja", 2
        while name in self.children:
            name, n = f"{base}.{n}.jinja", n + 1
        self.children.add(name)
        self.templates += 1
        data = source.encode("utf-8", "replace")
        if not self.ctx.budget.take(len(data)):
            self.problem = "expansion budget exhausted: templates not analysed"
            return
        self.ctx.scan_child(self.artifact.child(name, data))

    def _references(self, obj: dict[str, Any]) -> None:
        """``auto_map``, ``custom_pipelines`` and ``*_class`` references to Python code."""
        auto_map = obj.get("auto_map")
        if isinstance(auto_map, dict):
            for key in sorted(auto_map, key=str):
                value = auto_map[key]
                refs = value if isinstance(value, list) else [value]
                for ref in refs:
                    if isinstance(ref, str):
                        self._reference(f"auto_map.{key}", ref)
        pipelines = obj.get("custom_pipelines")
        if isinstance(pipelines, dict):
            for task in sorted(pipelines, key=str):
                spec = pipelines[task]
                if isinstance(spec, dict) and isinstance(spec.get("impl"), str):
                    self._reference(f"custom_pipelines.{task}.impl", spec["impl"])
        for key in _CLASS_KEYS:
            value = obj.get(key)
            if isinstance(value, str) and "--" in value:
                self._reference(key, value)
        if self.name == "configuration.json" and obj.get("plugins"):
            from modeltrust._scanners.config_hubs import check_plugins  # ModelScope only

            check_plugins(self.name, obj, self.artifact.path, self.ctx)

    def _reference(self, where: str, ref: str) -> None:
        path = self.artifact.path
        loc = Location(detail=f"key {where}")
        if "--" in ref:
            repo, _, local = ref.partition("--")
            self.remote.add(repo)
            self.ctx.report(finding(REMOTE_CODE, path, f'{where} = "{ref}": imports {local} '
                                    f"from repository {repo}", loc))
            return
        module, _, cls = ref.rpartition(".")
        if not module or not cls or not _MODULE.match(ref):
            self.ctx.report(finding(BAD_REFERENCE, path, f'{where} = "{ref}"', loc))
            return
        file = module.replace(".", "/") + ".py"
        self.files.add(file)
        self.ctx.report(finding(LOCAL_CODE, path, f'{where} = "{ref}": runs {file} under '
                                "trust_remote_code", loc))

    def _diffusers(self, obj: dict[str, Any]) -> None:
        """``model_index.json``: custom pipeline and components (see ``config_hubs``)."""
        from modeltrust._scanners.config_hubs import ModelIndexCheck  # diffusers only

        check = ModelIndexCheck(self.artifact.path, self.ctx, self._reference)
        check.run(obj)
        self.files |= check.files
        self.remote |= check.remote

    def _scan_tree(self, obj: object) -> None:
        """Templates under other keys, Jinja-like strings, ``trust_remote_code: true``."""
        inline = 0
        for count, (path, value, depth) in enumerate(_walk(obj)):
            if count % 65536 == 0 and self._out_of_time(count):
                return
            if count >= MAX_NODES or depth >= MAX_DEPTH:
                why = "nodes" if count >= MAX_NODES else "nesting levels"
                self.ctx.report(finding(TOO_COMPLEX, self.artifact.path, f"more than "
                                        f"{MAX_NODES if count >= MAX_NODES else MAX_DEPTH} "
                                        f"{why}: the rest was not analysed",
                                        Location(detail="key " + ".".join(path[:8]))))
                self.problem = f"config {why} limit reached"
                return
            key = path[-1] if path else ""
            if key in TRUST_KEYS and _switched_on(value):
                self._trust_flag(path, value)
            if not isinstance(value, str) or not path or path in self.handed \
                    or not _JINJA.search(value):
                continue
            if "template" in key.lower():
                self._hand_template(path, value)
            elif inline < MAX_INLINE:
                inline += 1
                self._inline(".".join(path), value)

    def _trust_flag(self, path: tuple[str, ...], value: object) -> None:
        where = ".".join(path)
        why = " (ModelScope imports the Python in the model folder)" \
            if path[-1] == "allow_remote" else ""
        self.ctx.report(finding(TRUST_FLAG, self.artifact.path,
                                f"{where}: {dump(value, 100)}{why}",
                                Location(detail=f"key {where}")))

    def _out_of_time(self, count: int) -> bool:
        if time.monotonic() - self.ctx.started <= self.ctx.limits.max_seconds:
            return False
        self.ctx.report(finding(common.TIME_LIMIT, self.artifact.path,
                                f"config analysis stopped after {count} values"))
        self.problem = "time limit reached"
        return True

    def _inline(self, where: str, value: str) -> None:
        from modeltrust._scanners.template import analyse_template

        analyse_template(value, self.artifact.path, self.ctx, f"key {where}",
                         report_syntax=False)
