"""Responses compared as Altinn's own tests compare them (`AssertionUtil.AssertEqual`).

Property names match case-insensitively (Newtonsoft); per result, in order: `Decision`
exactly, `Status.StatusCode.Value` exactly; `Obligations` absent where none are expected,
otherwise the same count and the first obligation's first attribute assignment equal
(`AttributeId`, `Category`, `DataType`, `Issuer` exactly, `Value` ignoring case); echoed
`Category` entries absent where none are expected, otherwise the same count and, in order,
`CategoryId`, `Id`, `Content` and each attribute's `AttributeId`, `DataType`,
`IncludeInResult` (false when absent), `Issuer` and `Value` (ignoring case). Advice and
`PolicyIdentifierList` are not compared.
"""

from __future__ import annotations

from typing import Any


def member(node: Any, name: str, default: Any = None) -> Any:
    """`node[name]`, the name matched case-insensitively (None or `default` when absent)."""
    if not isinstance(node, dict):
        return default
    wanted = name.casefold()
    for key, value in node.items():
        if key.casefold() == wanted:
            return value
    return default


def differences(expected: Any, actual: Any) -> list[str]:
    """What Altinn's comparison would object to in `actual`; empty when they agree."""
    wanted, got = member(expected, "Response") or [], member(actual, "Response") or []
    if len(wanted) != len(got):
        return [f"{len(got)} results, expected {len(wanted)}"]
    problems: list[str] = []
    for index, (want, have) in enumerate(zip(wanted, got, strict=True)):
        where = f"result {index}"
        problems += _compare(where, "Decision", member(want, "Decision"), member(have, "Decision"))
        problems += _compare(where, "status", _status(want), _status(have))
        problems += _obligations(where, member(want, "Obligations"), member(have, "Obligations"))
        problems += _categories(where, member(want, "Category"), member(have, "Category"))
    return problems


def _status(result: Any) -> Any:
    return member(member(member(result, "Status"), "StatusCode"), "Value")


def _compare(where: str, what: str, want: Any, have: Any, *, fold: bool = False) -> list[str]:
    same = (
        str(want).casefold() == str(have).casefold()
        if fold and want is not None and have is not None
        else want == have
    )
    return [] if same else [f"{where}: {what} is {have!r}, expected {want!r}"]


def _obligations(where: str, want: Any, have: Any) -> list[str]:
    if not want:
        return [] if have is None else [f"{where}: Obligations {have!r}, expected none"]
    if not isinstance(have, list) or len(have) != len(want):
        return [f"{where}: Obligations {have!r}, expected {len(want)}"]
    first_want = (member(want[0], "AttributeAssignment") or [None])[0]
    first_have = (member(have[0], "AttributeAssignment") or [None])[0]
    problems = []
    for name in ("AttributeId", "Category", "DataType", "Issuer"):
        problems += _compare(
            f"{where} obligation", name, member(first_want, name), member(first_have, name)
        )
    problems += _compare(
        f"{where} obligation",
        "Value",
        member(first_want, "Value"),
        member(first_have, "Value"),
        fold=True,
    )
    return problems


def _categories(where: str, want: Any, have: Any) -> list[str]:
    if not want:
        return [] if have is None else [f"{where}: Category {have!r}, expected none"]
    if not isinstance(have, list) or len(have) != len(want):
        return [f"{where}: Category {have!r}, expected {len(want)} categories"]
    problems: list[str] = []
    for number, (category, echoed) in enumerate(zip(want, have, strict=True)):
        place = f"{where} category {number}"
        for name in ("CategoryId", "Id", "Content"):
            problems += _compare(place, name, member(category, name), member(echoed, name))
        attributes, got = member(category, "Attribute") or [], member(echoed, "Attribute") or []
        if len(attributes) != len(got):
            problems.append(f"{place}: {len(got)} attributes, expected {len(attributes)}")
            continue
        for attribute, given in zip(attributes, got, strict=True):
            for name in ("AttributeId", "DataType", "Issuer"):
                problems += _compare(place, name, member(attribute, name), member(given, name))
            problems += _compare(
                place,
                "IncludeInResult",
                member(attribute, "IncludeInResult", False),
                member(given, "IncludeInResult", False),
            )
            problems += _compare(
                place, "Value", member(attribute, "Value"), member(given, "Value"), fold=True
            )
    return problems
