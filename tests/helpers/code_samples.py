"""Python sources for the trust_remote_code scanner: realistic benign files and hostile ones.

Hostile samples only ever name a harmless marker command; they are parsed, never run.
"""

from __future__ import annotations

import base64
import bz2
import zlib

MARKER = "touch /tmp/modeltrust-test-marker-DO-NOT-CREATE"

MODELING = '''# coding=utf-8
# Copyright 2024 The Example Authors. Licensed under the Apache License, Version 2.0.
"""PyTorch Example model."""

import math
import os
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers.activations import ACT2FN
from transformers.modeling_outputs import BaseModelOutput
from transformers.utils import logging

from .configuration_example import ExampleConfig

logger = logging.get_logger(__name__)
_CHECKPOINT_FOR_DOC = "example/example-base"


class ExampleRMSNorm(nn.Module):
    def __init__(self, hidden_size, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps

    def forward(self, hidden_states):
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        return self.weight * hidden_states


class ExampleAttention(nn.Module):
    def __init__(self, config: ExampleConfig):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // self.num_heads
        self.qkv = nn.Linear(config.hidden_size, 3 * config.hidden_size, bias=False)
        self.o_proj = nn.Linear(config.hidden_size, config.hidden_size, bias=False)
        self.use_flash = os.environ.get("EXAMPLE_USE_FLASH", "0") == "1"

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=-1)
        q = q.view(b, t, self.num_heads, self.head_dim).transpose(1, 2)
        k = k.view(b, t, self.num_heads, self.head_dim).transpose(1, 2)
        v = v.view(b, t, self.num_heads, self.head_dim).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        if mask is not None:
            att = att + mask
        att = F.softmax(att, dim=-1)
        return self.o_proj((att @ v).transpose(1, 2).reshape(b, t, c))


class ExampleMLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.up = nn.Linear(config.hidden_size, config.intermediate_size)
        self.down = nn.Linear(config.intermediate_size, config.hidden_size)
        self.act = ACT2FN[config.hidden_act]

    def forward(self, x):
        return self.down(self.act(self.up(x)))


class ExamplePreTrainedModel(PreTrainedModel):
    config_class = ExampleConfig
    base_model_prefix = "model"
    _no_split_modules = ["ExampleLayer"]

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            module.weight.data.normal_(mean=0.0, std=self.config.initializer_range)


class ExampleModel(ExamplePreTrainedModel):
    def __init__(self, config: ExampleConfig):
        super().__init__(config)
        self.embed = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList([ExampleAttention(config) for _ in range(config.num_layers)])
        self.mlps = nn.ModuleList([ExampleMLP(config) for _ in range(config.num_layers)])
        self.norm = ExampleRMSNorm(config.hidden_size)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, **kwargs) -> Tuple[torch.Tensor]:
        h = self.embed(input_ids)
        for attn, mlp in zip(self.layers, self.mlps):
            h = h + attn(h, attention_mask)
            h = h + mlp(h)
        if not kwargs.get("return_dict", True):
            return (self.norm(h),)
        return BaseModelOutput(last_hidden_state=self.norm(h))

    @torch.no_grad()
    def generate_step(self, input_ids):
        logits = self.forward(input_ids)[0]
        return torch.argmax(logits[:, -1], dim=-1)
'''

CONFIGURATION = '''"""Example configuration."""
from transformers import PretrainedConfig


class ExampleConfig(PretrainedConfig):
    model_type = "example"

    def __init__(self, vocab_size=32000, hidden_size=64, **kwargs):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        super().__init__(**kwargs)
'''


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def zlib_b64(text: str) -> str:
    return base64.b64encode(zlib.compress(text.encode())).decode()


def bz2_b64(text: str) -> str:
    return base64.b64encode(bz2.compress(text.encode())).decode()


def layered_exec(levels: int) -> str:
    """``exec(b64decode(...))`` wrapped ``levels`` times around an os.system call."""
    src = f"import os\nos.system({MARKER!r})\n"
    for _ in range(levels):
        src = f"import base64\nexec(base64.b64decode({b64(src)!r}))\n"
    return src


