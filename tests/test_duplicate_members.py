"""A JSON body that names a member of an object twice is refused, naming the first repeat;
every other body passes, whatever its strings hold."""

from __future__ import annotations

import json
import random

import orjson
import pytest

from pdp.duplicate_members import DuplicateMember, refuse_duplicates
from pdp.limits import DEFAULT_LIMITS


def members_seen(raw: bytes) -> int:
    """What the walk over the parsed body counts (orjson keeps one member per name)."""
    return DEFAULT_LIMITS.check(orjson.loads(raw))


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": 1, "b": {"c": [1, {"d": 2}]}}',
        b'{"a" :\n 1, "b"\t: 2}',
        b'{"a": "x\\": y", "b": "\\"  :"}',  # quotes and colons inside strings
        b'{"a\\":": 1, "b": ["\\":", {"c\\"": "\\":"}]}',
        b'[1, "a", {"Value": 1, "value": 2}]',  # two casings are two names here
        b'"just a string"',
        b"{}",
    ],
)
def test_a_body_without_repeats_passes(raw):
    refuse_duplicates(raw, members_seen(raw))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"a": 1, "a": 2}', '$: member "a" given twice'),
        (b'{"a" : 1 ,\n"a"\t:\r2}', '$: member "a" given twice'),
        (
            b'{"Request": {"AccessSubject": [{"Attribute": [{"Value": "1", "Value": "2"}]}]}}',
            '$.Request.AccessSubject[0].Attribute[0]: member "Value" given twice',
        ),
        (b'[{"x": [{}, {"b": 1, "c": {"d": 1, "d": 1}, "b": 2}]}]', '$[0].x[1].c: member "d"'),
        (b'{"\\u00e6": 1, "\\u00e6": 2}', '$: member "æ" given twice'),
        (b'{"a\\":": "\\":", "a\\":": 2}', '$: member "a\\":" given twice'),
    ],
)
def test_the_first_repeat_is_refused_by_place_and_name(raw, message):
    with pytest.raises(DuplicateMember) as refused:
        refuse_duplicates(raw, members_seen(raw))
    assert str(refused.value).startswith(message)


def test_the_first_repeat_in_the_text_is_named():
    raw = b'{"a": {"x": 1, "x": 2}, "b": 1, "b": 2}'
    with pytest.raises(DuplicateMember, match=r'^\$\.a: member "x"'):
        refuse_duplicates(raw, members_seen(raw))


def test_random_bodies_are_refused_exactly_when_they_repeat_a_name():
    """Names and strings full of quotes and colons: refused exactly when some object, as the
    standard library parses it keeping every member, repeats a name."""
    rng = random.Random("duplicates")
    names = ["a", "b", 'q":', 'q\\":', " :"]

    def node(depth: int) -> str:
        if depth > 3 or rng.random() < 0.4:
            return json.dumps(rng.choice(["x", 'y":', 'z\\":', 1, None, ":"]))
        if rng.random() < 0.3:
            return "[" + ", ".join(node(depth + 1) for _ in range(rng.randint(0, 3))) + "]"
        keys = [rng.choice(names) for _ in range(rng.randint(0, 3))]
        space = rng.choice(["", " ", "\n  "])
        return "{" + ",".join(f"{json.dumps(k)}{space}:{node(depth + 1)}" for k in keys) + "}"

    for _ in range(2000):
        raw = node(0).encode()
        pairs_repeat = []

        def hook(pairs: list, found: list = pairs_repeat) -> dict:
            names_here = [name for name, _ in pairs]
            if len(set(names_here)) < len(names_here):
                found.append(True)
            return dict(pairs)

        json.loads(raw, object_pairs_hook=hook)
        try:
            refuse_duplicates(raw, members_seen(raw))
            refused = False
        except DuplicateMember:
            refused = True
        assert refused == bool(pairs_repeat), raw
