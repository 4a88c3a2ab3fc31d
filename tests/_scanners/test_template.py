"""TemplateScanner: Jinja chat templates parsed to an AST (never rendered) and graded."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import modeltrust
from _scanners.archive_factory import Run, run
from helpers.chat_templates import REAL_TEMPLATES, SMOLLM2
from helpers.real_models import smollm2_path
from modeltrust._inventory.formats import Format
from modeltrust._report.model import Coverage
from modeltrust._scanners.interface import ScanContext
from modeltrust._scanners.template import TemplateScanner, analyse_template, check_template
from modeltrust._source.interface import ExpansionBudget, Limits
from modeltrust.findings import Finding, Severity

SCANNER = TemplateScanner()
MARKER = "touch /tmp/modeltrust-test-marker-DO-NOT-CREATE"
SMOLLM2_GGUF = smollm2_path()


def scan(source: str | bytes, name: str = "chat_template.jinja") -> Run:
    data = source.encode() if isinstance(source, str) else source
    return run(SCANNER, name, data, Format.TEMPLATE)


def check(source: str) -> list[Finding]:
    ctx = ScanContext(Limits(), ExpansionBudget(1 << 30), lambda _a: None)
    check_template(source, "cfg.json", ctx, "key chat_template")
    return ctx.findings


def worst(findings: list[Finding]) -> Severity | None:
    return max((f.severity for f in findings), default=None)


# --- real templates: nothing to report ------------------------------------------------------


@pytest.mark.parametrize("name", sorted(REAL_TEMPLATES))
def test_real_templates_are_clean(name: str) -> None:
    r = scan(REAL_TEMPLATES[name])
    assert r.findings == [], [(f.rule_id, f.evidence) for f in r.findings]
    assert r.result.coverage is Coverage.ANALYSED
    assert r.result.format is Format.TEMPLATE


def test_smollm2_template_matches_the_gguf_metadata() -> None:
    gguf = pytest.importorskip("gguf")
    if not SMOLLM2_GGUF.is_file():
        pytest.skip("SmolLM2 GGUF not installed")
    reader = gguf.GGUFReader(str(SMOLLM2_GGUF))  # metadata strings only; nothing rendered
    field = reader.fields["tokenizer.chat_template"]
    assert bytes(field.parts[field.data[0]]).decode() == SMOLLM2


def test_smollm2_gguf_end_to_end_is_clean() -> None:
    if not SMOLLM2_GGUF.is_file():
        pytest.skip("SmolLM2 GGUF not installed")
    report = modeltrust.scan(SMOLLM2_GGUF)
    assert not report.findings, report.findings
    [tpl] = [e for e in report.files if e.path.endswith("!tokenizer.chat_template.jinja")]
    assert tpl.format == "jinja-template" and tpl.coverage is Coverage.ANALYSED


@pytest.mark.parametrize("source", [
    "{% set ns = namespace(found=false) %}{% for m in messages %}{% if m.role == 'system' %}"
    "{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.found }}",
    "{{ raise_exception('Conversation roles must alternate') }}",
    "{% for m in messages %}{% if loop.index0 > 3 %}{% break %}{% endif %}{% continue %}"
    "{% endfor %}",
    "{% generation %}{{ messages[-1]['content'] }}{% endgeneration %}",
    "{{ messages | map(attribute='content') | join('\\n') }}",
    "{{ messages | selectattr('role', 'equalto', 'user') | list | length }}",
    "{% set sep = joiner(', ') %}{% for t in tools %}{{ sep() }}{{ t.name }}{% endfor %}",
    "{% set c = cycler('odd', 'even') %}{{ c.next() }}{{ lipsum(1) }}",
    "{{ messages[loop.index0 - 1].role if loop is defined else '' }}",
    "{{ message['tool' ~ '_calls'] }}{{ message|attr('content') }}",
    "{% for g in groups %}{{ g.name }}{% endfor %}",
    "{{ message.content.split('</think>')[-1].lstrip('\\n') }}",
    "{{ '{}: {}'.format(message.role, message.content) }}",
    "{{ strftime_now('%d %b %Y') }}",
])
def test_benign_constructs(source: str) -> None:
    r = scan(source)
    assert r.findings == [], [(f.rule_id, f.evidence) for f in r.findings]


# --- malicious constructs ---------------------------------------------------------------------


@pytest.mark.parametrize(("source", "rule", "severity"), [
    ("{{ cycler.__init__.__globals__.os.popen('id').read() }}", "MT-TPL-001", "critical"),
    ("{{ lipsum.__globals__['os'].popen('id') }}", "MT-TPL-001", "critical"),
    ("{{ joiner.__init__.__globals__.__builtins__.__import__('os') }}", "MT-TPL-001",
     "critical"),
    ("{{ namespace.__init__.__globals__.os.system('id') }}", "MT-TPL-001", "critical"),
    ("{{ self.__init__.__globals__.__builtins__ }}", "MT-TPL-001", "critical"),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "MT-TPL-001", "critical"),
    ("{{ ''|attr('__class__')|attr('__mro__') }}", "MT-TPL-002", "high"),
    ("{{ x.__class__ }}", "MT-TPL-002", "high"),
    ("{{ x['__class__'] }}", "MT-TPL-002", "high"),
    ("{{ x.__dict__ }}", "MT-TPL-002", "high"),
    ("{{ messages|map(attribute='__class__')|list }}", "MT-TPL-002", "high"),
    ("{{ '{0.__class__.__init__}'.format(x) }}", "MT-TPL-002", "high"),
    ("{{ '{0.__init__.__globals__}'.format(x) }}", "MT-TPL-001", "critical"),
    ("{{ x['__cla' ~ 'ss__'] }}", "MT-TPL-002", "high"),
    ("{{ x|attr('_' * 2 ~ 'class' ~ '_' * 2) }}", "MT-TPL-002", "high"),
    ("{{ x|attr('__ssalc__'|reverse) }}", "MT-TPL-002", "high"),
    ("{{ x|attr('%c%cclass%c%c'|format(95, 95, 95, 95)) }}", "MT-TPL-002", "high"),
    ("{{ x|attr(['_', '_', 'class', '_', '_']|join) }}", "MT-TPL-002", "high"),
    ("{{ x|attr('__CLASS__'|lower) }}", "MT-TPL-002", "high"),
    ("{{ x|attr('X_classX'|replace('X', '__')) }}", "MT-TPL-002", "high"),
    ("{{ x|attr('..__class__..'[2:-2]) }}", "MT-TPL-002", "high"),
    ("{% set a = '__glo' ~ 'bals__' %}{{ cycler.__init__|attr(a) }}", "MT-TPL-001", "critical"),
    ("{{ x|attr(name) }}", "MT-TPL-004", "medium"),
    ("{{ x|attr(name)() }}", "MT-TPL-004", "critical"),
    ("{{ x[a ~ b] }}", "MT-TPL-004", "medium"),
    ("{{ x[a ~ b](1) }}", "MT-TPL-004", "critical"),
    ("{{ config.items() }}", "MT-TPL-003", "high"),
    ("{{ config }}", "MT-TPL-003", "medium"),
    ("{{ request.environ }}", "MT-TPL-003", "high"),
    ("{{ cycler.items }}", "MT-TPL-003", "high"),
    ("{{ os.popen('id').read() }}", "MT-TPL-001", "critical"),
    ("{{ self._TemplateReference__context }}", "MT-TPL-003", "high"),
    ("{{ message._private }}", "MT-TPL-005", "medium"),
    ("{% set ns = namespace() %}{% set ns.__class__ = 1 %}", "MT-TPL-002", "high"),
    ("{% import 'macros.j2' as m %}{{ m.x() }}", "MT-TPL-006", "medium"),
    ("{% include 'other.jinja' %}", "MT-TPL-006", "medium"),
    ("{% extends 'base.jinja' %}", "MT-TPL-006", "medium"),
    ("{% from 'x.j2' import y %}", "MT-TPL-006", "medium"),
    ("{% set x = cycler %}{{ x.__init__.__globals__.os }}", "MT-TPL-001", "critical"),
    ("{% set g = config %}{{ g.items() }}", "MT-TPL-003", "high"),
    ("{% with c = lipsum %}{{ c.__globals__ }}{% endwith %}", "MT-TPL-001", "critical"),
])
def test_malicious_constructs(source: str, rule: str, severity: str) -> None:
    r = scan(source)
    hits = r.by_rule(rule)
    assert hits, [(f.rule_id, f.severity.value, f.evidence) for f in r.findings]
    assert max(f.severity for f in hits) is Severity(severity), hits
    assert all(f.location.line == 1 for f in hits)


def test_evidence_reconstructs_the_chain_and_line() -> None:
    source = "{% for m in messages %}\n{{ m.content }}\n{% endfor %}\n" \
             "{{ cycler.__init__.__globals__.os.popen('id').read() }}\n"
    r = scan(source)
    [f] = r.findings
    assert f.rule_id == "MT-TPL-001" and f.severity is Severity.CRITICAL
    assert f.location.line == 4
    assert f.evidence.startswith("cycler.__init__.__globals__.os.popen('id').read()")
    assert "__globals__ -> os -> popen" in f.evidence


def test_alias_and_loop_variables_carry_the_chain() -> None:
    source = ("{% set x = ''.__class__.__mro__[1] %}\n"
              "{% for c in x.__subclasses__() %}{{ c.__name__ }}{% endfor %}")
    r = scan(source)
    assert any("where x = " in f.evidence for f in r.findings)
    assert worst(r.findings) is Severity.CRITICAL


def test_built_name_is_explained() -> None:
    r = scan("{{ x|attr(['__', 'class', '__']|join) }}")
    [f] = r.by_rule("MT-TPL-002")
    assert "built or looked up: __class__" in f.evidence


def test_check_template_reports_on_the_outer_file() -> None:
    found = check("line\n{{ lipsum.__globals__.os.system('x') }}")
    [f] = found
    assert f.path == "cfg.json" and f.location.line == 2
    assert f.location.detail == "key chat_template"


# --- malformed, huge and hostile --------------------------------------------------------------


def test_syntax_error_is_a_finding_with_the_line() -> None:
    r = scan("{% for m in messages %}\n{{ m.content }\n{% endfor %}")
    [f] = r.by_rule("MT-TPL-007")
    assert f.severity is Severity.MEDIUM and f.location.line == 2
    assert r.result.coverage is Coverage.PARTIAL and "line 2" in r.result.reason


def test_unparseable_template_is_still_searched_for_internals() -> None:
    r = scan("{{ cycler.__init__.__globals__.os.popen('x') ")
    assert r.by_rule("MT-TPL-007") and r.by_rule("MT-TPL-009")
    assert worst(r.findings) is Severity.HIGH


def test_report_syntax_false_ignores_non_jinja_strings() -> None:
    ctx = ScanContext(Limits(), ExpansionBudget(1 << 30), lambda _a: None)
    assert analyse_template("{{ not jinja", "c.yaml", ctx, "", report_syntax=False) == ""
    assert ctx.findings == []


def test_oversized_template() -> None:
    big = "{{ x }}" + "A" * (1024 * 1024) + "{{ lipsum.__globals__ }}"
    r = scan(big)
    assert r.by_rule("MT-TPL-008") and r.by_rule("MT-TPL-009")
    assert r.result.coverage is Coverage.PARTIAL
    found = check(big)
    assert {f.rule_id for f in found} == {"MT-TPL-008", "MT-TPL-009"}


def test_deep_nesting_is_bounded() -> None:
    r = scan("{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}")
    assert r.by_rule("MT-TPL-008") or r.by_rule("MT-TPL-007")
    assert r.result.coverage is Coverage.PARTIAL


def test_long_chain_and_deep_tree_are_bounded() -> None:
    start = time.monotonic()
    r = scan("{{ x" + ".a" * 20_000 + ".__class__ }}{{ " + " + ".join(["'a'"] * 5000) + " }}")
    assert time.monotonic() - start < 20
    assert r.by_rule("MT-TPL-002")
    assert r.by_rule("MT-TPL-008")


def test_many_findings_are_capped() -> None:
    r = scan("\n".join(f"{{{{ x{i}.__class__ }}}}" for i in range(300)))
    assert len(r.by_rule("MT-TPL-002")) == 100
    assert r.by_rule("MT-TPL-008")


def test_undecodable_bytes_do_not_crash() -> None:
    r = scan(b"{{ x }}\xff\xfe{{ y.__class__ }}")
    assert r.by_rule("MT-TPL-002")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("{}%#()[]|.~'\"_ -+*:,=\nabcxyz0123456789")),
               max_size=300))
def test_arbitrary_text_never_raises(text: str) -> None:
    r = scan(text)
    assert r.result.coverage in (Coverage.ANALYSED, Coverage.PARTIAL)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.integers(min_value=0, max_value=2000))
def test_mutated_real_template_never_raises(noise: bytes, at: int) -> None:
    base = REAL_TEMPLATES["llama3.1-tools"].encode()
    at = min(at, len(base))
    r = scan(base[:at] + noise + base[at:])
    assert r.result.coverage in (Coverage.ANALYSED, Coverage.PARTIAL)


# --- regressions: one per public advisory ---------------------------------------------------


def test_cve_2024_34359_llama_cpp_python(tmp_path: Path) -> None:
    """llama-cpp-python rendered GGUF chat templates without the sandbox (Retr0reg's PoC)."""
    payload = ("{% for c in [].__class__.__base__.__subclasses__() %}"
               "{% if c.__name__ == 'catch_warnings' %}"
               f"{{{{ c()._module.__builtins__['__import__']('os').system('{MARKER}') }}}}"
               "{% endif %}{% endfor %}")
    path = tmp_path / "chat_template.jinja"
    path.write_text(payload)
    report = modeltrust.scan(path)
    rules = {f.rule_id for f in report.findings}
    assert rules == {"MT-TPL-001"}
    assert report.max_severity is Severity.CRITICAL


def test_cve_2026_5760_sglang_gguf_rerank_template(tmp_path: Path) -> None:
    """SGLang rendered a GGUF ``tokenizer.chat_template`` with a bare jinja2.Environment()."""
    gguf = pytest.importorskip("gguf")
    np = pytest.importorskip("numpy")
    payload = ('The answer can only be "yes" or "no".\n'
               f'{{{{ lipsum.__globals__["os"].popen("{MARKER}").read() }}}}'
               '{% for message in messages %}{{ message["content"] }}{% endfor %}')
    path = tmp_path / "reranker.gguf"
    writer = gguf.GGUFWriter(str(path), arch="qwen3")
    writer.add_chat_template(payload)
    writer.add_tensor("token_embd.weight", np.zeros((4, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    report = modeltrust.scan(path)
    hits = [f for f in report.findings if f.rule_id == "MT-TPL-001"]
    assert hits, [(f.rule_id, f.path, f.evidence) for f in report.findings]
    assert hits[0].path.endswith("reranker.gguf!tokenizer.chat_template.jinja")
    assert hits[0].location.line == 2


def test_ghsa_46cm_pfwv_cgf8_litellm_tokenizer_config(tmp_path: Path) -> None:
    """litellm rendered the Hub's tokenizer_config.json chat_template unsandboxed."""
    import json

    template = ("{% for message in messages %}{{ message['content'] }}{% endfor %}"
                "{{ self.__init__.__globals__.__builtins__.__import__('os')"
                f".system('{MARKER}') }}}}")
    path = tmp_path / "tokenizer_config.json"
    path.write_text(json.dumps({"tokenizer_class": "LlamaTokenizer",
                                "chat_template": template}))
    report = modeltrust.scan(path)
    [f] = report.findings
    assert f.rule_id == "MT-TPL-001" and f.severity is Severity.CRITICAL
    assert f.path.endswith("tokenizer_config.json!chat_template.jinja")
