"""IntervalSet algebra and strided-run grouping, checked against Python sets."""

from __future__ import annotations

import random

import pytest

from hybridjit.runtime.intervals import EMPTY, IntervalSet, StridedRun, strided_runs


def as_set(s: IntervalSet) -> set[int]:
    return {x for start, end in s for x in range(start, end)}


def random_set(rng: random.Random, n: int = 6, span: int = 60) -> IntervalSet:
    pairs = []
    for _ in range(rng.randrange(n)):
        a = rng.randrange(-5, span)
        pairs.append((a, a + rng.randrange(0, 12)))
    return IntervalSet(pairs)


def test_normalizes_sorts_merges_and_drops_empty():
    s = IntervalSet([(10, 20), (0, 5), (5, 7), (15, 25), (30, 30), (40, 39)])
    assert s.intervals == ((0, 7), (10, 25))
    assert s == IntervalSet([(0, 7), (10, 25)])
    assert hash(s) == hash(IntervalSet([(10, 25), (0, 7)]))
    assert len(s) == 2 and s.total() == 22 and s.bounds() == (0, 25)
    assert list(s) == [(0, 7), (10, 25)]


def test_empty_set():
    assert not EMPTY and EMPTY.total() == 0 and EMPTY.bounds() == (0, 0)
    assert IntervalSet.span(5, 5) == EMPTY == IntervalSet.span(7, 3)
    assert (EMPTY | IntervalSet.span(1, 2)) == IntervalSet.span(1, 2)
    assert (IntervalSet.span(1, 2) - EMPTY) == IntervalSet.span(1, 2)
    assert (EMPTY & IntervalSet.span(1, 2)) == EMPTY
    assert "[0, 7)" in repr(IntervalSet([(0, 7)]))


def test_subtract_splits_intervals():
    s = IntervalSet.span(0, 100) - IntervalSet([(10, 20), (30, 40), (95, 200)])
    assert s.intervals == ((0, 10), (20, 30), (40, 95))


def test_intersect_and_contains():
    a = IntervalSet([(0, 10), (20, 30)])
    b = IntervalSet([(5, 25)])
    assert (a & b).intervals == ((5, 10), (20, 25))
    assert a.contains(IntervalSet([(2, 3), (21, 30)]))
    assert not a.contains(b)
    assert a.contains(EMPTY)


def test_shift_and_clip():
    a = IntervalSet([(0, 10), (20, 30)])
    assert a.shift(-5).intervals == ((-5, 5), (15, 25))
    assert a.clip(5, 25).intervals == ((5, 10), (20, 25))


@pytest.mark.parametrize("seed", range(200))
def test_algebra_matches_python_sets(seed: int):
    rng = random.Random(seed)
    a, b = random_set(rng), random_set(rng)
    sa, sb = as_set(a), as_set(b)
    assert as_set(a | b) == sa | sb
    assert as_set(a & b) == sa & sb
    assert as_set(a - b) == sa - sb
    assert (a | b).total() == len(sa | sb)
    assert a.contains(b) == (sb <= sa)
    for result in (a | b, a & b, a - b):
        # canonical form: sorted, non-empty, neither overlapping nor touching
        ivs = result.intervals
        assert all(s < e for s, e in ivs)
        assert all(ivs[i][1] < ivs[i + 1][0] for i in range(len(ivs) - 1))


def test_strided_runs_groups_rows():
    rows = IntervalSet((1000 + r * 400, 1000 + r * 400 + 80) for r in range(1000))
    assert strided_runs(rows) == [StridedRun(1000, 80, 400, 1000)]
    assert strided_runs(rows)[0].total() == 80_000


def test_strided_runs_breaks_on_length_or_pitch_change():
    s = IntervalSet([(0, 4), (10, 14), (20, 24), (25, 27), (40, 42), (55, 57)])
    runs = strided_runs(s)
    assert runs == [
        StridedRun(0, 4, 10, 3),
        StridedRun(25, 2, 15, 3),
    ]
    single = strided_runs(IntervalSet.span(3, 9))
    assert single == [StridedRun(3, 6, 6, 1)]
    assert strided_runs(EMPTY) == []


@pytest.mark.parametrize("seed", range(50))
def test_strided_runs_cover_exactly(seed: int):
    rng = random.Random(seed)
    s = random_set(rng, n=12, span=200)
    covered: set[int] = set()
    for run in strided_runs(s):
        assert run.count == 1 or run.pitch > run.length
        for k in range(run.count):
            start = run.start + k * run.pitch
            covered |= set(range(start, start + run.length))
    assert covered == as_set(s)
