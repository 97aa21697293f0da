"""A bounded least-recently-used memo, sized by the characters it holds.

The build's workers keep one (build._WORKER) so that a record met again (the same file under a new
name, a bulk deposit that repeats its sessions) is cleaned once: cleaning is a pure function of
its inputs (clean.DocumentInput), and only the first copy's cleaning is paid for. Memory stays
bounded however many documents pass: the least recently used entries go once `max_chars` is held.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Hashable, Optional

MEMO_CHARS = 1 << 25  # per worker: 32 M characters of raw + cleaned text (32-128 MB at 1-4 bytes each)


class BoundedMemo:
    def __init__(self, max_chars: int = MEMO_CHARS):
        self.max_chars = max_chars
        self.chars = 0
        self.hits = self.misses = 0
        self.owner: object = None  # what the values were computed under (clean.process_item: the options)
        self._entries: OrderedDict = OrderedDict()

    def own(self, owner: object) -> None:
        """Values depend on `owner` too: forget them all when it changes."""
        if owner != self.owner:
            self._entries.clear()
            self.chars, self.owner = 0, owner

    def get(self, key: Hashable) -> Optional[object]:
        found = self._entries.get(key)
        if found is None:
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end(key)
        return found[0]

    def put(self, key: Hashable, value: object, chars: int) -> None:
        """Remember `value` (None is never stored); `chars`: what it and its key hold."""
        if value is None or chars > self.max_chars or key in self._entries:
            return
        self._entries[key] = (value, chars)
        self.chars += chars
        while self.chars > self.max_chars:
            _, (_, dropped) = self._entries.popitem(last=False)
            self.chars -= dropped

    def __len__(self) -> int:
        return len(self._entries)
