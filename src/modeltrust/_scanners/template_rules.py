"""The chat-template rules (MT-TPL-*), declared once for every module that raises them.

The scanner, the AST analyser (:mod:`.template_grade`) and the repair of templates jinja2
rejects (:mod:`.template_recover`) all report these rules; declaring them in a module that
imports none of those keeps the imports one-way (scanner -> repair -> grading -> rules).
"""

from __future__ import annotations

from modeltrust.findings import Severity
from modeltrust.rules import rule

_REFS = ("CVE-2024-34359", "CVE-2026-5760", "GHSA-46cm-pfwv-cgf8")
_FIX = "Do not serve the model with this template; replace it with the publisher's " \
       "original, and render templates only in jinja2's ImmutableSandboxedEnvironment."
ESCAPE = rule(
    "MT-TPL-001", "Chat template escapes the Jinja sandbox", Severity.CRITICAL,
    """
    An attribute chain in the template reaches Python internals that run commands or import
    modules (``__globals__``, ``__builtins__``, ``__subclasses__``, ``__import__``, ``os``,
    ``popen``, ``eval``, ``subprocess``...), starting from a dunder attribute or an engine
    object such as ``cycler``, ``lipsum`` or ``self``. A renderer without the sandbox runs
    it on every chat request (CVE-2024-34359, CVE-2026-5760, GHSA-46cm-pfwv-cgf8).
    """,
    fix=_FIX, cwe=1336, references=_REFS,
)
DUNDER = rule(
    "MT-TPL-002", "Chat template accesses Python dunder attributes", Severity.HIGH,
    """
    The template reads ``__x__`` attributes (``__class__``, ``__mro__``, ``__init__``...) or
    introspection attributes (``mro``, ``f_globals``, ``gi_frame``...), directly, through
    ``|attr``, a subscript, ``getattr``, an attribute-taking filter (``map``, ``groupby``,
    ``sum``...) or a ``str.format`` field, or builds a string naming one. Chat templates
    never need them; they are the first steps of every server-side template injection,
    even when the rest of the chain is not visible statically.
    """,
    fix=_FIX, cwe=1336, references=_REFS,
)
ENGINE_OBJECT = rule(
    "MT-TPL-003", "Chat template uses an engine or host global as an object", Severity.HIGH,
    """
    The template inspects an object that the template engine or a web framework provides
    (``cycler``, ``joiner``, ``lipsum``, ``namespace``, ``self``, ``config``, ``request``,
    ``os``...) instead of just calling it. Their attributes lead to the interpreter's
    globals. A bare reference to a host-only global (``config``, ``request``) is medium.
    """,
    fix=_FIX, cwe=1336,
)
DYNAMIC_NAME = rule(
    "MT-TPL-004", "Chat template builds attribute names at render time", Severity.MEDIUM,
    """
    An attribute or key name is computed (``|attr(x)``, ``'__cla' ~ 'ss__'``, ``|join``,
    ``|replace``, ``|reverse``, slicing, ``chr`` arithmetic) rather than written out, which
    is how payloads hide dunder names from text filters. Critical when the looked-up value
    is then called.
    """,
    fix=_FIX, cwe=1336,
)
PRIVATE = rule(
    "MT-TPL-005", "Chat template reads private attributes", Severity.MEDIUM,
    """
    The template reads an attribute whose name starts with an underscore. The sandbox
    forbids them because they expose implementation internals; chat templates do not use
    them.
    """,
    fix=_FIX, cwe=1336,
)
LOADS_TEMPLATES = rule(
    "MT-TPL-006", "Chat template loads other templates", Severity.MEDIUM,
    """
    The template uses ``{% import %}``, ``{% from %}``, ``{% include %}`` or
    ``{% extends %}``. Chat templates are self-contained; loading others reads files from
    the renderer's template path, which the model does not control and was not scanned.
    """,
    fix="Inline what the template needs; remove the import/include/extends.", cwe=1336,
)
SYNTAX = rule(
    "MT-TPL-007", "Chat template does not parse", Severity.MEDIUM,
    """
    jinja2 rejects the template. The model will not chat correctly with renderers that use
    jinja2, and other renderers may read it differently from this analysis. Its text is
    still searched for names of Python internals, and each of its tags is repaired and
    graded on its own (severities capped at high).
    """,
    fix="Replace the template with the publisher's original.",
)
TOO_COMPLEX = rule(
    "MT-TPL-008", "Chat template too large or too complex to analyse fully", Severity.MEDIUM,
    """
    The template exceeds a size, node-count or nesting bound, so part of it was not
    analysed. Real chat templates are a few kilobytes; huge ones are built to exhaust
    scanners or to hide a payload far from the start.
    """,
    fix="Replace the template with the publisher's original.", cwe=400,
)
UNPARSED_HINT = rule(
    "MT-TPL-009", "Unanalysable chat template names Python internals", Severity.HIGH,
    """
    The template could not be parsed (syntax error or size), but its text contains names
    of Python internals (``__globals__``, ``__subclasses__``, ``\\x5f\\x5f``...) that only
    sandbox escapes use. Another renderer may well accept the template.
    """,
    fix=_FIX, cwe=1336, references=_REFS,
)
NO_JINJA = rule(
    "MT-TPL-010", "Chat template not analysed: jinja2 is not installed", Severity.INFO,
    "Templates are parsed with jinja2, which is an optional dependency.",
    fix="pip install 'modeltrust[formats]'",
)
