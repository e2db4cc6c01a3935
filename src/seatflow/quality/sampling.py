"""Acceptance sampling of a delivered batch by ISO 2859-1 single sampling plans, normal inspection.

Scope: ISO 2859-1 Table 1 (sample size code letters) for the general inspection levels I, II
and III, and Table 2-A (single sampling plans for normal inspection, the master table) for all
26 AQLs from 0.010 to 1000. Not covered: special levels S-1..S-4, tightened and reduced
inspection and the switching rules between them, double and multiple sampling. The tables are
the same as ANSI/ASQ Z1.4 and MIL-STD-105E.

The procedure: the lot size and inspection level give a code letter (Table 1); the code letter
and the AQL give a cell of Table 2-A. A cell holds a plan (sample size n, acceptance number Ac,
rejection number Re) or an arrow: follow it down (``v``) or up (``^``) to the first cell that
holds a plan and use that plan *with its own sample size* (and code letter). One arrow points off
the table (code A at AQL 10 points up, with no row above); this module reads it as the nearest
plan to its left in that row (Ac 0, Re 1, n = 2). When n reaches the
lot size, every item is inspected (n = N) with the same Ac and Re. The lot is accepted when
the sample holds at most Ac nonconforming items and rejected at Re or more.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from seatflow.errors import ValidationFailed
from seatflow.i18n.message import Msg

Level = Literal["I", "II", "III"]

#: Table 1: the upper bound of each lot size range and the code letter for levels I, II, III.
#: The last range is "500 001 and over".
CODE_LETTERS: list[tuple[int | None, str, str, str]] = [
    (8, "A", "A", "B"),
    (15, "A", "B", "C"),
    (25, "B", "C", "D"),
    (50, "C", "D", "E"),
    (90, "C", "E", "F"),
    (150, "D", "F", "G"),
    (280, "E", "G", "H"),
    (500, "F", "H", "J"),
    (1200, "G", "J", "K"),
    (3200, "H", "K", "L"),
    (10000, "J", "L", "M"),
    (35000, "K", "M", "N"),
    (150000, "L", "N", "P"),
    (500000, "M", "P", "Q"),
    (None, "N", "Q", "R"),
]

#: Sample size per code letter (Table 2-A, second column).
SAMPLE_SIZES: dict[str, int] = {
    "A": 2, "B": 3, "C": 5, "D": 8, "E": 13, "F": 20, "G": 32, "H": 50,
    "J": 80, "K": 125, "L": 200, "M": 315, "N": 500, "P": 800, "Q": 1250, "R": 2000,
}

#: The AQL columns of Table 2-A (percent nonconforming up to 10; nonconformities per 100 items above).
AQLS: tuple[float, ...] = (
    0.010, 0.015, 0.025, 0.040, 0.065, 0.10, 0.15, 0.25, 0.40, 0.65, 1.0, 1.5, 2.5, 4.0, 6.5,
    10, 15, 25, 40, 65, 100, 150, 250, 400, 650, 1000,
)

#: Table 2-A, one row per code letter, one cell per AQL above: "Ac/Re", "v" (use the first plan
#: below the arrow) or "^" (use the first plan above the arrow).
TABLE_2A: dict[str, str] = {
    "A": "v v v v v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31",
    "B": "v v v v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45",
    "C": "v v v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45 ^",
    "D": "v v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45 ^ ^",
    "E": "v v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45 ^ ^ ^",
    "F": "v v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^",
    "G": "v v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^",
    "H": "v v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^",
    "J": "v v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "K": "v v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "L": "v v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "M": "v v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "N": "v v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "P": "v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "Q": "0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
    "R": "^ ^ 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^",
}

LETTERS: tuple[str, ...] = tuple(SAMPLE_SIZES)
_LEVELS: dict[str, int] = {"I": 1, "II": 2, "III": 3}


@dataclass(frozen=True)
class Plan:
    code: str  # the code letter of the plan used (after following arrows)
    n: int  # items to inspect (capped at the lot size)
    ac: int  # accept the lot with at most this many nonconforming items in the sample
    re: int  # reject it with this many or more
    lot_size: int = 0
    aql: float = 0.0
    level: str = "II"
    table_code: str = ""  # the code letter Table 1 gave for the lot size, before arrows
    full_inspection: bool = False  # n reached the lot size: every item is inspected


def code_letter(lot_size: int, level: str = "II") -> str:
    """Table 1: the sample size code letter for a lot size and general inspection level."""
    if isinstance(lot_size, bool) or not isinstance(lot_size, int) or lot_size < 1:
        raise ValidationFailed(Msg("lot_size: must be a whole number of 1 or more, got {got!r}", got=lot_size),
                               field="lot_size")
    column = _LEVELS.get(str(level).upper())
    if column is None:
        raise ValidationFailed(Msg("level: must be one of I, II, III (general inspection levels), got {got!r}",
                                   got=level), field="level")
    for upper, *letters in CODE_LETTERS:
        if upper is None or lot_size <= upper:
            return letters[column - 1]
    raise AssertionError("unreachable: the last range is open")  # pragma: no cover


def _aql_column(aql: float) -> int:
    if isinstance(aql, bool) or not isinstance(aql, int | float):
        raise ValidationFailed(Msg("aql: must be a number, got {got!r}", got=aql), field="aql")
    for i, value in enumerate(AQLS):
        if abs(aql - value) <= 1e-9 * max(1.0, value):
            return i
    known = ", ".join(f"{v:g}" for v in AQLS)
    raise ValidationFailed(Msg("aql: {aql:g} is not an AQL of ISO 2859-1; use one of {known}", aql=aql, known=known),
                           field="aql")


def table_cell(code: str, aql: float) -> str:
    """The raw cell of Table 2-A: ``"Ac/Re"``, ``"v"`` or ``"^"``."""
    if code not in TABLE_2A:
        raise ValidationFailed(Msg("code: {code!r} is not a code letter; letters are {letters}", code=code,
                                   letters=", ".join(LETTERS)), field="code")
    return TABLE_2A[code].split()[_aql_column(aql)]


def plan(lot_size: int, aql: float, level: str = "II") -> Plan:
    """The single sampling plan for normal inspection (see the module docstring)."""
    table_code = code_letter(lot_size, level)
    column = _aql_column(aql)
    aql_value = AQLS[column]
    row = LETTERS.index(table_code)
    cell = TABLE_2A[LETTERS[row]].split()[column]
    while cell in ("v", "^"):
        step = 1 if cell == "v" else -1
        if not 0 <= row + step < len(LETTERS):
            # only A at AQL 10 points up off the table: take the row's nearest plan to the left (0/1, n = 2)
            cells = TABLE_2A[LETTERS[row]].split()[:column]
            column = max(i for i, c in enumerate(cells) if "/" in c)
            cell = cells[column]
            break
        row += step
        cell = TABLE_2A[LETTERS[row]].split()[column]
    ac, re = (int(v) for v in cell.split("/"))
    code = LETTERS[row]
    n = SAMPLE_SIZES[code]
    full = n >= lot_size
    return Plan(code=code, n=min(n, lot_size), ac=ac, re=re, lot_size=lot_size, aql=aql_value,
                level=str(level).upper(), table_code=table_code, full_inspection=full)


def judge(p: Plan, defects: int) -> Literal["accept", "reject"]:
    """Accept the lot when the sample has at most Ac nonconforming items, reject at Re or more."""
    if isinstance(defects, bool) or not isinstance(defects, int) or defects < 0:
        raise ValidationFailed(Msg("defects: must be a whole number of 0 or more, got {got!r}", got=defects),
                               field="defects")
    if defects > p.n:
        raise ValidationFailed(Msg("defects: {defects} nonconforming items in a sample of {n}", defects=defects, n=p.n),
                               field="defects")
    return "accept" if defects <= p.ac else "reject"


T = TypeVar("T", bound=Hashable)


def draw_sample(item_ids: Sequence[T], n: int, seed: int | str | None) -> list[T]:
    """``n`` distinct items drawn at random (all of them when n >= the lot size), reproducible for
    a seed; returned in their order in ``item_ids``."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValidationFailed(Msg("n: must be a whole number of 0 or more, got {got!r}", got=n), field="n")
    ids = list(item_ids)
    if len(set(ids)) != len(ids):
        raise ValidationFailed(Msg("item_ids: the lot lists an item twice"), field="item_ids")
    if n >= len(ids):
        return ids
    chosen = set(random.Random(seed).sample(range(len(ids)), n))
    return [item for i, item in enumerate(ids) if i in chosen]
