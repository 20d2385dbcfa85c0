"""BoundedMap: at most `limit` entries, the oldest forgotten first, safe to share by threads."""

from __future__ import annotations

import sys
import threading

import pytest

from pdp.bounded import BoundedMap


def test_a_full_map_forgets_its_oldest_entry_first():
    kept: BoundedMap[str, int] = BoundedMap(3)
    for number, key in enumerate("abcd"):
        kept.keep(key, number)
    assert list(kept.items()) == [("b", 1), ("c", 2), ("d", 3)]


def test_keeping_a_known_key_again_replaces_its_value_and_forgets_nothing():
    kept: BoundedMap[str, int] = BoundedMap(2)
    kept.keep("a", 1)
    kept.keep("b", 2)
    kept.keep("a", 3)
    assert dict(kept) == {"a": 3, "b": 2}


def test_a_map_without_a_limit_keeps_everything():
    kept: BoundedMap[int, int] = BoundedMap()
    for number in range(1000):
        kept.keep(number, number)
    assert len(kept) == 1000


@pytest.mark.parametrize("limit", [0, -1])
def test_a_map_that_could_hold_nothing_is_refused(limit):
    with pytest.raises(ValueError, match="at least one"):
        BoundedMap(limit)


def test_threads_keeping_at_once_never_exceed_the_limit_nor_fail():
    kept: BoundedMap[tuple[int, int], int] = BoundedMap(5)
    failures: list[BaseException] = []
    sizes: list[int] = []

    def keep_many(thread: int) -> None:
        try:
            for number in range(2000):
                kept.keep((thread, number), number)
                kept.get((thread, number - 3))
                sizes.append(len(kept))
        except Exception as error:
            failures.append(error)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=keep_many, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert failures == []
    assert max(sizes) <= 5
    assert len(kept) == 5
