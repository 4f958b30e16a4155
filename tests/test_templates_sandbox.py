"""Templates are content: they must never reach Python internals, and never crash the renderer."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from revops_assets.outbound.templates import TemplateLibrary, TemplateRejected, render_string
from revops_assets.settings import PROJECT_DIR

CONTEXT = {"first_name": "Ana", "company_name": "Acme", "facts": [{"fact": "x", "url": "https://a.test"}],
           "fact": {"fact": "x", "url": "https://a.test"}, "sender": {"name": "Sam"}, "n": 3,
           "postal_address": "1 Main St", "unsubscribe_url": "https://u.test/x?t=1"}

ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ self.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ range.__self__ }}",
    "{{ first_name.__class__ }}",
    "{{ fact._private }}",
    "{{ facts.__len__() }}",
    "{{ sender|attr('__class__') }}",
    "{{ ''|attr('__class__')|attr('__mro__') }}",
    "{{ '{0.__class__}'.format(first_name) }}",
    "{{ '{0.__class__.__mro__}'.format(1) }}",
    "{% set x = facts.append(1) %}{{ x }}",
    "{% set x = sender.update({'a': 1}) %}{{ x }}",
    "{{ 9 ** 9 ** 9 }}",
    "{{ 'a' * 100000000 }}",
    "{{ '%999999999d' % 1 }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_sandbox_escapes_are_rejected_with_a_reason(source):
    with pytest.raises(TemplateRejected) as info:
        render_string(source, CONTEXT)
    assert info.value.reason.startswith("unsafe template:"), info.value.reason


@pytest.mark.parametrize("source, reason", [
    ("{{ nope }}", "undefined variable"),
    ("{{ fact.nope.deeper }}", "undefined variable"),
    ("{% if %}", "template syntax error (line 1)"),
    ("{{ 1 / 0 }}", "render error: ZeroDivisionError"),
    ("{% for i in range(10**9) %}{% endfor %}", "undefined variable: 'range' is undefined"),  # no globals at all
    ("{% for i in [1] * 10**9 %}{% endfor %}", "unsafe template: repetition too large"),  # the loop bomb without range
    ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "render error"),
])
def test_broken_templates_are_rejected_with_a_reason(source, reason):
    with pytest.raises(TemplateRejected) as info:
        render_string(source, CONTEXT)
    assert info.value.reason.startswith(reason), info.value.reason


JINJA_DEFAULT_GLOBALS = ["range", "dict", "lipsum", "cycler", "joiner", "namespace"]


@pytest.mark.parametrize("name", JINJA_DEFAULT_GLOBALS)
@pytest.mark.parametrize("use", ["{{ %s }}", "{{ %s() }}", "{%% set x = %s %%}{{ x }}", "{{ %s|string }}"])
def test_jinja_default_globals_are_undefined_not_rendered_as_python_reprs(name, use):
    """They used to render ``<class 'range'>``, ``<function generate_lorem_ipsum at 0x..>`` and the like."""
    for autoescape in (True, False):
        with pytest.raises(TemplateRejected) as info:
            render_string(use % name, CONTEXT, autoescape=autoescape)
        assert info.value.reason == f"undefined variable: '{name}' is undefined", info.value.reason


@pytest.mark.parametrize("name", JINJA_DEFAULT_GLOBALS)
def test_a_content_file_using_a_default_global_is_refused_in_subject_and_body(tmp_path, name):
    layout = (PROJECT_DIR / "content" / "emails" / "_layout.html.j2").read_text()
    (tmp_path / "_layout.html.j2").write_text(layout)
    (tmp_path / "uses.html.j2").write_text(
        f"---\nversion: 1\nsteps:\n  - subject: {{A: \"Hi {{{{ {name} }}}}\"}}\n  - subject: {{A: 'fine'}}\n---\n"
        f"{{% block step1 %}}<p>hi</p>{{% endblock %}}\n{{% block step2 %}}<p>{{{{ {name} }}}}</p>{{% endblock %}}\n")
    lib = TemplateLibrary(tmp_path)
    assert lib.errors == {}, lib.errors  # compiles: a name is only looked up when rendered
    for step in (1, 2):
        with pytest.raises(TemplateRejected) as info:
            lib.render("uses", step, "A", CONTEXT)
        assert info.value.reason == f"undefined variable: '{name}' is undefined", info.value.reason


def test_every_shipped_template_renders_every_step_and_variant_without_globals():
    lib = TemplateLibrary(PROJECT_DIR / "content" / "emails")
    assert lib.errors == {} and lib.templates
    ctx = {**CONTEXT, "last_name": "Lee", "title": "CTO", "domain": "acme.test",
           "sender": {"name": "Sam", "email": "sam@hive.test", "company": "Hive"}}
    for tid, tpl in lib.templates.items():
        for persona in ("technical", "revenue_leader", "executive"):
            for step in range(1, tpl.steps + 1):
                for variant in tpl.variants:
                    for fact in (ctx["fact"], None):
                        email = lib.render(tid, step, variant, {**ctx, "persona": persona, "fact": fact})
                        assert email.subject.strip() and "Ana" in email.html + email.subject, (tid, step, variant)
                        assert not any(leak in email.html for leak in ("<function", "<class", "object at 0x"))


def test_ordinary_templates_render_and_autoescape():
    out = render_string("Hi {{ first_name }}, {{ fact.fact }} {{ n * 2 }} {{ '<b>' }}", CONTEXT)
    assert out == "Hi Ana, x 6 &lt;b&gt;"
    assert render_string("{{ '%s-%d' % ('a', 2) }} {{ 'ab' * 3 }}", CONTEXT, autoescape=False) == "a-2 ababab"


def test_a_hostile_content_file_is_rejected_at_render_not_executed(tmp_path):
    layout = (PROJECT_DIR / "content" / "emails" / "_layout.html.j2").read_text()
    (tmp_path / "_layout.html.j2").write_text(layout)
    (tmp_path / "evil.html.j2").write_text(
        "---\nversion: 1\nsteps:\n  - subject: {A: \"{{ cycler.__init__.__globals__ }}\"}\n"
        "  - subject: {A: 'fine'}\n---\n"
        "{% block step1 %}<p>hi</p>{% endblock %}\n"
        "{% block step2 %}{{ ''.__class__.__mro__[1].__subclasses__() }}{% endblock %}\n")
    lib = TemplateLibrary(tmp_path)
    assert lib.errors == {} and lib.templates["evil"].version == "v1"
    ctx = {**CONTEXT, "sender": {"name": "Sam"}}
    for step in (1, 2):
        with pytest.raises(TemplateRejected) as info:
            lib.render("evil", step, "A", ctx)
        assert "unsafe template" in info.value.reason


FRAGMENTS = st.sampled_from([
    "{{", "}}", "{%", "%}", "{#", "#}", " ", "x", "first_name", "fact", "facts", "n", "'s'", "1", "0", ".", "|",
    "(", ")", "[", "]", "__class__", "__globals__", "_x", "cycler", "lipsum", "self", "range", "upper", "join",
    "attr", "format", "if ", "for i in ", "endif", "endfor", "set y = ", "*", "**", "/", "%", "~", "+", ",",
    "block b", "endblock", "macro m()", "endmacro", "'%s'", "loop.index", "\n", "<b>", "&",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.lists(FRAGMENTS, max_size=25).map("".join), st.text(max_size=60)))
def test_random_templates_never_crash_they_render_or_are_rejected(source):
    try:
        out = render_string(source, CONTEXT)
    except TemplateRejected as exc:
        assert isinstance(exc.reason, str) and exc.reason.strip()
        return
    assert isinstance(out, str)
