"""ISO 2859-1 single sampling plans, normal inspection: Table 1, Table 2-A with its arrows, judging, sampling.

Expected values are the standard's (the same tables as ANSI/ASQ Z1.4 and MIL-STD-105E), read cell by cell."""

from __future__ import annotations

import pytest

from seatflow.errors import ValidationFailed
from seatflow.quality import sampling as s


@pytest.mark.parametrize(
    ("lot", "level", "letter"),
    [
        (2, "II", "A"), (8, "II", "A"), (9, "II", "B"), (15, "II", "B"), (16, "II", "C"), (50, "II", "D"),
        (51, "II", "E"), (150, "II", "F"), (280, "II", "G"), (500, "II", "H"), (501, "II", "J"),
        (1200, "II", "J"), (1201, "II", "K"), (3200, "II", "K"), (3201, "II", "L"), (10000, "II", "L"),
        (35000, "II", "M"), (150000, "II", "N"), (500000, "II", "P"), (500001, "II", "Q"),
        (8, "I", "A"), (25, "I", "B"), (90, "I", "C"), (500, "I", "F"), (10000, "I", "J"), (10**6, "I", "N"),
        (8, "III", "B"), (50, "III", "E"), (1000, "III", "K"), (35001, "III", "P"), (10**6, "III", "R"),
        (1, "II", "A"), (500, "ii", "H"),
    ],
)
def test_table_1_code_letters(lot: int, level: str, letter: str) -> None:
    assert s.code_letter(lot, level) == letter


@pytest.mark.parametrize(
    ("lot", "aql", "code", "n", "ac", "re"),
    [
        (500, 1.0, "H", 50, 1, 2),  # H at 1.0: a plan in the cell
        (1200, 0.65, "J", 80, 1, 2),
        (3200, 2.5, "K", 125, 7, 8),  # 1201..3200 is K at level II
        (5000, 2.5, "L", 200, 10, 11),  # 3201..10000 is L
        (50, 6.5, "D", 8, 1, 2),
        (50, 4.0, "E", 13, 1, 2),  # D at 4.0 is a down arrow: E's plan, with E's sample size
        (50, 2.5, "C", 5, 0, 1),  # D at 2.5 is an up arrow: C's plan
        (50, 1.5, "D", 8, 0, 1),
        (10000, 0.65, "L", 200, 3, 4),
        (10000, 1.5, "L", 200, 7, 8),
        (100000, 0.65, "N", 500, 7, 8),
        (100000, 4.0, "M", 315, 21, 22),  # N at 4.0 points up to M's 21/22
        (1000, 0.10, "K", 125, 0, 1),  # J at 0.10 points down to K's 0/1
        (1000, 0.15, "J", 80, 0, 1),
        (1000, 0.25, "H", 50, 0, 1),  # J at 0.25 points up to H's 0/1
        (1000, 0.40, "K", 125, 1, 2),  # J at 0.40 points down to K's 1/2
        (1000, 10, "J", 80, 14, 15),
        (1000, 15, "J", 80, 21, 22),  # J at 15: 21/22, the last plan of the row
        (2000, 15, "J", 80, 21, 22),  # K at 15 points up to J
        (10**6, 0.010, "Q", 1250, 0, 1),
        (10**6, 1.5, "P", 800, 21, 22),  # Q at 1.5 points up
        (20, 1000, "B", 3, 44, 45),  # C at 1000 points up to B's 44/45 (nonconformities per 100 items)
        (150, 25, "F", 20, 10, 11),
        (90, 40, "E", 13, 10, 11),
        (8, 6.5, "A", 2, 0, 1),
    ],
)
def test_table_2a_plans(lot: int, aql: float, code: str, n: int, ac: int, re: int) -> None:
    p = s.plan(lot, aql)
    assert (p.code, p.n, p.ac, p.re) == (code, n, ac, re)
    assert p.lot_size == lot and p.level == "II" and not p.full_inspection


def test_levels_i_and_iii() -> None:
    p1 = s.plan(500, 1.0, "I")  # F at 1.0 points up to E's 0/1
    assert (p1.code, p1.n, p1.ac, p1.re, p1.table_code, p1.level) == ("E", 13, 0, 1, "F", "I")
    p3 = s.plan(500, 1.0, "III")  # J at 1.0 is 2/3
    assert (p3.code, p3.n, p3.ac, p3.re, p3.table_code) == ("J", 80, 2, 3, "J")
    r = s.plan(10**6, 0.015, "III")  # R at 0.015 points up twice: P's 0/1
    assert (r.code, r.n, r.ac, r.re, r.table_code) == ("P", 800, 0, 1, "R")
    r2 = s.plan(10**6, 0.025, "III")
    assert (r2.code, r2.n, r2.ac, r2.re) == ("R", 2000, 1, 2)