# -- attack variants (technique classes from THREATS.md, spelled differently) -------------------

_CMD = repr(MARKER)
PROCESS_SPELLINGS = {
    "sys.modules": f"import sys\nsys.modules['os'].system({_CMD})\n",
    "sys.modules alias": f"import sys\nm = sys.modules['subprocess']\nm.run({_CMD})\n",
    "sys.modules.get": f"import sys\nsys.modules.get('os').system({_CMD})\n",
    "__dict__.get": f"import os\nos.__dict__.get('system')({_CMD})\n",
    "vars().get": f"import os\nvars(os).get('sys' + 'tem')({_CMD})\n",
    "chr-built name": "import os\ngetattr(os, chr(115) + chr(121) + chr(115) + chr(116) + "
                      f"chr(101) + chr(109))({_CMD})\n",
    "reversed join": f"import os\ngetattr(os, ''.join(reversed('metsys')))({_CMD})\n",
    "walrus alias": f"import os\nif (run := os.system):\n    run({_CMD})\n",
    "tuple alias": f"import os\nrun, x = os.system, 1\nrun({_CMD})\n",
    "posix module": f"import posix\nposix.system({_CMD})\n",
    "pip.main": "import pip\npip.main(['install', 'modeltrust-test-marker'])\n",
    "pydoc pager": f"import pydoc\npydoc.pipepager('x', {_CMD})\n",
    "thread target": f"import threading, os\nthreading.Thread(target=os.system, args=({_CMD},))"
                     ".start()\n",
    "atexit callback": f"import atexit, os\natexit.register(os.system, {_CMD})\n",
    "partial": f"import functools, subprocess\nf = functools.partial(subprocess.run, {_CMD}, "
               "shell=True)\nf()\n",
    "default argument alias": f"import os\ndef f(run=os.system):\n    run({_CMD})\nf()\n",
    "dict dispatch": f"import os\nACTIONS = {{'go': os.system}}\nACTIONS['go']({_CMD})\n",
    "list dispatch": f"import os\nL = [os.system]\nL[0]({_CMD})\n",
    "returned reference": f"import os\ndef get():\n    return os.system\nget()({_CMD})\n",
    "fullwidth identifiers": f"import os\n\uff4f\uff53.system({_CMD})\n",
    "not-main guard": f"import os\nif __name__ != '__main__':\n    os.system({_CMD})\n",
    "else of main guard": f"import os\nif __name__ == '__main__':\n    pass\n"
                          f"else:\n    os.system({_CMD})\n",
    "lambda decorator": f"import os\n@(lambda f: os.system({_CMD}))\ndef g():\n    pass\n",
}

MEMBER_ALIASES = {
    "class attribute": f"import os\nclass A:\n    run = os.system\n    def go(self):\n"
                       f"        self.run({_CMD})\n",
    "self attribute": f"import subprocess\nclass A:\n    def __init__(self):\n"
                      f"        self.p = subprocess.Popen\n    def go(self):\n"
                      f"        self.p({_CMD}, shell=True)\n",
}

IMPORT_TIME = {
    "metaclass __new__": f"""import os
class Meta(type):
    def __new__(mcs, name, bases, ns):
        os.system({_CMD})
        return super().__new__(mcs, name, bases, ns)
class Model(metaclass=Meta):
    pass
""",
    "metaclass __init__ via base": f"""import os
class Meta(type):
    def __init__(cls, name, bases, ns):
        os.system({_CMD})
class Base(metaclass=Meta):
    pass
class Model(Base):
    pass
""",
    "__init_subclass__": f"""import os
class Base:
    def __init_subclass__(cls, **kwargs):
        os.system({_CMD})
class Model(Base):
    pass
""",
    "__set_name__": f"""import os
class Field:
    def __set_name__(self, owner, name):
        os.system({_CMD})
class Model:
    weight = Field()
""",
    "lambda assigned then called": f"import os\nrun = lambda c: os.system(c)\nrun({_CMD})\n",
    "lambda called in place": f"import os\n(lambda: os.system({_CMD}))()\n",
    "class body": f"import os\nclass Model:\n    flag = os.system({_CMD})\n",
}

