"""`BoundedMap`: the one bounded map of the PDP, for every cache that must not grow without end.

Decisions, facts, evaluations, verified tokens and parsed policy-set versions are each kept in
one, so eviction is written here once. It forgets the oldest entry first (FIFO): what a PDP is
asked repeats in bursts, and FIFO costs nothing on a read, where LRU would reorder on every hit.

Why not `cachetools` (measured 2026-12-06, CPython 3.11, a hit on a full map of 100,000
decision-request keys, best of 7): `dict.get` 143 ns, this map's `get` 157 ns, cachetools
`FIFOCache.get` 338 ns, `LRUCache.get` 435 ns, and `FIFOCache.get` under the lock it needs
(its reads are not safe against a concurrent eviction) 542 ns. A warm decision costs about
2.5 µs in all, so cachetools would add 10-15% to the hot path for no behaviour this lacks.
"""

from __future__ import annotations

import threading
from typing import TypeVar

_Key = TypeVar("_Key")
_Value = TypeVar("_Value")


class BoundedMap(dict[_Key, _Value]):
    """A dict that holds at most `limit` entries (None: no limit), forgetting the oldest first.

    Reads are the dict's own, at C speed and safe across threads. Entries are added only with
    `keep`, which evicts and inserts under a lock, so threads sharing one map never evict the
    same entry twice nor let it grow past its limit.
    """

    __slots__ = ("_lock", "limit")

    def __init__(self, limit: int | None = None):
        super().__init__()
        if limit is not None and limit < 1:
            raise ValueError(f"a bounded map holds at least one entry, not {limit}")
        self.limit = limit
        self._lock = threading.Lock()

    def keep(self, key: _Key, value: _Value) -> None:
        """Remember `value` at `key`; when full, forget the oldest entry first."""
        with self._lock:
            if self.limit is not None and key not in self:
                while len(self) >= self.limit:
                    del self[next(iter(self))]
            self[key] = value

    def forget(self, key: _Key) -> None:
        """Forget the entry at `key`, if there is one (under the lock `keep` evicts under)."""
        with self._lock:
            self.pop(key, None)
