"""Claims of the tensor factorization dynamics figures: P1 Figure 3 and its appendix variants.

A run is a dict with ``init``, ``seed``, ``status``, ``iterations`` and ``history`` (its
metrics.csv). Each claim is checked on every seed and passes when it holds on a majority of them;
a run that did not converge (diverged, or stopped by the cap) never counts as holding. The rules
come from the config's ``claims`` section, fixed before the runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from impreg.analysis import count_above, first_crossing, intermediate_plateaus, one_at_a_time
from impreg.claims import Claim, majority, not_checkable, numeric_rules
from impreg.paper_values import TF_DYNAMICS as PAPER

Run = dict  # init, seed, status, iterations, history
SMALL, MID, LARGE = 0.005, 0.01, 0.05  # Figure 3's inits


def top_columns(history: pd.DataFrame) -> list[str]:
    """The columns of the largest component norms (order statistics), largest first."""
    return [c for c in history.columns if c.startswith("top_component_")]


def order_stats(run: Run) -> np.ndarray:
    return run["history"][top_columns(run["history"])].to_numpy()


def final_error(run: Run) -> float:
    return float(run["history"]["reconstruction_error"].iloc[-1])


def rise_iteration(run: Run, k: int, fraction: float) -> int | None:
    """First logged iteration at which the k-th largest norm reaches ``fraction`` of its final value."""
    values = run["history"][f"top_component_{k}"]
    return first_crossing(run["history"]["iteration"], values, fraction * float(values.iloc[-1]))


def escapes(run: Run, count: int) -> list[int | None]:
    """When each of the ``count`` largest components escapes: the middle of its visible jump (half
    its final norm), not the first crossing of a small threshold, which comes long before the jump."""
    return [rise_iteration(run, k, 0.5) for k in range(count)]


def separation(run: Run, count: int) -> float:
    """How separated and sharp the jumps are: the median over consecutive components of the gap
    between their escapes over the duration of the first one's rise (10% to 90% of its final norm).
    Components that rise together give about 0; sharp jumps far apart give a large value."""
    step = float(np.diff(run["history"]["iteration"].to_numpy()[:2])[0])  # a rise takes at least one log step
    ratios, middles = [], escapes(run, count)
    for k in range(count - 1):
        start, end = rise_iteration(run, k, 0.1), rise_iteration(run, k, 0.9)
        a, b = middles[k], middles[k + 1]
        if None in (start, end, a, b):
            return 0.0
        ratios.append(max(b - a, 0) / max(end - start, step))
    return float(np.median(ratios))


def error_steps(run: Run, rules: dict) -> list[float]:
    """The intermediate plateau levels of the run's reconstruction error."""
    h = run["history"]
    return [round(x, 3) for x in intermediate_plateaus(h["iteration"], h["reconstruction_error"],
                                                        rules["plateau_window"], rules["plateau_tol"], rules["step_tol"])]


class SeedVotes:
    """Checks a predicate on every seed's runs; the majority of seeds decides."""

    def __init__(self, by_key: dict[tuple[float, int], Run], seeds: Iterable[int]) -> None:
        self.by_key, self.seeds = by_key, sorted(seeds)

    def holds(self, predicate: Callable[..., bool], *inits: float) -> dict[int, bool]:
        """Per seed: does the predicate hold on the runs at these inits? Unconverged runs never hold."""
        out = {}
        for s in self.seeds:
            runs = [self.by_key[(i, s)] for i in inits]
            out[s] = all(r["status"] == "converged" for r in runs) and bool(predicate(*runs))
        return out

    def unfinished(self, seeds: Iterable[int], *inits: float) -> dict[str, str]:
        """The runs among these that did not converge, with their status."""
        return {f"init {i:g} seed {s}": self.by_key[(i, s)]["status"] for s in seeds for i in inits
                if self.by_key[(i, s)]["status"] != "converged"}

    def verdict(self, per_seed: dict[int, bool], *inits: float) -> tuple[str, bool]:
        """The count of seeds where the claim holds (runs that did not converge are named) and the majority."""
        held = [s for s, ok in per_seed.items() if ok]
        off = self.unfinished(per_seed, *inits)
        return (f"holds on {len(held)} of {len(per_seed)} seeds {held}" + (f"; not counted: {off}" if off else ""),
                majority(list(per_seed.values())))

    def error_order(self, inits: list[float], margin: float) -> tuple[dict[int, bool], dict[int, list[float]]]:
        """Per seed: does every larger init end with an error at least (1 + margin) x the next smaller's?

        A tie within the margin is no order: seed noise and rounding cannot decide the verdict.
        """
        ascending = sorted(inits)
        finals = {s: [final_error(self.by_key[(i, s)]) for i in ascending] for s in self.seeds}

        def ordered(*runs: Run) -> bool:
            errors = finals[runs[0]["seed"]]
            return all(b >= (1 + margin) * a for a, b in zip(errors, errors[1:]))

        return self.holds(ordered, *ascending), {s: [round(e, 4) for e in v] for s, v in finals.items()}



