"""Chat-template sandbox escapes in forms the first test set did not cover.

Built from the technique classes of CVE-2024-34359, CVE-2026-5760 and GHSA-46cm-pfwv-cgf8:
names hidden by string building, values passed through macros, ``caller``, namespaces,
dicts, loops and ``{% set %}`` blocks, attribute-taking filters, ``{% filter %}`` blocks,
format strings, introspection attributes without underscores, and templates jinja2 rejects.
Every sample is parsed only; the marker command is never run.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _scanners.archive_factory import Run, run
from modeltrust._inventory.formats import Format
from modeltrust._report.model import Coverage
from modeltrust._scanners.template import MAX_FRAGMENTS, TemplateScanner
from modeltrust.findings import Severity

SCANNER = TemplateScanner()
MARKER = "touch /tmp/modeltrust-test-marker-DO-NOT-CREATE"


def scan(source: str) -> Run:
    return run(SCANNER, "chat_template.jinja", source.encode(), Format.TEMPLATE)


def summary(r: Run) -> list[tuple[str, str, str]]:
    return [(f.rule_id, f.severity.value, f.evidence) for f in r.findings]


ESCAPES = [
    # subscripts and filters spelled out
    "{{ ''['__class__']['__base__']['__subclasses__']()[140]['__init__']['__globals__']"
    f"['popen']('{MARKER}') }}}}",
    "{{ ''|attr('__cl'~'ass__')|attr('__base__')|attr('__subcla'~'sses__')() }}",
    "{{ x.__class__.__base__.__subclasses__()[117].__init__.__globals__['sys']"
    f".modules['os'].popen('{MARKER}') }}}}",
    "{{ ((lipsum|attr('__globals__'))['os']|attr('popen'))('id') }}",
    "{{ dict.mro()[1].__subclasses__() }}",
    "{{ ''.__class__.mro()[1].__subclasses__() }}",
    "{{ lipsum.__globals__.__getitem__('os') }}",
    "{{ lipsum.__globals__.get('os') }}",
    "{{ x.gi_frame.f_globals }}",
    # names built from strings, folded exactly
    "{% set a %}__glo{{ 'bals__' }}{% endset %}{{ cycler.__init__|attr(a) }}",
    "{% set p = 'po' ~ 'pen' %}{{ lipsum.__globals__.os|attr(p) }}",
    "{% for n in ['__init__', '__globals__'] %}{% set x = x|attr(n) %}{% endfor %}",
    "{% set f = '{0.__class__.__init__.__globals__}' %}{{ f.format(x) }}",
    "{{ cycler.__init__|attr('slabolg__'[::-1] ~ '__') }}",
    "{{ cycler.__init__|attr(['', 'globals', '']|join(d='__')) }}",
    "{{ cycler.__init__|attr('xx__globals__xx'|trim('x')) }}",
    "{{ cycler.__init__|attr(dict(__globals__=1)|first) }}",
    # objects passed around
    "{% macro m(o) %}{{ o.__init__.__globals__ }}{% endmacro %}{{ m(cycler) }}",
    "{% macro m(o, a) %}{{ o|attr(a)|attr('__globals__') }}{% endmacro %}"
    "{{ m(cycler, '__init__') }}",
    "{% macro m(o, a, b) %}{{ o|attr(a)|attr(b) }}{% endmacro %}"
    "{{ m(cycler, '__init__', '__globals__') }}",
    "{% macro m(o) %}{{ o['os'].popen('id') }}{% endmacro %}"
    "{{ m(lipsum|attr('__glo' ~ 'bals__')) }}",
    "{% macro m(o) %}{{ caller(o) }}{% endmacro %}"
    "{% call(g) m(cycler) %}{{ g.__init__.__globals__.os.popen('id') }}{% endcall %}",
    "{% call cycler.__init__.__globals__.os.popen('id') %}{% endcall %}",
    "{% with c = cycler %}{{ c.__init__.__globals__.os.popen('id').read() }}{% endwith %}",
    "{% for c in [cycler] %}{{ c.__init__.__globals__.os }}{% endfor %}",
    "{% set ns = namespace(a=cycler) %}{{ ns.a.__init__.__globals__.os.popen('id') }}",
    "{% set ns = namespace() %}{% set ns.a = lipsum.__globals__ %}{{ ns.a.os.popen('id') }}",
    "{% set d = {'k': lipsum} %}{{ d.k.__globals__ }}",
    "{% set x, y = 1, lipsum %}{{ y['__glob' ~ 'als__'] }}",
    "{% set g = lipsum|attr('__globals__') %}{% set o = g['os'] %}{{ o.popen('id') }}",
    "{% filter attr('__class__')|attr('__base__')|attr('__subclasses__') %}x{% endfilter %}",
    "{% filter upper %}{{ cycler.__init__.__globals__ }}{% endfilter %}",
    "{{ messages|map(attribute='__init__.__globals__.os.popen')|list }}",
    # Flask-style host objects
    "{{ request.application.__globals__.__builtins__.__import__('os').popen('id').read() }}",
    "{{ config.__class__.__init__.__globals__['os'].popen('id').read() }}",
    "{{ self._TemplateReference__context.cycler.__init__.__globals__.os }}",
    "{{ m._func.__globals__ }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_escapes_are_critical(source: str) -> None:
    r = scan(source)
    hits = r.by_rule("MT-TPL-001")
    assert hits, summary(r)
    assert max(f.severity for f in hits) is Severity.CRITICAL, summary(r)


NON_ESCAPING = [
    # (source, rule, severity): unusual, but nothing reaches globals, builtins or classes
    ("{{ x|attr('__cl'~'ass__')|attr('__mro__') }}", "MT-TPL-002", "high"),
    ("{{ x|attr('{}class{}'.format('__', '__')) }}", "MT-TPL-002", "high"),
    ("{{ x|attr('%sclass%s' % ('__', '__')) }}", "MT-TPL-002", "high"),
    ("{{ x|attr(('__', 'class', '__')|join) }}", "MT-TPL-002", "high"),
    ("{{ x|attr('ssalc__'[::-1] ~ '__'[::-1]) }}", "MT-TPL-002", "high"),
    ("{{ x|attr('__CLASS__'.swapcase()) }}", "MT-TPL-002", "high"),
    ("{{ x|attr('xx__class__'.removeprefix('xx')) }}", "MT-TPL-002", "high"),
    ("{{ x|attr('a.__class__.b'.split('.')[1]) }}", "MT-TPL-002", "high"),
    ("{{ x|attr(2 * '_' ~ 'class' ~ '_' * 2) }}", "MT-TPL-002", "high"),
    ("{{ x|attr('__class__'|safe) }}", "MT-TPL-002", "high"),
    ("{{ x|attr('\\x5f\\x5fclass\\x5f\\x5f') }}", "MT-TPL-002", "high"),
    ("{{ x['\\u005f\\u005fclass\\u005f\\u005f'] }}", "MT-TPL-002", "high"),
    ("{{ x|attr('\\N{LOW LINE}\\N{LOW LINE}class\\N{LOW LINE}\\N{LOW LINE}') }}",
     "MT-TPL-002", "high"),
    ("{% set a %}__class__{% endset %}{{ x|attr(a) }}", "MT-TPL-002", "high"),
    ("{% set a = 'content' %}{% set a = '__class__' %}{{ x|attr(a) }}", "MT-TPL-002", "high"),
    ("{% set a = '__class__' if c else 'content' %}{{ x|attr(a) }}", "MT-TPL-002", "high"),
    ("{% for n in ['__cla' ~ 'ss__'] %}{{ x|attr(n) }}{% endfor %}", "MT-TPL-002", "high"),
    ("{% set d = {'k': '__class__'} %}{{ x|attr(d.k) }}", "MT-TPL-002", "high"),
    ("{% set l = ['__class__'] %}{{ x|attr(l|first) }}", "MT-TPL-002", "high"),
    ("{% set ns = namespace(c='__class__') %}{{ x|attr(ns.c) }}", "MT-TPL-002", "high"),
    ("{% set ns = namespace() %}{% set ns.c = '__class__' %}{{ x|attr(ns.c) }}",
     "MT-TPL-002", "high"),
    ("{% macro m(o, a='__init__') %}{{ o|attr(a) }}{% endmacro %}{{ m(x) }}",
     "MT-TPL-002", "high"),
    ("{% macro m(o, a) %}{{ o|attr(a) }}{% endmacro %}{{ m(x, '__class__') }}",
     "MT-TPL-002", "high"),
    ("{{ x|attr({'__class__': 1}|first) }}", "MT-TPL-002", "high"),
    ("{{ x|attr(dict(__class__=1).keys()|first) }}", "MT-TPL-002", "high"),
    ("{{ x.pop('__class__') }}", "MT-TPL-002", "high"),
    ("{% filter attr('__class__') %}x{% endfilter %}", "MT-TPL-002", "high"),
    ("{{ ('{0.__cla' ~ 'ss__}').format(x) }}", "MT-TPL-002", "high"),
    ("{{ messages|groupby('__class__') }}", "MT-TPL-002", "high"),
    ("{{ messages|sum('__class__') }}", "MT-TPL-002", "high"),
    ("{{ messages|sort(false, false, '__class__') }}", "MT-TPL-002", "high"),
    ("{{ messages|unique(false, '__class__') }}", "MT-TPL-002", "high"),
    ("{{ messages|max(false, '__class__') }}", "MT-TPL-002", "high"),
    ("{{ messages|join('', '__class__') }}", "MT-TPL-002", "high"),
    ("{{ messages|join(attribute='__class__') }}", "MT-TPL-002", "high"),
    ("{{ messages|map(attribute='__cla' ~ 'ss__')|list }}", "MT-TPL-002", "high"),
    ("{{ dict.mro() }}", "MT-TPL-002", "high"),
    ("{{ range.__class__ }}", "MT-TPL-002", "high"),
    ("{% do x.update({'a': cycler.__init__}) %}", "MT-TPL-002", "high"),
    ("{% macro m() %}{{ caller(lipsum) }}{% endmacro %}"
     "{% call(g) m() %}{{ g|attr('x') }}{% endcall %}", "MT-TPL-003", "high"),
    ("{% set x, y = cycler, 1 %}{{ x.items }}", "MT-TPL-003", "high"),
    ("{{ cycler }}", "MT-TPL-003", "medium"),
    ("{{ self }}", "MT-TPL-003", "medium"),
    ("{{ lipsum|string }}", "MT-TPL-003", "medium"),
    ("{{ request }}", "MT-TPL-003", "medium"),
    ("{{ x|attr('X_classX'|replace('X', '__', 1)) }}", "MT-TPL-005", "medium"),
    ("{{ messages|selectattr(a)|list }}", "MT-TPL-004", "medium"),
    ("{{ x|attr('__CLASS__'.translate(t)) }}", "MT-TPL-004", "medium"),
]


@pytest.mark.parametrize(("source", "rule", "severity"), NON_ESCAPING)
def test_non_escaping_constructs_get_their_grade(source: str, rule: str, severity: str) -> None:
    r = scan(source)
    hits = r.by_rule(rule)
    assert hits, summary(r)
    assert max(f.severity for f in hits) is Severity(severity), summary(r)
    assert not r.by_rule("MT-TPL-001"), summary(r)


@pytest.mark.parametrize("source", [
    "{% set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}"
    "{% for m in messages[::-1] %}{% set index = (messages|length - 1) - loop.index0 %}"
    "{% if ns.multi_step_tool and m.role == 'user' %}{% set ns.multi_step_tool = false %}"
    "{% set ns.last_query_index = index %}{% endif %}{% endfor %}",
    "{%- set content = message.content.split('</think>')[-1].lstrip('\\n') %}"
    "{%- if content.startswith('<tool_response>') %}{{ content }}{% endif %}",
    "{{ param_spec.enum | map('tojson') | join(' | ') }}",
    "{{ messages|join(', ', 'content') }}{{ messages|sort(attribute='role')|first }}",
    "{{ messages|groupby('role')|list }}{{ messages|sum(attribute='tokens') }}",
    "{% macro render(tool, indent='  ') %}{{ indent ~ tool.name }}{% endmacro %}"
    "{% for t in tools %}{{ render(t) }}{% endfor %}",
    "{% set sep = joiner(', ') %}{% for t in tools %}{{ sep() }}{{ t['name'] }}{% endfor %}",
    "{% set fields = {'name': tool.name, 'args': tool.arguments} %}{{ fields.name }}"
    "{{ fields['args']|tojson }}",
    "{% filter upper %}{{ message.role }}{% endfilter %}",
    "{% set block %}<tool>{{ tool.name }}</tool>{% endset %}{{ block|trim }}",
    "{{ '{0}: {1}'.format(message.role, message.content) }}",
    "{{ 'name' if tool.function is defined else 'id' }}",
])
def test_modern_benign_idioms_stay_clean(source: str) -> None:
    r = scan(source)
    assert r.findings == [], summary(r)


# --- templates jinja2 rejects: still graded, capped at high ---------------------------------


def test_unclosed_block_payload_is_still_graded() -> None:
    r = scan("{% if x %}\n{{ cycler.__init__|attr('__glo' ~ 'bals__') }}\n")
    assert r.by_rule("MT-TPL-007")
    [hit] = r.by_rule("MT-TPL-001")
    assert hit.severity is Severity.HIGH and hit.location.line == 2
    assert "jinja2 rejects" in hit.evidence
    assert r.result.coverage is Coverage.PARTIAL


def test_unknown_tag_does_not_hide_a_built_name() -> None:
    r = scan("{% set a = 'po' ~ 'pen' %}{% trans %}x{% endtrans %}"
             "{{ lipsum|attr('__glo' ~ 'bals__')|attr('os')|attr(a)('id') }}")
    assert r.by_rule("MT-TPL-007")
    assert r.by_rule("MT-TPL-001")
    assert max(f.severity for f in r.findings) is Severity.HIGH


@pytest.mark.parametrize("source", [
    "{{ x }", "{% for %}", "{% endfor %}", "{{ '", "{% set %}", "{% macro %}{{ caller( }}",
    "{{ x|attr( }}", "{% if %}{% elif %}{% else %}", "{{" * 5000, "{%" * 5000 + "%}" * 10,
    "{% raw %}{{ lipsum.__globals__ }}", "{# never closed", "}}{{" * 2000,
])
def test_every_malformed_template_is_a_syntax_finding(source: str) -> None:
    r = scan(source)
    assert r.by_rule("MT-TPL-007") or r.by_rule("MT-TPL-008"), summary(r)
    assert r.result.coverage is Coverage.PARTIAL
    assert all(f.evidence for f in r.findings)


# --- bounds ------------------------------------------------------------------------------


def test_many_bindings_to_one_name_are_linear() -> None:
    source = "".join("{% set a = a ~ 'x' %}" for _ in range(20_000)) + "{{ x|attr(a) }}"
    r = scan(source)
    assert r.by_rule("MT-TPL-004")


def test_chained_assignments_fold_through_the_chain() -> None:
    source = "{% set a0 = '__' %}" + "".join(
        f"{{% set a{i} = a{i - 1} %}}" for i in range(1, 500)) + \
        "{{ x|attr(a499 ~ 'class__') }}"
    assert scan(source).by_rule("MT-TPL-002")


def test_deeply_nested_string_building_is_bounded() -> None:
    source = "{{ x|attr(" + "(" * 150 + "'_'" + " ~ '_')" * 150 + ") }}"
    r = scan(source)
    assert r.result.coverage in (Coverage.ANALYSED, Coverage.PARTIAL)


def test_recovery_of_a_huge_broken_template_is_bounded() -> None:
    body = "{{ m.content }}\n" * 40_000
    r = scan("{% if x %}" + body + "{{ lipsum.__globals__ }}")
    assert r.by_rule("MT-TPL-007") and r.by_rule("MT-TPL-009")


def test_recovery_cap_is_reported() -> None:
    r = scan("{% if x %}" + "{{ m }}" * (MAX_FRAGMENTS + 10))
    assert any("jinja2 rejects" in f.evidence for f in r.by_rule("MT-TPL-008"))


_PIECES = ["lipsum", "cycler", "x", "''", "[]", "dict", "ns", "m", "caller(x)", "loop"]
_STEPS = [".__class__", "['__globals__']", "|attr('__init__')", "|attr(a ~ b)", "()", "[0]",
          ".os", "|map(attribute='__base__')", ".mro()", "|first", "|attr('po' ~ 'pen')",
          "['__sub' ~ 'classes__']", ".content", "|join", "[::-1]", "|attr(n)"]
_WRAP = ["{{ %s }}", "{%% set v = %s %%}{{ v.x }}", "{%% for v in %s %%}{{ v }}{%% endfor %%}",
         "{%% macro q(o) %%}{{ o.y }}{%% endmacro %%}{{ q(%s) }}", "{%% if %s %%}",
         "{%% with w = %s %%}{{ w|attr('k') }}{%% endwith %%}", "{%% do %s %%}"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_PIECES), st.lists(st.sampled_from(_STEPS), max_size=8),
       st.sampled_from(_WRAP))
def test_generated_chains_never_raise_and_dunders_are_seen(root: str, steps: list[str],
                                                           wrap: str) -> None:
    chain = root
    for step in steps:  # parenthesised: ``x|f.y`` would be a filter named ``f.y``
        chain = f"({chain}){step}"
    source = wrap % chain
    r = scan(source)
    assert r.result.coverage in (Coverage.ANALYSED, Coverage.PARTIAL)
    if any("__" in s for s in steps) and not r.by_rule("MT-TPL-007"):
        assert r.findings and max(f.severity for f in r.findings) >= Severity.HIGH, source


def test_nesting_too_deep_for_this_stack_is_graded_uncapped() -> None:
    """The renderer may have more stack left than the scanner: the payload still counts."""
    depth = 3000
    r = scan("{% if a %}" * depth + "{{ lipsum|attr('__glo' ~ 'bals__') }}"
             + "{% endif %}" * depth)
    assert r.by_rule("MT-TPL-008")
    assert max(f.severity for f in r.by_rule("MT-TPL-001")) is Severity.CRITICAL


def test_plain_words_that_are_also_attribute_names_stay_clean() -> None:
    assert scan("{% set langs = ['mro', 'en'] %}{{ langs|join(',') }}").findings == []


@pytest.mark.parametrize(("source", "rule", "severity"), [
    ("{% if false %}{% set lipsum = 1 %}{% endif %}{{ lipsum|attr(a)|attr(b)('id') }}",
     "MT-TPL-004", "critical"),
    ("{% for cycler in [] %}{% endfor %}{{ cycler|attr(k) }}", "MT-TPL-003", "high"),
    ("{% if false %}{% set config = {} %}{% endif %}{{ config.items() }}", "MT-TPL-003",
     "high"),
    ("{% macro m(self) %}{% endmacro %}{{ self|attr(k) }}", "MT-TPL-003", "high"),
])
def test_shadowing_an_engine_global_does_not_hide_it(source: str, rule: str,
                                                     severity: str) -> None:
    r = scan(source)
    assert r.by_rule(rule), summary(r)
    assert max(f.severity for f in r.by_rule(rule)) is Severity(severity), summary(r)
