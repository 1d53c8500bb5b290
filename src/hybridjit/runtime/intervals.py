"""Sets of disjoint half-open integer intervals ``[start, end)``.

Contract: :class:`IntervalSet` is an immutable, hashable value holding a sorted
tuple of disjoint, non-empty, non-adjacent intervals (touching intervals are
merged, so equal sets have equal representations).  All operations are pure
and return new sets; they are linear merges over the sorted lists, which is
the right trade-off for the few to few thousand intervals the memory manager
keeps per array (byte ranges valid on host or device).

:func:`strided_runs` groups a set into runs of equal-length intervals at a
constant pitch, so a set such as "80 bytes of each of 1000 rows" becomes one
rectangular (2-D) copy instead of 1000 copies.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

Interval = tuple[int, int]


def _normalize(pairs: Iterable[Interval]) -> tuple[Interval, ...]:
    """Sort, drop empty intervals and merge overlapping or touching ones."""
    ordered = sorted(p for p in pairs if p[1] > p[0])
    merged: list[Interval] = []
    for start, end in ordered:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return tuple(merged)


class IntervalSet:
    """An immutable set of integers stored as disjoint half-open intervals."""

    __slots__ = ("_iv",)
    _iv: tuple[Interval, ...]

    def __init__(self, intervals: Iterable[Interval] = ()) -> None:
        self._iv = _normalize(intervals)

    @classmethod
    def _trusted(cls, intervals: tuple[Interval, ...]) -> IntervalSet:
        """Wrap an already-normalized tuple without re-sorting (internal)."""
        obj = cls.__new__(cls)
        obj._iv = intervals
        return obj

    @classmethod
    def span(cls, start: int, end: int) -> IntervalSet:
        """The single interval ``[start, end)`` (empty if ``end <= start``)."""
        return cls._trusted(((start, end),) if end > start else ())

    # -- inspection ---------------------------------------------------------

    @property
    def intervals(self) -> tuple[Interval, ...]:
        return self._iv

    def __iter__(self) -> Iterator[Interval]:
        return iter(self._iv)

    def __len__(self) -> int:
        """Number of intervals (not of integers: see :meth:`total`)."""
        return len(self._iv)

    def __bool__(self) -> bool:
        return bool(self._iv)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IntervalSet) and self._iv == other._iv

    def __hash__(self) -> int:
        return hash(self._iv)

    def __repr__(self) -> str:
        body = ", ".join(f"[{s}, {e})" for s, e in self._iv)
        return f"IntervalSet({body})"

    def total(self) -> int:
        """How many integers the set contains (bytes, for byte intervals)."""
        return sum(e - s for s, e in self._iv)

    def bounds(self) -> Interval:
        """``(min, max + 1)`` of the set; ``(0, 0)`` when empty."""
        if not self._iv:
            return (0, 0)
        return (self._iv[0][0], self._iv[-1][1])

    def contains(self, other: IntervalSet) -> bool:
        """Whether every integer of ``other`` is in this set."""
        return not (other - self)

    # -- algebra ------------------------------------------------------------

    def union(self, other: IntervalSet) -> IntervalSet:
        if not other._iv:
            return self
        if not self._iv:
            return other
        return IntervalSet._trusted(_normalize(self._iv + other._iv))

    def intersect(self, other: IntervalSet) -> IntervalSet:
        a, b = self._iv, other._iv
        out: list[Interval] = []
        i = j = 0
        while i < len(a) and j < len(b):
            start = max(a[i][0], b[j][0])
            end = min(a[i][1], b[j][1])
            if start < end:
                out.append((start, end))
            # advance whichever interval ends first; the other may overlap more
            if a[i][1] <= b[j][1]:
                i += 1
            else:
                j += 1
        return IntervalSet._trusted(tuple(out))

    def subtract(self, other: IntervalSet) -> IntervalSet:
        if not self._iv or not other._iv:
            return self
        b = other._iv
        out: list[Interval] = []
        j = 0
        for start, end in self._iv:
            # skip removals entirely left of this interval
            while j < len(b) and b[j][1] <= start:
                j += 1
            cur = start
            k = j
            while k < len(b) and b[k][0] < end:
                if b[k][0] > cur:
                    out.append((cur, b[k][0]))
                cur = max(cur, b[k][1])
                k += 1
            if cur < end:
                out.append((cur, end))
        return IntervalSet._trusted(tuple(out))

    def shift(self, delta: int) -> IntervalSet:
        """Every interval moved by ``delta``."""
        if delta == 0:
            return self
        return IntervalSet._trusted(tuple((s + delta, e + delta) for s, e in self._iv))

    def clip(self, start: int, end: int) -> IntervalSet:
        """The part of the set inside ``[start, end)``."""
        return self.intersect(IntervalSet.span(start, end))

    __or__ = union
    __and__ = intersect
    __sub__ = subtract


EMPTY = IntervalSet()


@dataclass(frozen=True, slots=True)
class StridedRun:
    """``count`` intervals of ``length`` integers starting at ``start``,
    ``start + pitch``, ... (``pitch`` is meaningless when ``count == 1``)."""

    start: int
    length: int
    pitch: int
    count: int

    def total(self) -> int:
        return self.length * self.count


def strided_runs(intervals: IntervalSet) -> list[StridedRun]:
    """Group ``intervals`` greedily into runs of equal-length intervals at a
    constant pitch, covering exactly the same integers (gaps are never
    included: copying a gap could overwrite newer data)."""
    runs: list[StridedRun] = []
    for start, end in intervals:
        length = end - start
        if runs:
            last = runs[-1]
            if last.length == length:
                if last.count == 1:
                    runs[-1] = StridedRun(last.start, length, start - last.start, 2)
                    continue
                if start == last.start + last.count * last.pitch:
                    runs[-1] = StridedRun(last.start, length, last.pitch, last.count + 1)
                    continue
        runs.append(StridedRun(start, length, length, 1))
    return runs
