"""The resource-policy XML reader refuses DTDs, entity expansion and external references,
whatever shape the attack takes.

Hypothesis builds hostile documents (billion laughs with any depth and fan-out, general and
parameter entities, external entities and DTDs pointing at a real local file holding a
secret, entities referenced from text and attributes, DOCTYPEs after comments and processing
instructions) and then mutates them character by character. Every document is either refused
with an `XmlError` (and by `resource_policies.parse` as a problem) or read without the secret
or an expansion anywhere in it; nothing else may happen, and nothing takes long.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pdp import resource_policies, safe_xml
from pdp.safe_xml import Element, XmlError

SECRET = "PDP-FUZZ-SECRET-7f3a"
#: What an expanded entity would leave in the tree.
EXPANSION = "lol"


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("xml") / "secret.txt"
    path.write_text(SECRET, encoding="utf-8")
    return path


NAMES = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)
PROLOGUE = st.sampled_from(
    ["", '<?xml version="1.0"?>\n', '<?xml version="1.0" encoding="UTF-8"?>\n', "\ufeff"]
)
BEFORE_DOCTYPE = st.sampled_from(["", "<!-- c -->\n", "<?pi x?>\n", "\n  "])


@st.composite
def billion_laughs(draw) -> str:
    depth, fan_out = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    root = draw(NAMES)
    lines = ['<!ENTITY l0 "lol">']
    for level in range(1, depth + 1):
        lines.append(f'<!ENTITY l{level} "{f"&l{level - 1};" * fan_out}">')
    where = draw(st.sampled_from(["text", "attribute"]))
    body = f"<{root}>&l{depth};</{root}>" if where == "text" else f'<{root} a="&l{depth};"/>'
    return f"<!DOCTYPE {root} [\n" + "\n".join(lines) + f"\n]>\n{body}"


@st.composite
def external_entity(draw, secret: Path) -> str:
    root = draw(NAMES)
    uri = draw(st.sampled_from([secret.as_uri(), str(secret), "http://127.0.0.1:9/x"]))
    kind = draw(st.sampled_from(["general", "parameter", "public"]))
    if kind == "general":
        subset = f'<!ENTITY s SYSTEM "{uri}">'
        body = f"<{root}>&s;</{root}>"
    elif kind == "parameter":
        subset = f'<!ENTITY % p SYSTEM "{uri}"> %p;'
        body = f"<{root}/>"
    else:
        subset = f'<!ENTITY s PUBLIC "-//x//y" "{uri}">'
        body = f"<{root}>&s;</{root}>"
    return f"<!DOCTYPE {root} [{subset}]>\n{body}"


@st.composite
def external_dtd(draw, secret: Path) -> str:
    root = draw(NAMES)
    uri = draw(st.sampled_from([secret.as_uri(), "http://127.0.0.1:9/x.dtd"]))
    public = draw(st.booleans())
    external = f'PUBLIC "-//x//y" "{uri}"' if public else f'SYSTEM "{uri}"'
    return f"<!DOCTYPE {root} {external}>\n<{root}/>"


def hostile(secret: Path) -> st.SearchStrategy[str]:
    attack = st.one_of(billion_laughs(), external_entity(secret), external_dtd(secret))
    return st.builds(lambda p, b, a: p + b + a, PROLOGUE, BEFORE_DOCTYPE, attack)


@st.composite
def mutated(draw, documents: st.SearchStrategy[str]) -> str:
    """A document with a few characters inserted, deleted or replaced."""
    text = draw(documents)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        change = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.sampled_from(["<", ">", "&", ";", "%", '"', " ", "!", "[", "]", "x", "\n"]))
        if change == "insert":
            text = text[:at] + piece + text[at:]
        elif change == "delete":
            text = text[:at] + text[at + 1 :]
        else:
            text = text[:at] + piece + text[at + 1 :]
    return text


def _everything_in(element: Element) -> str:
    parts = [element.text, *element.attributes.values(), *element.qualified_attributes.values()]
    return "".join(parts) + "".join(_everything_in(child) for child in element.children)


def _read(text: str) -> Element | XmlError:
    try:
        return safe_xml.parse(text)
    except XmlError as refused:
        return refused


@settings(max_examples=300, deadline=2000)
@given(data=st.data())
def test_every_hostile_document_is_refused(data, secret_file):
    text = data.draw(hostile(secret_file))
    refused = _read(text)
    assert isinstance(refused, XmlError), text
    assert "DTD" in refused.message or "entity" in refused.message
    problems: list = []
    assert resource_policies.parse("resources/x/policy.xml", "x", text, problems) is None
    assert problems


@settings(
    max_examples=500, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_mutated_hostile_document_is_refused_or_read_without_expanding_anything(
    data, secret_file
):
    text = data.draw(mutated(hostile(secret_file)))
    read = _read(text)
    if isinstance(read, Element):
        everything = _everything_in(read)
        assert SECRET not in everything
        assert EXPANSION * 2 not in everything
        assert "<!DOCTYPE" not in text.split("-->")[-1], "a DOCTYPE outside a comment was read"
    problems: list = []
    resource_policies.parse("resources/x/policy.xml", "x", text, problems)  # never raises


def test_a_billion_laughs_of_a_billion_is_refused_at_once():
    """Ten levels of ten: 10**10 expansions, if anything expanded them."""
    subset = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 11)
    )
    with pytest.raises(XmlError, match="DTD"):
        safe_xml.parse(f"<!DOCTYPE x [{subset}]><x>&l10;</x>")
