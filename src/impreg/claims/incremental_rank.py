"""Claims of P2's incremental rank figure: matrix (mf), CP (tf) and hierarchical (htf) factorization.

A run is a dict with ``model``, ``seed``, ``status``, ``iterations``, ``summary`` and ``history``
(its metrics.csv, whose ``top_<k>`` columns are the plotted values as order statistics: singular
values, component norms, or the root's local component norms). Each claim is checked on every seed
(majority rule). P2's protocol ends a run at the stop rule or at the cap, so a run that reached the
cap counts as finished (its status is named); a diverged run never counts as holding. The per-seed
helpers (one at a time, holds, verdict) are shared with the HTF detail figure's claims.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from impreg.analysis import count_above, first_crossing, intermediate_plateaus, one_at_a_time
from impreg.claims import Claim, majority, not_checkable, numeric_rules
from impreg.paper_values import INCREMENTAL_RANK as PAPER

MODELS = {"mf": "matrix factorization", "tf": "tensor factorization", "htf": "hierarchical tensor factorization"}
YLABELS = {"mf": "singular values", "tf": "component norms", "htf": "local component norms (root)"}
FINISHED = ("converged", "max_iterations")
Run = dict


def top(run: Run) -> np.ndarray:
    """The plotted values (time, k), largest first."""
    h: pd.DataFrame = run["history"]
    return h[[c for c in h.columns if c.startswith("top_")]].to_numpy()


def count_learned(values: np.ndarray, rel: float) -> int:
    """How many curves of ``values`` (time, k) end above ``rel`` x the final largest value."""
    final = np.asarray(values)[-1]
    return count_above(final, rel * final.max())


def learned_one_at_a_time(iterations: Sequence[int], values: np.ndarray, rel: float, min_learned: int) -> bool:
    """At least ``min_learned`` curves are learned (end non-negligible) and, when each reaches half its
    final value, the next is still negligible (below ``rel`` x the final largest). The check runs up
    to the first curve not learned, so a value learned together with the last one fails it too."""
    values = np.asarray(values)
    k = count_learned(values, rel)
    return k >= min_learned and all(one_at_a_time(iterations, values, rel * values[-1].max(),
                                                  min(k + 1, values.shape[1])))


def holds(by_seed: dict[int, Run], predicate: Callable[[Run], bool]) -> dict[int, bool]:
    """Per seed, whether its run holds: finished (converged or capped) and the predicate true."""
    return {s: r["status"] in FINISHED and bool(predicate(r)) for s, r in by_seed.items()}


def seed_verdict(by_seed: dict[int, Run], per_seed: dict[int, bool]) -> tuple[str, bool]:
    """Which seeds hold (naming those not stopped by the loss rule), and the majority verdict."""
    held = [s for s, ok in per_seed.items() if ok]
    capped = {s: by_seed[s]["status"] for s in per_seed if by_seed[s]["status"] != "converged"}
    status = f" (not stopped by the loss rule: {capped})" if capped else ""
    return f"holds on {len(held)} of {len(per_seed)} seeds {held}{status}", majority(list(per_seed.values()))


def view_start(run: Run, rel: float, lead: float = 0.05) -> int:
    """Where a panel that cuts the initial plateau (the paper's hierarchical one) starts: ``lead`` x the
    rest of the run before the largest value first exceeds ``rel`` x its final value; 0 if it never does."""
    it, first = run["history"]["iteration"].to_numpy(), top(run)[:, 0]
    final = first[np.isfinite(first)][-1] if np.isfinite(first).any() else np.nan
    rise = first_crossing(it, first, rel * final) if final > 0 else None
    if rise is None or rise <= it[0]:
        return int(it[0])
    return max(int(it[0]), int(rise - lead * (it[-1] - rise)))


def used_settings(config: dict, model: str) -> dict:
    base = dict(target_rank=config["target_rank"], target_fro_norm=config["target_fro_norm"],
                num_observations=config["num_observations"], lr=config["lr"], stop_loss=config["stop_loss"],
                stop_validations=config["stop_validations"])
    return base | {k: v for k, v in config[model].items() if k != "max_iterations"}


def _same(a, b) -> bool:
    """Equal, reading numbers spelled as strings (papermill's YAML reads 5e-05 as a string) as numbers."""
    try:
        return bool(np.isclose(float(a), float(b), rtol=1e-9, atol=0.0))
    except (TypeError, ValueError):
        return a == b


def differences(config: dict, model: str) -> dict:
    used, paper = used_settings(config, model), PAPER["settings"][model]
    return {k: (used.get(k), v) for k, v in paper.items() if not _same(used.get(k), v)}


def learned_count(run: Run, rel: float) -> int:
    return count_learned(top(run), rel)


def target_count(run: Run, rel: float) -> int:
    """The target's singular values (in the matricization the curves count) above rel x its largest."""
    sv = np.asarray(run["summary"]["target_singular_values"])
    return count_above(sv, rel * sv.max())


def escapes(run: Run, count: int) -> list[int | None]:
    """When each of the ``count`` largest values escapes: the middle of its visible jump (half of its
    final value), not the first crossing of a small threshold."""
    h, values = run["history"], top(run)
    return [first_crossing(h["iteration"], values[:, k], 0.5 * values[-1, k]) for k in range(min(count, values.shape[1]))]


def overshoot(run: Run) -> float:
    """The largest value's peak over its final value (1: no overshoot)."""
    first = top(run)[:, 0]
    return float(np.nanmax(first) / first[-1]) if first[-1] > 0 else float("nan")


class _Model:
    """The claims of one model: its runs, the rules, and the note every claim carries."""

    def __init__(self, model: str, runs: list[Run], config: dict, scale: str) -> None:
        self.model, self.config, self.scale, self.rules = model, config, scale, numeric_rules(config)
        self.by_seed = {r["seed"]: r for r in runs}
        self.seeds = sorted(self.by_seed)
        diff = differences(config, model)
        self.note = (f"settings {json.dumps(used_settings(config, model), sort_keys=True)}"
                     + (f"; differs from the paper's: {json.dumps({k: {'used': a, 'paper': b} for k, (a, b) in diff.items()}, sort_keys=True)}"
                        if diff else "; the paper's settings")
                     + f"; paper settings note: {' '.join(config['paper_settings'].split())}")
        if scale != "paper":
            self.note += f"; changes at {scale} scale: {' '.join(config['changes_from_paper'].split())}"

    def specs(self) -> dict[str, tuple[str, object]]:
        m, t, label = self.model, MODELS[self.model], YLABELS[self.model]
        out = {
            f"{m}_one_at_a_time": (f"{t}: at least {self.rules['min_learned']} {label} are learned, one at a time: "
                                   "when each reaches half its final value, the next is still negligible.",
                                   f"one at a time (escapes near {PAPER['escapes'][m]})"),
            f"{m}_about_rank": (f"{t}: about as many values as the target has non-negligible singular values "
                                "(its rank, 5, unless its spectrum is steep) become non-negligible; the rest stay "
                                "near zero.", f"{PAPER['learned'][m]} (target rank 5)"),
            f"{m}_escapes": (f"{t}: the five values escape near the paper's iterations (the middle of each jump).",
                             PAPER["escapes"][m]),
            f"{m}_plateaus": (f"{t}: the five learned values settle near the paper's.", PAPER["plateaus"][m]),
            f"{m}_stepwise": (f"{t}: the reconstruction error falls in steps, one per learned component.",
                              "stepwise (implied by the sequential escapes)"),
            f"{m}_recovers_target": (f"{t}: the learned low-rank solution recovers the target (small final "
                                     "reconstruction error).", "the low-rank fit generalizes"),
        }
        if m in PAPER["overshoot"]:
            out[f"{m}_overshoot"] = (f"{t}: the first value overshoots before it settles.",
                                     f"peak ≈ {PAPER['overshoot'][m]} over a final ≈ {PAPER['plateaus'][m][0]}")
        return out

    def claim(self, cid: str, measured, tolerance: str, passed: bool) -> Claim:
        statement, paper = self.specs()[cid]
        return Claim(cid, statement, paper, measured, tolerance, passed, note=self.note,
                     figure="incremental_rank", scale=self.scale)

    def holds(self, predicate: Callable[[Run], bool]) -> dict[int, bool]:
        return holds(self.by_seed, predicate)

    def verdict(self, per_seed: dict[int, bool]) -> tuple[str, bool]:
        return seed_verdict(self.by_seed, per_seed)

    def unfinished(self) -> str:
        off = {s: r["status"] for s, r in self.by_seed.items() if r["status"] not in FINISHED}
        return f"; not counted: {off}" if off else ""

    def medians(self, values: dict[int, list], count: int) -> tuple[list[float | None], bool]:
        """Per position, the median over the finished seeds that have it; and whether they are a majority."""
        done = [s for s in self.seeds if self.by_seed[s]["status"] in FINISHED]
        out = []
        for k in range(count):
            have = [values[s][k] for s in done if k < len(values[s]) and values[s][k] is not None]
            out.append(float(np.median(have)) if have else None)
        return out, majority([s in done for s in self.seeds])

    def all(self) -> list[Claim]:
        specs = self.specs()
        if self.scale == "smoke":
            reason = "smoke scale: tiny targets and a few hundred iterations test the pipeline, not the paper; " + self.note
            return [not_checkable(cid, st, paper, reason, figure="incremental_rank", scale=self.scale)
                    for cid, (st, paper) in specs.items()]
        m, r_ = self.model, self.rules
        rel, tol = r_["negligible_rel"], r_["count_tol"]
        claims = []

        text, ok = self.verdict(self.holds(
            lambda r: learned_one_at_a_time(r["history"]["iteration"], top(r), rel, r_["min_learned"])))
        counts = {s: learned_count(r, rel) for s, r in self.by_seed.items()}
        claims.append(self.claim(f"{m}_one_at_a_time", f"learned per seed {counts}; {text}",
                                 f"at least min_learned = {r_['min_learned']} learned; next value below {rel} x final "
                                 "largest at each half-rise; majority of seeds", ok))

        both = {s: (learned_count(r, rel), target_count(r, rel)) for s, r in self.by_seed.items()}
        per_seed = self.holds(lambda r: abs(both[r["seed"]][0] - both[r["seed"]][1]) <= tol
                              and both[r["seed"]][0] <= self.config["target_rank"] + tol)
        text, ok = self.verdict(per_seed)
        claims.append(self.claim(f"{m}_about_rank", f"(learned, target's) counts per seed {both}; {text}",
                                 f"learned count within {tol} of the target's own count of singular values above {rel} x "
                                 f"its largest (compared with the target's count, not the rank 5, because a generated "
                                 f"target's 5th value can be negligible) and at most rank + {tol}; majority of seeds",
                                 ok))

        n = len(PAPER["escapes"][m])
        med, enough = self.medians({s: escapes(r, n) for s, r in self.by_seed.items()}, n)
        paper = PAPER["escapes"][m]
        slack = r_["escape_abs_tol_share"] * paper[-1]
        esc_ok = enough and all(e is not None and abs(e - p) <= r_["escape_rel_tol"] * p + slack
                                for e, p in zip(med, paper))
        claims.append(self.claim(f"{m}_escapes", f"median half-rise iterations {med}{self.unfinished()}",
                                 f"each within escape_rel_tol = {r_['escape_rel_tol']:g} x the paper's + "
                                 f"escape_abs_tol_share = {r_['escape_abs_tol_share']:g} x its last ({slack:.0f}); "
                                 "finished on a majority of seeds", esc_ok))

        med, enough = self.medians({s: top(r)[-1, :n].tolist() for s, r in self.by_seed.items()}, n)
        paper = PAPER["plateaus"][m]
        plat_ok = enough and all(v is not None and abs(v - p) <= r_["plateau_rel_tol"] * p for v, p in zip(med, paper))
        claims.append(self.claim(f"{m}_plateaus", f"median final values {[None if v is None else round(v, 2) for v in med]}{self.unfinished()}",
                                 f"each within plateau_rel_tol = {r_['plateau_rel_tol']:g} x the paper's; finished on a "
                                 "majority of seeds", plat_ok))

        if f"{m}_overshoot" in specs:
            ratios = {s: round(overshoot(r), 2) for s, r in self.by_seed.items()}
            need = 1 + r_["overshoot_fraction"] * (PAPER["overshoot"][m] / PAPER["plateaus"][m][0] - 1)
            text, ok = self.verdict(self.holds(lambda r: ratios[r["seed"]] >= need))
            claims.append(self.claim(f"{m}_overshoot", f"peak / final of the largest value per seed {ratios}; {text}",
                                     f"peak / final >= 1 + overshoot_fraction = {r_['overshoot_fraction']:g} x the "
                                     f"paper's excess ({PAPER['overshoot'][m]} / {PAPER['plateaus'][m][0]} - 1) = "
                                     f"{need:.2f}; majority of seeds", ok))

        levels = {s: [round(x, 3) for x in intermediate_plateaus(r["history"]["iteration"],
                                                                 r["history"]["reconstruction_error"],
                                                                 r_["plateau_window"], r_["plateau_tol"], r_["step_tol"])]
                  for s, r in self.by_seed.items()}
        text, ok = self.verdict(self.holds(lambda r: len(levels[r["seed"]]) >= r_["min_steps"]))
        claims.append(self.claim(f"{m}_stepwise", f"intermediate plateau levels {levels}; {text}",
                                 f">= {r_['min_steps']} intermediate plateaus ({r_['plateau_window']} iterations within "
                                 f"{r_['plateau_tol']}); majority of seeds", ok))

        finals = {s: round(float(r["history"]["reconstruction_error"].iloc[-1]), 4) for s, r in self.by_seed.items()}
        text, ok = self.verdict(self.holds(lambda r: finals[r["seed"]] < r_["recovery_error"]))
        claims.append(self.claim(f"{m}_recovers_target", f"final errors per seed {finals}; {text}",
                                 f"final reconstruction error < {r_['recovery_error']}; majority of seeds", ok))
        return claims


def incremental_rank_claims(runs: list[Run], config: dict, scale: str) -> list[Claim]:
    """Every claim of the figure, model by model (mf, tf, htf: those run)."""
    claims = []
    for model in MODELS:
        mine = [r for r in runs if r["model"] == model]
        if mine:
            claims += _Model(model, mine, config, scale).all()
    return claims