ESCAPES = {
    "__globals__": "def f():\n    pass\nB = f.__globals__['__builtins__']\n",
    "object.__subclasses__": "classes = object.__subclasses__()\n",
    "bases chain": "classes = ().__class__.__bases__[0].__subclasses__()\n",
    "frame globals": "import sys\ng = sys._getframe(0).f_globals\n",
    "code swap": "def f():\n    pass\nf.__code__ = f.__code__.replace(co_consts=(1,))\n",
    "patch builtins.open": "import builtins\nbuiltins.open = print\n",
    "patch via setattr": "import builtins\nsetattr(builtins, 'open', print)\n",
    "hijack sys.modules": "import sys\nsys.modules['torch'] = object()\n",
    "import hook": "import sys\nsys.meta_path.insert(0, object())\n",
    "attrgetter": "import operator, os\nrun = operator.attrgetter('system')(os)\n",
}

CREDENTIAL_READS = {
    "hub token path parts": "from pathlib import Path\n"
                            "t = (Path.home() / '.cache' / 'huggingface' / 'token').read_text()\n",
    "hub token os.path.join": "import os\nt = open(os.path.join(os.path.expanduser('~'), "
                              "'.cache', 'huggingface', 'token')).read()\n",
    "netrc": "import netrc\nauth = netrc.netrc().authenticators('huggingface.co')\n",
    "hub get_token": "from huggingface_hub import get_token\nT = get_token()\n",
    "hub token constant": "from huggingface_hub import constants\n"
                          "T = open(constants.HF_TOKEN_PATH).read()\n",
    "environ alias": "from os import environ as e\nT = e['HF_TOKEN']\n",
}

FILE_WRITES = {
    "Path.unlink": "from pathlib import Path\nPath('/tmp/modeltrust-test-marker').unlink()\n",
    "Path.open w": "from pathlib import Path\nPath('/tmp/modeltrust-test-marker').open('w')\n",
    "io.FileIO": "import io\nio.FileIO('/tmp/modeltrust-test-marker', 'w')\n",
    "os.open flags": "import os\nfd = os.open('/tmp/modeltrust-test-marker', "
                     "os.O_WRONLY | os.O_CREAT)\n",
}


def marshalled_payload() -> str:
    """``exec(marshal.loads(zlib(base64(...))))`` of a real code object calling the marker."""
    import marshal

    code = compile(f"import os\nos.system({MARKER!r})\n", "<payload>", "exec")
    blob = base64.b64encode(zlib.compress(marshal.dumps(code))).decode()
    return ("import base64, marshal, zlib\n"
            f"exec(marshal.loads(zlib.decompress(base64.b64decode({blob!r}))))\n")