def test_sample_at_least_the_lot_means_full_inspection() -> None:
    p = s.plan(5, 1.0)  # A at 1.0 points down to E's 0/1 with n = 13 > 5
    assert (p.code, p.n, p.ac, p.re, p.full_inspection, p.table_code) == ("E", 5, 0, 1, True, "A")
    exact = s.plan(13, 1.0)  # B at 1.0 points down to E's 0/1: n = 13 = the lot
    assert (exact.code, exact.n, exact.full_inspection) == ("E", 13, True)
    assert s.plan(14, 1.0).full_inspection is False


def test_arrow_off_the_top_of_the_table() -> None:
    p = s.plan(8, 10)  # A at 10 is an up arrow with no row above: the row's plan to the left
    assert (p.code, p.n, p.ac, p.re) == ("A", 2, 0, 1)


def test_table_structure() -> None:
    """Every row has one cell per AQL; plans run along diagonals (the same plan where code index + AQL index
    is the same, as long as the row has it); every arrow leads to a plan."""
    plans = ["0/1", "1/2", "2/3", "3/4", "5/6", "7/8", "10/11", "14/15", "21/22", "30/31", "44/45"]
    for r, letter in enumerate(s.LETTERS):
        cells = s.TABLE_2A[letter].split()
        assert len(cells) == len(s.AQLS) == 26
        for c, cell in enumerate(cells):
            if "/" in cell:
                d = r + c
                assert cell == plans[0 if d == 14 else d - 16], (letter, s.AQLS[c])
        # A ends at 30/31, B..E at 44/45, F..R at 21/22; R has no 0/1
        last = [c for c in cells if "/" in c][-1]
        assert last == ("30/31" if letter == "A" else "44/45" if letter in "BCDE" else "21/22")
        assert ("0/1" in cells) == (letter != "R")
    # Ac/Re of every lot size and AQL at level II is a real plan
    for lot in (2, 10, 20, 40, 80, 100, 200, 400, 1000, 2000, 5000, 20000, 100000, 300000, 10**6):
        for aql in s.AQLS:
            p = s.plan(lot, aql)
            assert p.re == p.ac + 1 and 1 <= p.n <= lot and s.SAMPLE_SIZES[p.code] >= p.n


def test_table_cell_and_judge() -> None:
    assert s.table_cell("D", 4.0) == "v" and s.table_cell("D", 2.5) == "^" and s.table_cell("K", 2.5) == "7/8"
    p = s.plan(3200, 2.5)
    assert s.judge(p, 0) == "accept" and s.judge(p, 7) == "accept"
    assert s.judge(p, 8) == "reject" and s.judge(p, 125) == "reject"


def test_draw_sample() -> None:
    ids = [f"item-{i}" for i in range(500)]
    a = s.draw_sample(ids, 50, seed=7)
    assert len(a) == 50 and len(set(a)) == 50
    assert a == s.draw_sample(ids, 50, seed=7)  # reproducible
    assert a != s.draw_sample(ids, 50, seed=8)
    assert a == sorted(a, key=ids.index)  # in lot order
    assert s.draw_sample(ids[:5], 13, seed=1) == ids[:5]  # the whole lot
    assert s.draw_sample(ids, 0, seed=1) == []


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: s.plan(0, 1.0), "lot_size"),
        (lambda: s.plan(2.5, 1.0), "lot_size"),  # type: ignore[arg-type]
        (lambda: s.plan(100, 1.2), "aql"),
        (lambda: s.plan(100, "1.0"), "aql"),  # type: ignore[arg-type]
        (lambda: s.plan(100, 1.0, "S-1"), "level"),
        (lambda: s.judge(s.plan(500, 1.0), -1), "defects"),
        (lambda: s.judge(s.plan(500, 1.0), 51), "defects"),
        (lambda: s.draw_sample(["a", "a"], 1, 0), "item_ids"),
        (lambda: s.draw_sample(["a"], -1, 0), "n"),
        (lambda: s.table_cell("I", 1.0), "code"),
    ],
)
def test_bad_input(call, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as exc:
        call()
    assert exc.value.field == field