def _order_rule(margin: float) -> str:
    return f"each larger init's final error >= (1 + order_margin = {margin:g}) x the next smaller init's"


# -- P1 Figure 3 ---------------------------------------------------------------------------------
FIGURE3 = {
    "one_at_a_time": ("At init 0.005 the component norms rise one at a time, in sequence: when each of the "
                      "first five learned components reaches half its final norm, the next is still negligible.",
                      "one at a time (jumps near 4.2k, 5.3k, 7.0k, 9.8k, 11.3k)"),
    "about_rank_components": ("At init 0.005 about as many components as the target rank (5) end non-negligible, "
                              "while the rest stay near zero.", PAPER["learned_components_init_0.005"]),
    "error_order": ("Final reconstruction errors are ordered init 0.005 < 0.01 < 0.05.", "0.005 < 0.03 < 0.08"),
    **{f"final_error_init_{i:g}": (f"The final reconstruction error at init {i:g} is near the paper's.",
                                   PAPER["final_reconstruction_error"][i]) for i in (SMALL, MID, LARGE)},
    **{f"stepwise_init_{i:g}": (f"At init {i:g} the reconstruction error falls in steps.",
                                "steps 1.0 → 0.82 → 0.56 → 0.39 → 0.22 → final") for i in (MID, SMALL)},
    "smooth_init_0.05": ("At init 0.05 the reconstruction error falls smoothly, without steps.",
                         "smooth decay to ≈0.08 by ~2k iterations"),
    "first_escape_init_0.005": ("At init 0.005 the first component escapes near the paper's iteration (the "
                                "middle of its jump).", PAPER["escape_iterations_init_0.005"][0]),
    "later_escapes_init_0.005": ("At init 0.005 the second to fifth components escape near the paper's iterations "
                                 "(the middle of each jump).", PAPER["escape_iterations_init_0.005"][1:]),
    "plateau_norms_init_0.005": ("At init 0.005 the five learned components settle near the paper's norms.",
                                 PAPER["plateau_norms_init_0.005"]),
    "error_steps_init_0.005": ("At init 0.005 the reconstruction error pauses at the paper's intermediate levels.",
                               PAPER["error_steps_init_0.005"][1:-1]),
    "sharper_with_smaller_init": ("The smaller the init, the sharper and more separated the jumps: the gaps between "
                                  "escapes, relative to the duration of a rise, grow as the init shrinks.",
                                  "separated jumps at 0.005, closer at 0.01, none at 0.05"),
}


