"""What diffusers' ``model_index.json`` and ModelScope's ``configuration.json`` make a loader run.

Kept in one place so that the config scanner (which reports the references) and the
repository pass (which checks the files they name against the folder) agree on it.

How diffusers resolves ``model_index.json`` (read in its ``pipeline_loading_utils``:
``get_class_obj_and_candidates``, ``load_sub_model``, ``_get_custom_components_and_folders``,
``_resolve_custom_pipeline_and_cls``), in our words:

* A component ``name: [library, Class]`` is looked up in three steps. First, when
  ``library`` is an attribute of ``diffusers.pipelines`` (a pipeline submodule such as
  ``stable_diffusion``), the class comes from that submodule. Otherwise, when the model
  folder holds the file ``<name>/<library>.py``, diffusers imports that file as a dynamic
  module, whatever ``library`` says, ``diffusers`` and ``transformers`` included. Only
  then is ``library`` imported as an installed package. So a repository file named after an
  installed library (``unet/diffusers.py``) is run instead of the library, and a missing
  component module is never fetched: a local load imports the installed package of that
  name (or fails), and a hub download refuses a custom module the repository does not hold.
* ``trust_remote_code`` is checked only when diffusers downloads from the hub; loading a
  local folder runs these files without asking.
* ``_class_name: [module, Class]`` runs ``<module>.py`` beside ``model_index.json`` when
  that file exists.

ModelScope: ``allow_remote`` in ``configuration.json`` makes it import the Python in the
model folder, and ``plugins`` names packages it pip-installs and imports.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from modeltrust._scanners.config_parse import dump
from modeltrust._scanners.config_rules import BAD_REFERENCE, LOCAL_CODE, REMOTE_CODE
from modeltrust._scanners.interface import ScanContext
from modeltrust.findings import Location
from modeltrust.rules import finding

INSTALLED_LIBS = frozenset({"diffusers", "transformers", "onnxruntime.training"})
"""Installed libraries ``model_index.json`` components come from (a repo file shadows them)."""
PIPELINE_MODULES = frozenset({
    "allegro", "alt_diffusion", "amused", "animatediff", "audioldm", "audioldm2", "aura_flow",
    "blip_diffusion", "chroma", "cogvideo", "cogview3", "cogview4", "consisid",
    "consistency_models", "controlnet", "controlnet_hunyuandit", "controlnet_sd3",
    "controlnet_xs", "cosmos", "dance_diffusion", "ddim", "ddpm", "deepfloyd_if",
    "deprecated", "dit", "easyanimate", "flux", "hidream_image", "hunyuan_video",
    "hunyuandit", "i2vgen_xl", "kandinsky", "kandinsky2_2", "kandinsky3", "kolors",
    "latent_consistency_models", "latent_diffusion", "latte", "ledits_pp", "ltx", "lumina",
    "lumina2", "marigold", "mochi", "musicldm", "omnigen", "pag", "paint_by_example", "pia",
    "pixart_alpha", "qwenimage", "sana", "semantic_stable_diffusion", "shap_e",
    "spectrogram_diffusion", "stable_audio", "stable_cascade", "stable_diffusion",
    "stable_diffusion_3", "stable_diffusion_attend_and_excite", "stable_diffusion_diffedit",
    "stable_diffusion_gligen", "stable_diffusion_k_diffusion", "stable_diffusion_ldm3d",
    "stable_diffusion_panorama", "stable_diffusion_safe", "stable_diffusion_sag",
    "stable_diffusion_xl", "stable_video_diffusion", "t2i_adapter",
    "text_to_video_synthesis", "unclip", "unidiffuser", "versatile_diffusion",
    "vq_diffusion", "wan", "wuerstchen",
})
"""``diffusers.pipelines`` submodules: diffusers resolves these names before any repo file
(only in versions that have the submodule; older ones look for the repo file instead)."""
KNOWN_LIBS = INSTALLED_LIBS | PIPELINE_MODULES
"""``model_index.json`` libraries diffusers imports from itself or a well-known package."""
MAX_REFERENCES = 1000
IDENT = re.compile(r"^[A-Za-z_]\w*$")
HUB_REPO = re.compile(r"^[\w.-]+/[\w.-]+$")
_DRIVE = re.compile(r"^[A-Za-z]:")

SHADOWS_LIBRARY = "library"
SHADOWS_PIPELINE = "pipeline"


@dataclass(frozen=True)
class DiffusersRef:
    """One Python file ``model_index.json`` makes diffusers look for."""

    key: str
    """``_class_name``, ``custom_pipeline`` or the component name."""
    module: str
    """The module name as written."""
    parts: tuple[str, ...]
    """What diffusers joins onto the folder of ``model_index.json`` to find the file."""
    shadows: str = ""
    """``library``/``pipeline`` when a file there takes the place of an installed module."""

    @property
    def file(self) -> str:
        """The file as the names spell it."""
        return "/".join(self.parts)


@dataclass(frozen=True)
class DiffusersModule:
    """A module ``model_index.json`` names that is in the folder."""

    ref: DiffusersRef
    path: str
    """The file, relative to the scanned folder."""
    plain: bool
    """False when ``..``, separators or ``.`` parts in the names lead to it."""
    exact: bool
    """False when it matches only with case ignored (Windows and macOS still open it)."""

    def evidence(self, prefix: str) -> str:
        """Which entry names which file (``prefix``: the scanned folder as displayed)."""
        case = "" if self.exact else " (differs only in case: Windows and macOS open it)"
        return f'{self.ref.key} -> "{self.ref.module}": {prefix}{self.path}{case}'

    def shadowed(self) -> str:
        """What diffusers would have imported had the file not been there."""
        if self.ref.shadows == SHADOWS_LIBRARY:
            return f"the installed {self.ref.module!r} library"
        return f"diffusers.pipelines.{self.ref.module} (where that is missing)"


def diffusers_components(obj: dict[str, Any]) -> list[tuple[str, str, object]]:
    """``(component, library, class)`` for every ``name: [library, Class]`` entry, by name.

    diffusers passes the entries whose name does not start with ``_`` to the pipeline; an
    entry with a ``null`` library is an absent optional component.
    """
    out: list[tuple[str, str, object]] = []
    for key in sorted(obj, key=str):
        value = obj[key]
        if str(key).startswith("_") or not isinstance(value, list) or len(value) != 2:
            continue
        lib, name = value
        if isinstance(lib, str):
            out.append((str(key), lib, name))
    return out


def diffusers_refs(obj: dict[str, Any]) -> list[DiffusersRef]:
    """Every file diffusers would import for this ``model_index.json``, bounded.

    Unlike the config scanner, which reports only custom code, this includes components
    from well-known libraries: a file at their path would shadow the library.
    """
    refs: list[DiffusersRef] = []
    cls = obj.get("_class_name")
    if isinstance(cls, list) and len(cls) == 2 and isinstance(cls[0], str) and cls[0]:
        refs.append(DiffusersRef("_class_name", cls[0], (f"{cls[0]}.py",)))
    custom = obj.get("custom_pipeline")
    if isinstance(custom, str) and custom and not HUB_REPO.match(custom):
        refs.append(DiffusersRef("custom_pipeline", custom, (f"{custom}.py",)))
    for key, lib, _name in diffusers_components(obj):
        shadows = (SHADOWS_LIBRARY if lib in INSTALLED_LIBS else
                   SHADOWS_PIPELINE if lib in PIPELINE_MODULES else "")
        if lib:
            refs.append(DiffusersRef(key, lib, (key, f"{lib}.py"), shadows))
    return refs[:MAX_REFERENCES]


def diffusers_modules(
    obj: dict[str, Any], base: str, present: Callable[[str, bool], str | None]
) -> list[DiffusersModule]:
    """The modules of ``obj`` that are in the scanned folder, where diffusers would open them.

    ``base`` is the folder of ``model_index.json`` within the scanned folder; ``present``
    maps a folder-relative path (and whether the names were plain) to the file there, if
    any. Paths are joined as ``os.path.join`` joins them (an absolute part starts over,
    backslashes separate on Windows); those leaving the folder are left to the config
    scanner, which reports the name (MT-CFG-007).
    """
    out: list[DiffusersModule] = []
    for ref in diffusers_refs(obj):
        parts = [p.replace("\\", "/") for p in ref.parts]
        raw = posixpath.join(base, *parts)
        target = posixpath.normpath(raw)
        if target == ".." or target.startswith(("../", "/")) or any(_DRIVE.match(p)
                                                                    for p in parts):
            continue
        path = present(target, target == raw)
        if path is not None:
            out.append(DiffusersModule(ref, path, target == raw, path == target))
    return out


class ModelIndexCheck:
    """The config scanner's checks of a ``model_index.json`` document.

    ``reference`` is the scanner's generic ``module.Class`` check (shared with
    ``auto_map``); the files and repositories found are collected for its result.
    """

    def __init__(self, path: str, ctx: ScanContext,
                 reference: Callable[[str, str], None]) -> None:
        self.path, self.ctx, self.reference = path, ctx, reference
        self.files: set[str] = set()
        self.remote: set[str] = set()

    def run(self, obj: dict[str, Any]) -> None:
        """Custom pipeline and components diffusers loads from the repository.

        ``_class_name: [module, Class]`` runs ``module.py``; a component
        ``[library, Class]`` whose library is not diffusers' own runs
        ``<component>/<library>.py`` when the repository ships it (trust_remote_code).
        """
        cls = obj.get("_class_name")
        if isinstance(cls, list):
            parts = [p for p in cls if isinstance(p, str)]
            self.reference("_class_name", ".".join(parts) if len(parts) == len(cls) == 2
                           else dump(cls, 100))
        custom = obj.get("custom_pipeline")
        if isinstance(custom, str) and custom:
            if HUB_REPO.match(custom):
                self.remote.add(custom)
                self.ctx.report(finding(REMOTE_CODE, self.path, f'custom_pipeline = '
                                        f'"{custom}": runs pipeline.py from repository '
                                        f"{custom}", Location(detail="key custom_pipeline")))
            else:
                self._component("custom_pipeline", custom, "", f"{custom}.py")
        for key, lib, name in diffusers_components(obj):
            if lib not in KNOWN_LIBS:
                self._component(key, lib, name, f"{key}/{lib}.py")

    def _component(self, key: str, lib: str, name: object, file: str) -> None:
        loc = Location(detail=f"key {key}")
        shown = dump([lib, name], 300) if name != "" else dump(lib, 300)
        if not IDENT.match(key) or not IDENT.match(lib) or not isinstance(name, str | None) \
                or (name is not None and name != "" and not IDENT.match(name)):
            self.ctx.report(finding(BAD_REFERENCE, self.path, f"{key} = {shown}", loc))
            return
        self.files.add(file)
        self.ctx.report(finding(LOCAL_CODE, self.path, f"{key} = {shown}: diffusers runs "
                                f"{file} when the folder has it (a hub download asks for "
                                f"trust_remote_code; a local folder does not), else imports "
                                f"an installed module {lib}", loc))


def check_plugins(name: str, obj: dict[str, Any], path: str, ctx: ScanContext) -> None:
    """ModelScope ``configuration.json`` ``plugins``: packages it pip-installs and imports."""
    plugins = obj.get("plugins")
    if name == "configuration.json" and plugins:
        shown = dump(plugins, 200)
        ctx.report(finding(REMOTE_CODE, path, f"plugins = {shown}: ModelScope pip-installs "
                           "and imports these packages", Location(detail="key plugins")))
