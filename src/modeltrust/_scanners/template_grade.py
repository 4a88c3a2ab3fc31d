"""Grading a parsed chat template: which rule each access chain and string breaks.

Kept apart from the value following (:mod:`.template_flow`) so the policy (what a chain
must reach to be an escape, a dunder read, an engine-object inspection, a computed name)
reads in one place, together with the bounds that keep one template from exhausting the
scan (node count, nesting depth, findings per template).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modeltrust._scanners.jinja_expr import (
    ESCAPE_NAMES,
    Folded,
    builds_string,
    clip,
    fold,
    is_internal,
    rank,
    text,
)
from modeltrust._scanners.template_flow import ENGINE_OBJECTS, Step, ValueFlow, format_steps
from modeltrust._scanners.template_rules import (
    DUNDER,
    DYNAMIC_NAME,
    ENGINE_OBJECT,
    ESCAPE,
    LOADS_TEMPLATES,
    PRIVATE,
    TOO_COMPLEX,
)
from modeltrust.findings import Location, Rule, Severity
from modeltrust.rules import finding

if TYPE_CHECKING:
    from jinja2 import nodes as jn

MAX_NODES = 200_000
MAX_DEPTH = 200
MAX_FINDINGS = 100
TARGETS = frozenset({
    "__globals__", "__builtins__", "__subclasses__", "__import__", "__loader__", "os", "sys",
    "popen", "system", "eval", "exec", "execfile", "compile", "subprocess", "import_module",
    "modules", "_module", "spawn", "spawnv", "check_output", "check_call", "Popen", "getoutput",
    "run", "open", "importlib", "builtins",
}) | ESCAPE_NAMES
"""Names that, reached from Python internals, mean code execution or module access."""


class Analyser(ValueFlow):
    """Walks one parsed template; reports each suspicious access chain once.

    Chains and bound values come from :class:`.template_flow.ValueFlow`. Every string the
    template can build that names a Python internal is reported even where its use cannot
    be followed.
    """

    def run(self, tree: jn.Template) -> str:
        """Grade every node of ``tree``; return why analysis was incomplete ('' when complete)."""
        from jinja2 import nodes as n

        flat = self._flatten(tree)
        self._bindings(flat)
        consumed: set[int] = set()
        for i, node in enumerate(flat):
            if i % 2048 == 0 and self._out_of_time(i, len(flat)):
                return self.problem
            if id(node) in consumed:
                continue
            if isinstance(node, n.Getattr | n.Getitem | n.Call | n.Filter | n.Name):
                if isinstance(node, n.Name) and node.ctx != "load":
                    continue
                root, steps = self._chain(node, consumed)
                self._grade(node, root, steps)
            elif isinstance(node, n.Import | n.FromImport | n.Include | n.Extends):
                kind = type(node).__name__.lower()
                self._report(LOADS_TEMPLATES, node,
                             f"{{% {kind} {text(node.template)} %}}")
            elif isinstance(node, n.NSRef) and node.attr.startswith("_"):
                self._report(DUNDER if is_internal(node.attr) else PRIVATE, node,
                             f"{{% set {node.name}.{node.attr} = ... %}}")
        self._strings(flat)
        return self.problem

    def _flatten(self, tree: jn.Node) -> list[jn.Node]:
        """Pre-order node list, bounded in count and depth (iterative: no recursion)."""
        out: list[jn.Node] = []
        stack: list[tuple[jn.Node, int]] = [(tree, 0)]
        deep = False
        while stack:
            node, depth = stack.pop()
            out.append(node)
            if len(out) >= MAX_NODES:
                self.ctx.report(finding(TOO_COMPLEX, self.path, f"more than {MAX_NODES} "
                                        "syntax nodes: the rest was not analysed",
                                        Location(line=node.lineno, detail=self.where or None)))
                self.problem = "template node limit reached"
                break
            if depth >= MAX_DEPTH:
                deep = True
                continue
            stack.extend((c, depth + 1) for c in reversed(list(node.iter_child_nodes())))
        if deep:
            self.ctx.report(finding(TOO_COMPLEX, self.path, f"nesting deeper than {MAX_DEPTH} "
                                    "levels: deeper nodes were not analysed",
                                    Location(detail=self.where or None)))
            self.problem = self.problem or "template nesting limit reached"
        return out

    def _grade(self, node: jn.Node, root: str, steps: list[Step]) -> None:
        root, steps, note = self._resolve(root, steps)
        names = [s.name for s in steps if s.kind in ("attr", "item")]
        dunders = [x for x in [root, *names] if is_internal(x)]
        self.graded.update(dunders)
        escape_root = self._escape_root(root, steps)
        reach = [x for x in [root, *names] if x in TARGETS]
        evidence = text(node) + (f"  (where {note})" if note else "")
        built = [s.name for s in steps if s.via in ("built", "getattr") and is_internal(s.name)]
        if built:
            evidence += f"  (names built or looked up: {', '.join(built)})"
        reported = True
        if (dunders or (escape_root and steps)) and reach and (dunders or root in TARGETS
                                                               or steps[0].kind != "call"):
            path = [x for x in [root, *names] if is_internal(x) or x in TARGETS]
            why = " -> ".join(dict.fromkeys(path))
            self._report(ESCAPE, node, f"{evidence}  [reaches {why}]")
        elif dunders:
            self._report(DUNDER, node, evidence)
        elif escape_root and root in ENGINE_OBJECTS:
            inspected = steps[0].kind != "filter" or steps[0].name == "attr"
            self._report(ENGINE_OBJECT, node, evidence, None if inspected else Severity.MEDIUM)
        elif escape_root:
            accessed = any(s.kind in ("attr", "item", "dyn", "index") for s in steps)
            self._report(ENGINE_OBJECT, node, evidence,
                         None if accessed else Severity.MEDIUM)
        elif root in ENGINE_OBJECTS and not steps:
            self._report(ENGINE_OBJECT, node, f"{evidence}  (used as a value, not called)",
                         Severity.MEDIUM)
        else:
            reported = False
        self._dynamic(node, steps, evidence, reported)

    def _dynamic(self, node: jn.Node, steps: list[Step], evidence: str, reported: bool) -> None:
        dyn = [i for i, s in enumerate(steps) if s.kind == "dyn"]
        if dyn:
            self.dynamic += 1
            called = any(s.kind == "call" for s in steps[dyn[0] + 1 :])
            self._report(DYNAMIC_NAME, node, evidence, Severity.CRITICAL if called else None)
        elif not reported:
            private = [s.name for s in steps if s.kind == "attr" and s.via != "mapped"
                       and s.name.startswith("_")]
            if private:
                self._report(PRIVATE, node, evidence)

    def _strings(self, flat: list[jn.Node]) -> None:
        """Report strings naming Python internals wherever they are built or passed."""
        from jinja2 import nodes as n

        for i, node in enumerate(flat):
            if i % 2048 == 0 and self._out_of_time(i, len(flat), "strings"):
                return
            if id(node) in self.covered:
                continue
            if isinstance(node, n.Keyword):
                value: Folded = node.key
            elif isinstance(node, n.Const) or builds_string(node):
                value = fold(node, self.consts)
            else:
                continue
            if isinstance(value, str) and "{" in value and not is_internal(value):
                value = next((s.name for s in format_steps(value) if is_internal(s.name)), None)
            if not is_internal(value) or value in self.graded or "_" not in str(value):
                continue  # a bare 'mro' string is also a language code
            self._cover(node)
            evidence = f"{text(node)}  (string naming {value!r}"
            if rank(value) == 2 and self.dynamic:
                self._report(ESCAPE, node, f"{evidence}; attributes are looked up by "
                             "computed names elsewhere in the template)")
            else:
                self._report(DUNDER, node, f"{evidence})")

    def _report(self, r: Rule, node: jn.Node, evidence: str,
                severity: Severity | None = None) -> None:
        key = (r.id, node.lineno, evidence)
        if key in self.seen:
            return
        self.seen.add(key)
        if len(self.seen) > MAX_FINDINGS:
            if len(self.seen) == MAX_FINDINGS + 1:
                self.ctx.report(finding(TOO_COMPLEX, self.path, f"more than {MAX_FINDINGS} "
                                        "suspicious constructs: the rest are not listed",
                                        Location(line=node.lineno, detail=self.where or None)))
            return
        if self.cap is not None and (severity or r.severity) > self.cap:
            severity = self.cap
            evidence = "(in a template jinja2 rejects) " + evidence
        self.ctx.report(finding(r, self.path, clip(evidence),
                                Location(line=node.lineno, detail=self.where or None),
                                severity=severity))