def figure3_claims(runs: list[Run], config: dict, scale: str) -> list[Claim]:
    """The claims of P1 Figure 3 from its runs and the tf_dynamics config section."""
    rules, common = numeric_rules(config), dict(figure="tf_dynamics", scale=scale)

    def claim(cid: str, measured, tolerance, passed) -> Claim:
        statement, paper = FIGURE3[cid]
        return Claim(cid, statement, paper, measured, tolerance, passed, **common)

    inits = sorted({r["init"] for r in runs})
    mismatch = {k: (config[k], v) for k, v in PAPER["settings"].items() if k != "init_stds" and config[k] != v}
    missing = sorted(set(PAPER["settings"]["init_stds"]) - set(inits))
    if mismatch or missing:
        reason = (f"settings differ from the paper's at this scale ({scale}): "
                  + ", ".join(f"{k}={a} (paper {b})" for k, (a, b) in mismatch.items())
                  + (f"; inits {missing} not run" if missing else ""))
        return [not_checkable(cid, statement, paper, reason, **common) for cid, (statement, paper) in FIGURE3.items()]

    by_key = {(r["init"], r["seed"]): r for r in runs}
    votes = SeedVotes(by_key, {r["seed"] for r in runs})
    seeds, neg, rank = votes.seeds, rules["negligible_norm"], config["target_rank"]
    claims = []

    per_seed = votes.holds(lambda r: all(one_at_a_time(r["history"]["iteration"], order_stats(r), neg, rank)), SMALL)
    text, ok = votes.verdict(per_seed, SMALL)
    claims.append(claim("one_at_a_time", text, f"next component below {neg} at each half-rise; majority of seeds", ok))

    counts = {s: count_above(order_stats(by_key[(SMALL, s)])[-1], neg) for s in seeds}
    per_seed = votes.holds(lambda r: abs(counts[r["seed"]] - rank) <= 1, SMALL)
    text, ok = votes.verdict(per_seed, SMALL)
    claims.append(claim("about_rank_components", f"counts per seed {counts}; {text}",
                        f"count of final norms above {neg} within 1 of {rank}; majority of seeds", ok))

    per_seed, finals = votes.error_order([SMALL, MID, LARGE], rules["order_margin"])
    text, ok = votes.verdict(per_seed, SMALL, MID, LARGE)
    claims.append(claim("error_order", f"final errors (init 0.005, 0.01, 0.05) per seed {finals}; {text}",
                        f"{_order_rule(rules['order_margin'])}; majority of seeds", ok))

    for init in (SMALL, MID, LARGE):
        paper_value = PAPER["final_reconstruction_error"][init]
        values = [final_error(by_key[(init, s)]) for s in seeds]
        med = float(np.median(values))
        tol = max(rules["error_rel_tol"] * paper_value, rules["error_abs_tol"])
        off = votes.unfinished(seeds, init)
        claims.append(claim(f"final_error_init_{init:g}",
                            f"median {med:.4f} over seeds (per seed {np.round(values, 4).tolist()})"
                            + (f"; not converged, so not checked: {off}" if off else ""),
                            f"|median - paper| <= {tol:.4f}", not off and abs(med - paper_value) <= tol))

    levels = {(r["init"], r["seed"]): error_steps(r, rules) for r in runs}
    for init in (MID, SMALL):
        per_seed = votes.holds(lambda r: len(levels[(r["init"], r["seed"])]) >= rules["min_steps"], init)
        text, ok = votes.verdict(per_seed, init)
        claims.append(claim(f"stepwise_init_{init:g}",
                            f"intermediate plateau levels { {s: levels[(init, s)] for s in seeds} }; {text}",
                            f">= {rules['min_steps']} intermediate plateaus ({rules['plateau_window']} iterations "
                            f"within {rules['plateau_tol']}); majority of seeds", ok))
    per_seed = votes.holds(lambda r: len(levels[(r["init"], r["seed"])]) == 0, LARGE)
    text, ok = votes.verdict(per_seed, LARGE)
    claims.append(claim("smooth_init_0.05", f"intermediate plateau levels { {s: levels[(LARGE, s)] for s in seeds} }; "
                        f"{text}", "no intermediate plateau; majority of seeds", ok))

    claims += _figure3_quantities(by_key, votes, rules, claim)
    return claims


def _medians(per_seed: dict[int, list[float | None]], count: int) -> list[float | None]:
    """Per position, the median over the seeds that have a value there (None: no seed has)."""
    out = []
    for k in range(count):
        values = [v[k] for v in per_seed.values() if v[k] is not None]
        out.append(float(np.median(values)) if values else None)
    return out


