"""``modeltrust rules [ID]``: list every rule, or explain one (what, why, how to fix)."""

from __future__ import annotations

import difflib

import click
from rich.console import RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from modeltrust import rules
from modeltrust._cli.output import stdout_console
from modeltrust._report.console import SEVERITY_STYLE, clean
from modeltrust._report.json import dumps, prose
from modeltrust.errors import UsageError
from modeltrust.findings import Rule

RULES_EPILOG = """\b
Exit codes:
  0  the rules were listed or explained
  2  unknown rule id or bad option

\b
Examples:
  modeltrust rules
  modeltrust rules MT-SRC-001
  modeltrust rules --format json > rules.json
"""


def rule_to_dict(r: Rule) -> dict[str, object]:
    """JSON form of a rule, with its texts reflowed."""
    return {
        "id": r.id,
        "title": r.title,
        "severity": r.severity.value,
        "cwe": f"CWE-{r.cwe}" if r.cwe is not None else None,
        "description": prose(r.description),
        "fix": prose(r.fix),
        "references": list(r.references),
    }


def lookup(rule_id: str) -> Rule:
    """Find a rule by id (case-insensitive), or fail with the closest known ids."""
    known = {r.id: r for r in rules.all_rules()}
    wanted = rule_id.strip().upper()
    if wanted in known:
        return known[wanted]
    close = difflib.get_close_matches(wanted, list(known), n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(close)}?" if close else "run 'modeltrust rules' to list them"
    raise UsageError(f"unknown rule {rule_id!r}; {hint}")


def _table(all_rules: list[Rule]) -> Table:
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    table.add_column("ID", no_wrap=True)
    table.add_column("SEVERITY", no_wrap=True)
    table.add_column("CWE", no_wrap=True)
    table.add_column("TITLE")
    for r in all_rules:
        table.add_row(
            r.id,
            Text(r.severity.value, style=SEVERITY_STYLE[r.severity]),
            f"CWE-{r.cwe}" if r.cwe is not None else "-",
            clean(r.title),
        )
    return table


def _explain(r: Rule) -> list[RenderableType]:
    head = Text(r.id, style="bold").append(f"  {clean(r.title)}")
    sev = Text("Severity: ").append(r.severity.value, style=SEVERITY_STYLE[r.severity])
    cwe = (
        f"CWE: CWE-{r.cwe} (https://cwe.mitre.org/data/definitions/{r.cwe}.html)"
        if r.cwe is not None
        else "CWE: none"
    )
    fix = prose(r.fix) if r.fix else "(no specific fix documented)"
    out: list[RenderableType] = [head, sev, Text(cwe), Text("")]
    out += [Text("What it detects and why it matters", style="bold")]
    out.append(_indent(prose(r.description)))
    out += [Text(""), Text("How to fix", style="bold"), _indent(fix)]
    if r.references:
        out += [Text(""), Text("References", style="bold")]
        out += [_indent(f"- {ref}") for ref in r.references]
    return out


def _indent(text: str) -> Padding:
    """Indent a block by two spaces, wrapped lines included (rule texts are our own)."""
    return Padding(Text(text), (0, 0, 0, 2))


@click.command("rules", epilog=RULES_EPILOG, short_help="List the rules, or explain one.")
@click.argument("rule_id", metavar="[ID]", required=False)
@click.option("-f", "--format", "fmt", type=click.Choice(["console", "json"]),
              default="console", show_default=True, help="Output format.")
def rules_command(rule_id: str | None, fmt: str) -> None:
    """List every rule (id, severity, CWE, title), or explain the rule ID."""
    if rule_id is not None:
        found = lookup(rule_id)
        if fmt == "json":
            click.echo(dumps(rule_to_dict(found)), nl=False)
            return
        with stdout_console() as console:
            for line in _explain(found):
                console.print(line)
        return
    all_rules = list(rules.all_rules())
    if fmt == "json":
        click.echo(dumps({"rules": [rule_to_dict(r) for r in all_rules]}), nl=False)
        return
    table = _table(all_rules)
    with stdout_console() as console:
        # Plain output (pipes, files) is never wrapped, so that each rule stays on one line.
        width = None if console.is_terminal else console.measure(table).maximum
        console.print(table, width=width)
