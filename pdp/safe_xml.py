"""Read untrusted XML safely into a small element tree that remembers each element's line.

Resource policies are written by service owners and reach us as files or over HTTP, so the
reader assumes the worst: no DTD (so no entity definitions and no billion laughs), no entity
expansion, no external references (defusedxml refuses each), UTF-8 only, and a size limit
checked before parsing. A refusal is an `XmlError` naming the line where known; a policy
author needs the line to find the mistake.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler, feature_namespaces
from xml.sax.xmlreader import Locator

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.sax import make_parser

#: The largest XML document read (bytes of its UTF-8 text). Altinn's largest policies are
#: tens of kilobytes; a megabyte is far beyond any real one and still cheap to parse.
MAX_XML_BYTES = 1024 * 1024

_DECLARED_ENCODING = re.compile(r"""^\s*<\?xml[^>]*\bencoding\s*=\s*["']([^"']*)["']""")


class XmlError(ValueError):
    """An XML document was refused; `line` is where, when the parser knows."""

    def __init__(self, message: str, line: int | None = None):
        self.message = message
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)


@dataclass
class Element:
    """One XML element: its namespace and local name, plain (unqualified) attributes, the
    text directly inside it, its child elements, and the line it starts on."""

    namespace: str | None
    name: str
    attributes: dict[str, str]
    line: int
    #: Attributes in a namespace (such as `xsi:schemaLocation`), as `{namespace}name`.
    qualified_attributes: dict[str, str] = field(default_factory=dict)
    text: str = ""
    children: list[Element] = field(default_factory=list)


def check_size(data: bytes) -> None:
    """Refuse a document over MAX_XML_BYTES, before anything reads it."""
    if len(data) > MAX_XML_BYTES:
        raise XmlError(f"larger than {MAX_XML_BYTES} bytes ({len(data)} bytes): refused unread")


def decode(data: bytes) -> str:
    """The text of an XML file: UTF-8 (a byte-order mark is dropped), within the size limit."""
    check_size(data)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise XmlError(f"not UTF-8: {error}") from None


def parse(text: str) -> Element:
    """The root element of an XML document held as text; XmlError if it is too large,
    malformed, not UTF-8, or uses a DTD, entities or external references."""
    data = text.encode("utf-8")
    check_size(data)
    declared = _DECLARED_ENCODING.match(text)
    if declared and declared.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise XmlError(f"encoding must be UTF-8, the declaration says {declared.group(1)!r}", 1)
    builder = _TreeBuilder()
    parser = make_parser()
    parser.forbid_dtd = True
    parser.forbid_entities = True
    parser.forbid_external = True
    parser.setFeature(feature_namespaces, True)
    parser.setContentHandler(builder)
    try:
        parser.parse(io.BytesIO(data))
    except SAXParseException as error:
        raise XmlError(
            f"not well-formed XML: {error.getMessage()}", error.getLineNumber()
        ) from None
    except DTDForbidden:
        raise XmlError("a DTD (<!DOCTYPE ...>) is not allowed", builder.line()) from None
    except EntitiesForbidden as error:
        raise XmlError(f"entity declaration {error.name!r} not allowed", builder.line()) from None
    except ExternalReferenceForbidden:
        raise XmlError("external references are not allowed", builder.line()) from None
    if builder.root is None:  # pragma: no cover - expat refuses a document without an element
        raise XmlError("no root element")
    return builder.root


class _TreeBuilder(ContentHandler):
    """SAX events into `Element`s, each with the line the parser was on at its start."""

    def __init__(self) -> None:
        super().__init__()
        self.root: Element | None = None
        self._open: list[Element] = []
        self._locator: Locator | None = None

    def setDocumentLocator(self, locator: Locator) -> None:
        self._locator = locator

    def line(self) -> int | None:
        return self._locator.getLineNumber() if self._locator else None

    def startElementNS(self, name, qname, attrs) -> None:
        namespace, local = name
        plain = {key[1]: value for key, value in attrs.items() if key[0] is None}
        qualified = {f"{{{key[0]}}}{key[1]}": value for key, value in attrs.items() if key[0]}
        element = Element(namespace, local, plain, self.line() or 0, qualified)
        if self._open:
            self._open[-1].children.append(element)
        else:
            self.root = element
        self._open.append(element)

    def endElementNS(self, name, qname) -> None:
        self._open.pop()

    def characters(self, content: str) -> None:
        if self._open:
            self._open[-1].text += content