def _figure3_quantities(by_key: dict, votes: SeedVotes, rules: dict, claim: Callable[..., Claim]) -> list[Claim]:
    """The claims on Figure 3's numbers: escape iterations, plateau norms, error steps, sharpness.

    Escapes and norms are compared as medians over the converged runs, which must be a majority of
    the seeds; the step levels are checked per seed (majority rule)."""
    seeds, claims = votes.seeds, []
    done = [s for s in seeds if by_key[(SMALL, s)]["status"] == "converged"]
    off = votes.unfinished(seeds, SMALL)
    enough = majority([s in done for s in seeds])
    counted = f"; not counted: {off}" if off else ""
    paper_escapes, paper_norms = PAPER["escape_iterations_init_0.005"], PAPER["plateau_norms_init_0.005"]
    n = len(paper_escapes)
    per_seed = {s: escapes(by_key[(SMALL, s)], n) for s in done}
    med = _medians(per_seed, n)

    factor = rules["escape_factor"]
    first_ok = enough and med[0] is not None and paper_escapes[0] / factor <= med[0] <= paper_escapes[0] * factor
    claims.append(claim("first_escape_init_0.005", f"median {med[0]} (per seed { {s: e[0] for s, e in per_seed.items()} })"
                        f"{counted}", f"median half-rise iteration within a factor {factor:g} of {paper_escapes[0]}; "
                        "converged on a majority of seeds", first_ok))

    rel = rules["escape_rel_tol"]
    later_ok = enough and all(m is not None and abs(m - p) <= rel * p for m, p in zip(med[1:], paper_escapes[1:]))
    claims.append(claim("later_escapes_init_0.005", f"medians {med[1:]} (per seed "
                        f"{ {s: e[1:] for s, e in per_seed.items()} }){counted}",
                        f"each median half-rise iteration within escape_rel_tol = {rel:g} x the paper's", later_ok))

    tol = rules["norm_abs_tol"]
    norms = {s: [float(x) for x in order_stats(by_key[(SMALL, s)])[-1, :n]] for s in done}
    med_norms = _medians(norms, n)
    norms_ok = enough and all(m is not None and abs(m - p) <= tol for m, p in zip(med_norms, paper_norms))
    claims.append(claim("plateau_norms_init_0.005", f"median final norms {np.round(med_norms, 3).tolist()}{counted}",
                        f"each within norm_abs_tol = {tol:g} of the paper's", norms_ok))

    tol, levels = rules["step_abs_tol"], PAPER["error_steps_init_0.005"][1:-1]
    found = {s: error_steps(by_key[(SMALL, s)], rules) for s in seeds}
    per_seed_ok = votes.holds(lambda r: all(any(abs(x - p) <= tol for x in found[r["seed"]]) for p in levels), SMALL)
    text, ok = votes.verdict(per_seed_ok, SMALL)
    claims.append(claim("error_steps_init_0.005", f"intermediate plateau levels {found}; {text}",
                        f"an intermediate plateau within step_abs_tol = {tol:g} of each of {levels}; majority of "
                        "seeds", ok))

    margin = rules["order_margin"]
    sep = {(i, s): round(separation(by_key[(i, s)], n), 2) for i in (SMALL, MID, LARGE) for s in seeds}
    per_seed_ok = votes.holds(lambda a, b, c: sep[(SMALL, a["seed"])] >= (1 + margin) * sep[(MID, a["seed"])]
                              and sep[(MID, a["seed"])] >= (1 + margin) * sep[(LARGE, a["seed"])], SMALL, MID, LARGE)
    text, ok = votes.verdict(per_seed_ok, SMALL, MID, LARGE)
    claims.append(claim("sharper_with_smaller_init",
                        f"separation (gap between escapes / rise duration, init 0.005, 0.01, 0.05) per seed "
                        f"{ {s: [sep[(i, s)] for i in (SMALL, MID, LARGE)] for s in seeds} }; {text}",
                        f"each smaller init's separation >= (1 + order_margin = {margin:g}) x the next larger's; "
                        "majority of seeds", ok))
    return claims


