"""Claims as code: one module per experiment turns its runs' tables into claims; the figure's
notebook calls it and writes the list with ``write_claims``.

A claims file is a JSON list of ``{"id", "statement", "paper", "measured", "tolerance",
"passed", ...}``. ``passed`` is true or false when the claim was checked, and null when it
could not be checked at this scale (with the reason in ``note``): it never passes silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from impreg.io import DataFileError, read_json, write_json

VERDICTS = {True: "pass", False: "FAIL", None: "not checked"}


@dataclass
class Claim:
    id: str
    statement: str
    paper: Any  # the paper's value or statement
    measured: Any  # what this run measured (None when not checkable)
    tolerance: Any  # the rule the measurement is judged by
    passed: bool | None
    figure: str = ""
    scale: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if self.passed is not None:
            self.passed = bool(self.passed)  # numpy bools are not JSON
        if self.passed is None and not self.note:
            raise ValueError(f"claim {self.id}: an unchecked claim must say why in its note")

    @property
    def verdict(self) -> str:
        return VERDICTS[self.passed]


def not_checkable(id: str, statement: str, paper: Any, reason: str, **kw: Any) -> Claim:
    return Claim(
        id=id,
        statement=statement,
        paper=paper,
        measured=None,
        tolerance=None,
        passed=None,
        note=reason,
        **kw,
    )


def numeric_rules(config: dict) -> dict:
    """A config section's ``claims`` rules; papermill passes parameters as YAML, which reads 5e-05 as a string."""
    return {k: float(v) if isinstance(v, str) else v for k, v in config["claims"].items()}


def majority(holds: list[bool]) -> bool:
    """A claim checked on several seeds passes when it holds on more than half of them."""
    return sum(bool(h) for h in holds) * 2 > len(holds)


def judged_verdict(
    per_seed: dict[int, bool], left_out: dict, total: int
) -> tuple[str, bool | None, str]:
    """The verdict of a claim checked on the judged seeds (``per_seed``) of ``total``: which hold (the
    runs left out named), the majority, and a note when too few seeds were judged to decide (verdict
    None: at most half of them)."""
    held = [s for s, ok in per_seed.items() if ok]
    text = f"holds on {len(held)} of {len(per_seed)} judged seeds {held}" + (
        f"; left out (did not converge): {left_out}" if left_out else ""
    )
    if 2 * len(per_seed) <= total:
        return (
            text,
            None,
            f"judged on {len(per_seed)} of {total} seeds (the others did not converge): too few to decide",
        )
    return text, majority(list(per_seed.values())), ""


def _number(x: float) -> str:
    """Four significant digits, whole numbers (iterations) in full."""
    return f"{x:.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def within_span(
    paper: Sequence[float | None], per_seed: dict[int, Sequence[float | None]]
) -> tuple[bool, list[str]]:
    """Whether each of the paper's values (one unseeded run: one draw) lies within the range our seeds
    span at its position, at least two seeds having a value there; and per position that range and how
    many seeds lie below and above the paper's value. A paper value None is not compared."""
    ok, lines = True, []
    for k, p in enumerate(paper):
        if p is None:
            lines.append("not compared")
            continue
        values = [v[k] for v in per_seed.values() if k < len(v) and v[k] is not None]
        if not values:
            ok, lines = False, lines + [f"{_number(p)}: no seed has a value"]
            continue
        below, above = sum(v < p for v in values), sum(v > p for v in values)
        ok = ok and len(values) >= 2 and min(values) <= p <= max(values)
        lines.append(
            f"{_number(p)}: ours {_number(min(values))} to {_number(max(values))} over {len(values)} seeds "
            f"({below} below, {above} above)"
        )
    return ok, lines


def write_claims(path: str | Path, claims: list[Claim]) -> None:
    ids = [c.id for c in claims]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate claim ids in {path}: {ids}")
    write_json(path, [asdict(c) for c in claims])


def read_claims(path: str | Path) -> list[Claim]:
    raw = read_json(path)
    if not isinstance(raw, list):
        raise DataFileError(f"claims file {path} must hold a JSON list of claims")
    try:
        return [Claim(**item) for item in raw]
    except TypeError as err:
        raise DataFileError(f"claims file {path} has a malformed claim ({err})") from err
