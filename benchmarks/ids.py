"""Valid Norwegian identifiers in bulk, without guessing.

The PDP checks every identifier's mod-11 check digits, so a benchmark register needs valid ones,
and a scale run needs up to a few hundred thousand of them. `tests.helpers` finds one by trying
check digits; here the check digits are computed, so a pool is one pass over a numbered range.
Disjoint ranges give disjoint pools (role holders, delegates, filler recipients).

The check digits come from `pdp.identifiers`, which also checks a sample of every pool.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

from pdp.identifiers import (
    complete_national_identity_number,
    complete_organization_number,
    validate_national_identity_number,
    validate_organization_number,
)

#: Distinct person bases: 28 days x 12 months x 100 years x 1000 individual numbers.
_PERSON_BASES = 28 * 12 * 100 * 1000


def person_numbers(start: int, count: int) -> list[str]:
    """`count` distinct synthetic national identity numbers (month + 80, as Tenor test persons)
    from the numbered range beginning at `start`; equal (start, count) give equal lists."""
    numbers = list(islice(iter_person_numbers(start), count))
    for number in numbers[:: max(1, len(numbers) // 50)]:
        validate_national_identity_number(number)
    return numbers


def iter_person_numbers(start: int) -> Iterator[str]:
    """The numbers of `person_numbers`, one at a time, for a pool whose size is not known
    in advance (the soak's delegation recipients: as many as the run has time for)."""
    for index in range(start, _PERSON_BASES):
        day = 1 + index % 28
        month = 81 + (index // 28) % 12
        year = (index // 336) % 100
        individual = index // 33_600
        number = complete_national_identity_number(
            f"{day:02d}{month:02d}{year:02d}{individual:03d}"
        )
        if number is not None:
            yield number
    raise ValueError("person number range exhausted")


def organization_numbers(start: int, count: int) -> list[str]:
    """`count` distinct valid organisation numbers from the numbered range beginning at `start`."""
    numbers: list[str] = []
    index = start
    while len(numbers) < count:
        if index >= 10_000_000:
            raise ValueError("organisation number range exhausted")
        number = complete_organization_number(f"3{index:07d}")
        index += 1
        if number is not None:
            numbers.append(number)
    for number in numbers[:: max(1, len(numbers) // 50)]:
        validate_organization_number(number)
    return numbers
