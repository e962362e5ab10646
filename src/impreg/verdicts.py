"""A figure's claims in one line: did the paper's behaviour replicate, and did its numbers.

A claim is on the paper's numbers when the paper's value is a number, or a list or table of
numbers (values read off its figure: escape times, plateau heights, errors, accuracies); every other
claim is on its behaviour (components learned one at a time, errors falling in steps, accuracy
falling to chance, ...), whatever numbers its statement quotes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from numbers import Number
from typing import Any

from impreg.claims import Claim
from impreg.paper_figures import ordered, paper_figure


def on_numbers(paper: Any) -> bool:
    """Whether a claim with this paper value is on the paper's numbers (see the module's docstring)."""
    if isinstance(paper, bool):
        return False
    if isinstance(paper, Number):
        return True
    values = (
        list(paper.values())
        if isinstance(paper, dict)
        else paper
        if isinstance(paper, list)
        else None
    )
    return bool(values) and all(on_numbers(v) for v in values)


@dataclass(frozen=True)
class Tally:
    """Claims of one kind: how many pass, fail, and could not be checked."""

    passed: int = 0
    failed: int = 0
    unchecked: int = 0

    @classmethod
    def of(cls, claims: list[Claim]) -> Tally:
        n = Counter(c.passed for c in claims)
        return cls(n[True], n[False], n[None])

    def text(self) -> str:
        """``yes (3 of 3)``, ``partly (2 of 5)``, ``no (0 of 4)``, ``not checked`` or ``–`` (no such claim)."""
        checked = self.passed + self.failed
        unchecked = f"; {self.unchecked} not checked" if self.unchecked and checked else ""
        if not checked:
            return "not checked" if self.unchecked else "–"
        word = "yes" if not self.failed else "no" if not self.passed else "partly"
        return f"{word} ({self.passed} of {checked}{unchecked})"


@dataclass(frozen=True)
class FigureVerdict:
    behaviour: Tally
    numbers: Tally

    @classmethod
    def of(cls, claims: list[Claim]) -> FigureVerdict:
        return cls(
            Tally.of([c for c in claims if not on_numbers(c.paper)]),
            Tally.of([c for c in claims if on_numbers(c.paper)]),
        )

    def text(self) -> str:
        """``behaviour yes (3 of 3), numbers partly (1 of 4)``, leaving out a kind it has no claim of."""
        kinds = [
            f"{name} {tally.text()}"
            for name, tally in (("behaviour", self.behaviour), ("numbers", self.numbers))
            if tally != Tally()
        ]
        return ", ".join(kinds) or "no claims"


def counts(claims: list[Claim]) -> str:
    """``7 pass, 7 fail, 0 not checked``."""
    n = Tally.of(claims)
    return f"{n.passed} pass, {n.failed} fail, {n.unchecked} not checked"


def run_summary(
    claims_by_figure: dict[str, list[Claim]], not_run: dict[str, str], report: str | None
) -> str:
    """The lines that end a workflow run: one per figure (its claims, or why it was not made), then
    where the report is."""
    figures = ordered([*claims_by_figure, *not_run])
    width = max((len(f) for f in figures), default=0)
    label_width = max((len(paper_figure(f).label) for f in figures), default=0)
    lines = ["Verdicts, claim by claim (pass / fail / not checked):"]
    for figure in figures:
        outcome = (
            counts(claims_by_figure[figure])
            if figure in claims_by_figure
            else f"not run: {' '.join(not_run[figure].split())}"
        )
        lines.append(f"  {figure:<{width}}  {paper_figure(figure).label:<{label_width}}  {outcome}")
    lines.append(
        f"Report: {report}"
        if report
        else "No report yet: it is made with every figure (TARGET=all)."
    )
    return "\n".join(lines)
