"""The safe XML reader: untrusted policies are read without a DTD, entities or external
references, in UTF-8 and within a size limit, and every refusal says where."""

from __future__ import annotations

import pytest

from pdp import safe_xml
from pdp.safe_xml import MAX_XML_BYTES, XmlError

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<lolz>&lol3;</lolz>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<x>&secret;</x>
"""

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE x SYSTEM "http://example.com/x.dtd">
<x/>
"""


def refusal(text: str) -> XmlError:
    with pytest.raises(XmlError) as refused:
        safe_xml.parse(text)
    return refused.value


def test_elements_keep_namespace_attributes_text_children_and_line():
    root = safe_xml.parse(
        '<?xml version="1.0"?>\n<p:a xmlns:p="urn:x" k="v" xmlns:o="urn:o" o:q="w">\n'
        "  <p:b>text</p:b>\n</p:a>\n"
    )
    assert (root.namespace, root.name, root.attributes, root.line) == ("urn:x", "a", {"k": "v"}, 2)
    assert root.qualified_attributes == {"{urn:o}q": "w"}
    [child] = root.children
    assert (child.name, child.text, child.line) == ("b", "text", 3)


def test_a_default_namespace_applies_to_unprefixed_elements():
    root = safe_xml.parse('<a xmlns="urn:x"><b/></a>')
    assert (root.namespace, root.children[0].namespace) == ("urn:x", "urn:x")


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (BILLION_LAUGHS, "line 2: a DTD (<!DOCTYPE ...>) is not allowed"),
        (EXTERNAL_ENTITY, "line 2: a DTD (<!DOCTYPE ...>) is not allowed"),
        (EXTERNAL_DTD, "line 2: a DTD (<!DOCTYPE ...>) is not allowed"),
        ("<x>&undeclared;</x>", "line 1: not well-formed XML: undefined entity"),
    ],
    ids=["billion laughs", "external entity", "external DTD", "undeclared entity"],
)
def test_dtds_and_entities_are_refused_before_anything_is_expanded(document, expected):
    assert str(refusal(document)) == expected


def test_a_malformed_document_is_refused_with_its_line():
    error = refusal("<a>\n  <b>\n</a>\n")
    assert error.line == 3
    assert str(error) == "line 3: not well-formed XML: mismatched tag"


def test_an_empty_document_is_refused():
    assert "no element found" in str(refusal(""))


def test_a_document_over_the_size_limit_is_refused_unread():
    text = "<a>" + "x" * MAX_XML_BYTES + "</a>"
    assert str(refusal(text)) == (
        f"larger than {MAX_XML_BYTES} bytes ({len(text)} bytes): refused unread"
    )


def test_the_limit_counts_bytes_not_characters():
    text = "<a>" + "ø" * (MAX_XML_BYTES // 2) + "</a>"  # 2 bytes a character
    assert len(text) < MAX_XML_BYTES
    assert "larger than" in str(refusal(text))


def test_a_document_declaring_another_encoding_is_refused():
    error = refusal('<?xml version="1.0" encoding="ISO-8859-1"?><a/>')
    assert str(error) == "line 1: encoding must be UTF-8, the declaration says 'ISO-8859-1'"


def test_decode_drops_a_byte_order_mark_and_refuses_other_encodings():
    assert safe_xml.decode("\ufeff<a/>".encode()) == "<a/>"
    with pytest.raises(XmlError, match="not UTF-8"):
        safe_xml.decode("<a>ø</a>".encode("latin-1"))


def test_decode_refuses_a_file_over_the_limit():
    with pytest.raises(XmlError, match="larger than"):
        safe_xml.decode(b" " * (MAX_XML_BYTES + 1))