# -- the appendix variants -----------------------------------------------------------------------
VARIANT_TITLES = {"order3": "order 3", "huber": "Huber loss", "sensing": "tensor sensing"}


def variant_specs(name: str) -> dict[str, tuple[str, str]]:
    t = VARIANT_TITLES.get(name, name)
    return {
        f"{name}_one_at_a_time": (f"{t}: at the smallest init the component norms rise one at a time: when each of the "
                                  "first (target rank) components reaches half its final norm, the next is still "
                                  "negligible.", "one at a time, as in Figure 3"),
        f"{name}_about_rank_components": (f"{t}: at the smallest init about as many components as the target's rank "
                                          "end non-negligible; the rest stay near zero.", "target rank (5)"),
        f"{name}_stepwise": (f"{t}: at the smallest init the reconstruction error falls in steps.",
                             "stepwise, as in Figure 3"),
        f"{name}_error_order": (f"{t}: the final reconstruction error is lower for a smaller init.",
                                "ordered as in Figure 3 (0.005 < 0.01 < 0.05)"),
    }


def variant_claims(name: str, runs: list[Run], config: dict, scale: str, note: str) -> list[Claim]:
    """The claims of one variant (its runs only) from the tf_dynamics_variants config section."""
    rules, common = numeric_rules(config), dict(figure="tf_dynamics_variants", scale=scale)
    spec = variant_specs(name)

    def claim(cid: str, measured, tolerance, passed) -> Claim:
        statement, paper = spec[cid]
        return Claim(cid, statement, paper, measured, tolerance, passed, note=note, **common)

    if scale == "smoke":
        reason = "smoke scale: tiny targets and a few hundred iterations test the pipeline, not the paper; " + note
        return [not_checkable(cid, statement, paper, reason, **common) for cid, (statement, paper) in spec.items()]
    by_key = {(r["init"], r["seed"]): r for r in runs}
    votes = SeedVotes(by_key, {r["seed"] for r in runs})
    inits = sorted({r["init"] for r in runs})
    small, neg, rank = inits[0], rules["negligible_norm"], config["variants"][name]["target_rank"]
    claims = []

    per_seed = votes.holds(lambda r: all(one_at_a_time(r["history"]["iteration"], order_stats(r), neg, rank)), small)
    text, ok = votes.verdict(per_seed, small)
    claims.append(claim(f"{name}_one_at_a_time", text, f"next component below {neg} at each half-rise; majority of "
                        "seeds", ok))

    counts = {s: count_above(order_stats(by_key[(small, s)])[-1], neg) for s in votes.seeds}
    per_seed = votes.holds(lambda r: abs(counts[r["seed"]] - rank) <= rules["count_tol"], small)
    text, ok = votes.verdict(per_seed, small)
    claims.append(claim(f"{name}_about_rank_components", f"counts per seed {counts}; {text}",
                        f"count of final norms above {neg} within {rules['count_tol']} of {rank}; majority of seeds",
                        ok))

    levels = {s: error_steps(by_key[(small, s)], rules) for s in votes.seeds}
    per_seed = votes.holds(lambda r: len(levels[r["seed"]]) >= rules["min_steps"], small)
    text, ok = votes.verdict(per_seed, small)
    claims.append(claim(f"{name}_stepwise", f"intermediate plateau levels {levels}; {text}",
                        f">= {rules['min_steps']} intermediate plateaus ({rules['plateau_window']} iterations within "
                        f"{rules['plateau_tol']}); majority of seeds", ok))

    if len(inits) < 2:
        claims.append(not_checkable(f"{name}_error_order", *spec[f"{name}_error_order"],
                                    f"only one init ({inits}) at this scale", **common))
        return claims
    per_seed, finals = votes.error_order(inits, rules["order_margin"])
    text, ok = votes.verdict(per_seed, *inits)
    claims.append(claim(f"{name}_error_order", f"final errors (init {inits}) per seed {finals}; {text}",
                        f"{_order_rule(rules['order_margin'])}; majority of seeds", ok))
    return claims