# A real Stable Diffusion 1.5 model_index.json: every component from a known library.
SD15_INDEX = {
    "_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.21.0",
    "feature_extractor": ["transformers", "CLIPImageProcessor"], "image_encoder": [None, None],
    "requires_safety_checker": True,
    "safety_checker": ["stable_diffusion", "StableDiffusionSafetyChecker"],
    "scheduler": ["diffusers", "PNDMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
    "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
    "vae": ["diffusers", "AutoencoderKL"],
}


# -- ordinary library code that must not be graded as import-time execution (red team r24-r31) --

LIBRARY_PATTERNS = {
    "and-joined main guard": "import sys, pty\n"
                             "if sys.platform != 'win32' and __name__ == '__main__':\n"
                             "    pty.spawn(['ls'])\n",
    "main guard first in and": "import os\nif '__main__' == __name__ and os.name == 'posix':\n"
                               f"    os.system({_CMD})\n",
    "lazy loader returns nested __getattr__": "import importlib\ndef _attach(n):\n"
                                              "    def __getattr__(name):\n"
                                              "        return importlib.import_module("
                                              "n + '.' + name)\n"
                                              "    def __dir__():\n        return []\n"
                                              "    return __getattr__, __dir__\n"
                                              "__getattr__, __dir__ = _attach(__name__)\n",
    "types as registry keys": "import types\nREG = {}\ndef add(t, f):\n    REG[t] = f\n"
                              "add(types.FunctionType, repr)\nadd(types.CodeType, repr)\n"
                              "class Representer:\n    @classmethod\n"
                              "    def add_representer(cls, t, f):\n        pass\n"
                              "Representer.add_representer(types.FunctionType, repr)\n",
    "exec of a literal star import": "_n = {}\nexec('from cupy.fft import *', _n)\n"
                                     "del _n['__builtins__']\nfft_all = list(_n)\n",
    "exec of a literal os star import": "_n = {}\nexec('from os import *', _n)\n",
    "own submodule by __spec__.parent": "__import__(__spec__.parent + '.linalg')\n",
    "own submodule by __name__": "import importlib\nm = importlib.import_module(__name__ + '.x')\n",
    "own submodule relative": "import importlib\ndef load(name):\n"
                              "    return importlib.import_module('.' + name, __package__)\n",
    "own submodule via f-string local": "import importlib\ndef load(name):\n"
                                        "    path = f'{__name__}.{name}'\n"
                                        "    return importlib.import_module(path)\n",
    "decorator wrapper never called at import": "import os\ndef deco(f):\n"
                                                "    def wrapper(*a):\n"
                                                f"        os.system({_CMD})\n"
                                                "        return f(*a)\n    return wrapper\n"
                                                "@deco\ndef g():\n    pass\n",
}
"""Each: at most low at import time (the decorator wrapper: not import-time)."""

STILL_IMPORT_TIME = {
    "or-joined guard": f"import os\nif __name__ == '__main__' or True:\n    os.system({_CMD})\n",
    "not-equal guard in and": "import os\nif True and __name__ != '__main__':\n"
                              f"    os.system({_CMD})\n",
    "else of and-joined guard": "import os\nif os.name and __name__ == '__main__':\n    pass\n"
                                f"else:\n    os.system({_CMD})\n",
    "guard operand before the test": f"import os\nif os.system({_CMD}) and __name__ == '__main__':"
                                     "\n    pass\n",
    "__name__ rebound": f"import os\n__name__ = '__main__'\nif __name__ == '__main__':\n"
                        f"    os.system({_CMD})\n",
    "__name__ rebound by exec": "import os\nexec(\"__name__ = '__main__'\")\n"
                                f"if __name__ == '__main__':\n    os.system({_CMD})\n",
    "__name__ rebound through globals()": "import os\n"
                                          "globals()['__na' + 'me__'] = '__ma' + 'in__'\n"
                                          f"if __name__ == '__main__':\n    os.system({_CMD})\n",
    "nested function called": "import os\ndef outer():\n    def inner():\n"
                              f"        os.system({_CMD})\n    inner()\nouter()\n",
    "nested function returned and called": "import os\ndef outer():\n    def inner():\n"
                                           f"        os.system({_CMD})\n    return inner\n"
                                           "outer()()\n",
    "nested function returned, bound, called": "import os\ndef outer():\n    def a():\n"
                                               f"        os.system({_CMD})\n    def b():\n"
                                               "        pass\n    return a, b\nx, y = outer()\n"
                                               "x()\n",
    "nested function handed to a thread": "import os, threading\ndef outer():\n    def inner():\n"
                                          f"        os.system({_CMD})\n"
                                          "    threading.Thread(target=inner).start()\nouter()\n",
    "nested sibling call": f"import os\ndef outer():\n    def a():\n        os.system({_CMD})\n"
                           "    def b():\n        a()\n    b()\nouter()\n",
    "nested function run by its decorator": "import os\ndef run(f):\n    f()\n    return f\n"
                                            "def outer():\n    @run\n    def inner():\n"
                                            f"        os.system({_CMD})\nouter()\n",
    "nested function in a list": "import os\ndef outer():\n    def inner():\n"
                                 f"        os.system({_CMD})\n"
                                 "    for f in [inner]:\n        f()\nouter()\n",
    "decorated function called at import": "import os\ndef deco(f):\n    def wrapper(*a):\n"
                                           f"        os.system({_CMD})\n        return f(*a)\n"
                                           "    return wrapper\n@deco\ndef g():\n    pass\ng()\n",
    "decorator factory wrapper called": "import os\ndef deco(x):\n    def d(f):\n"
                                        f"        def w(*a):\n            os.system({_CMD})\n"
                                        "        return w\n    return d\n@deco(1)\ndef g():\n"
                                        "    pass\ng()\n",
    "FunctionType built and called": "import types\ndef f():\n    pass\n"
                                     "types.FunctionType(f.__code__, {})()\n",
    "FunctionType through partial": "import types, functools\ndef f():\n    pass\n"
                                    "functools.partial(types.FunctionType, f.__code__)({})()\n",
    "FunctionType to a helper that calls it": "import types\ndef f():\n    pass\n"
                                              "def mk(ctor, c):\n    return ctor(c, {})\n"
                                              "mk(types.FunctionType, f.__code__)()\n",
    "FunctionType kept as a dispatch value": "import types\nR = {}\ndef add(k, v):\n    R[k] = v\n"
                                             "add('mk', types.FunctionType)\n",
    "Popen submitted to an executor": "import subprocess\nfrom concurrent.futures import "
                                      "ThreadPoolExecutor\n"
                                      f"ThreadPoolExecutor().submit(subprocess.Popen, {_CMD})\n",
    "os.system to an imported helper": "import os\nfrom helpers import run\n"
                                       f"run(os.system, {_CMD})\n",
    "ctypes.CDLL to LibraryLoader": "import ctypes\nlibs = ctypes.LibraryLoader(ctypes.CDLL)\n",
    "exec literal with a process": f"exec(\"import os; os.system({_CMD})\")\n",
    "exec literal using the file's import": f"import os\nexec(\"os.system({_CMD})\")\n",
    "exec literal bytes": f"exec(b\"import os; os.system({_CMD})\")\n",
    "exec literal binds an alias": f"exec('from os import system as s')\ns({_CMD})\n",
    "exec literal star import then call": f"exec('from os import *')\nsystem({_CMD})\n",
    "exec literal namespace lookup": "_n = {}\nexec('from os import *', _n)\n"
                                     f"_n['system']({_CMD})\n",
    "exec literal namespace get": f"_n = {{}}\nexec('from os import system', _n)\n"
                                  f"f = _n.get('system')\nf({_CMD})\n",
    "exec literal assignment": f"exec(\"s = __import__('os').system\")\ns({_CMD})\n",
    "eval literal reference": f"import os\nf = eval('os.system')\nf({_CMD})\n",
    "import by argv": "import importlib, sys\nm = importlib.import_module(sys.argv[1])\n",
    "import argv plus submodule": "import importlib, sys\n"
                                  "m = importlib.import_module(sys.argv[1] + '.x')\n",
    "own package after __name__ rebound": "import importlib\n__name__ = 'os'\n"
                                          "m = importlib.import_module(__name__ + '.path')\n",
    "relative to an argv package": "import importlib, sys\n"
                                   "m = importlib.import_module('.x', sys.argv[1])\n",
    "package parameter also bound to a literal": "import importlib\ndef load(pkg):\n"
                                                 "    return importlib.import_module(pkg + '.x')\n"
                                                 "load(__name__)\nload('os')\n",
    "package parameter handed on": "import importlib\ndef load(pkg):\n"
                                   "    return importlib.import_module(pkg + '.x')\n"
                                   "load(__name__)\nHOOKS = [load]\n",
}
"""Each: a high or critical finding that runs at import time."""
