"""The XACML answer as bytes: what `render` gives, written as Flask's `jsonify` writes it."""

from __future__ import annotations

import json

import orjson

from pdp import xacml
from pdp.engine import Result
from pdp.vocabulary import INDETERMINATE, NOT_APPLICABLE, PACKAGE_ID, STATUS_SYNTAX_ERROR
from tests.helpers import new_organization, new_person, package_request


def parsed_and_results() -> tuple[xacml.ParsedRequest, list[Result]]:
    body = package_request(new_person(), new_organization(), "maskinlesbarehendelser")
    body["Request"]["AccessSubject"][0]["Attribute"][0]["IncludeInResult"] = True
    parsed = xacml.parse(body)
    return parsed, [Result(NOT_APPLICABLE, version=3, package=PACKAGE_ID + ":x")]


def test_the_bytes_are_the_rendered_answer_compact_with_sorted_keys_and_a_newline():
    parsed, results = parsed_and_results()
    rendered = xacml.render(parsed, results)
    written = xacml.render_json(parsed, results)
    assert written == (json.dumps(rendered, sort_keys=True, separators=(",", ":")) + "\n").encode()
    assert orjson.loads(written) == rendered


def test_text_beyond_ascii_is_written_as_utf8_and_reads_back_the_same():
    parsed = xacml.parse({"Request": {}})
    results = [Result(INDETERMINATE, STATUS_SYNTAX_ERROR, "ukjent rolle 'bestyrer av dødsbo'")]
    written = xacml.render_json(parsed, results)
    assert "dødsbo".encode() in written
    assert json.loads(written) == xacml.render(parsed, results)
