"""Claims of P2's hierarchical tensor factorization detail figure: the hierarchical runs of the
incremental-rank figure, at node {1,2}, at the root, and in two matricizations of the learned tensor.

A run is a dict with ``seed``, ``status``, ``iterations``, ``summary`` and ``history``. The history
(metrics.csv) holds ``local_<node>_<k>`` (the k-th largest local component norm at a node) and
``sv_<modes>_<k>`` (the k-th largest singular value of a tracked matricization); the summary holds the
full spectra ``target_matricization_singular_values`` and ``final_matricization_singular_values`` by
matricization, and ``target_split_modes`` (the root's split). Modes are 0-based: the paper's {1,2} is
``0-1``. Each claim is checked on every judged seed (majority rule) with the helpers of the incremental-rank
claims, so the same run is judged the same way in both figures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from impreg.analysis import count_above
from impreg.claims import Claim, not_checkable, numeric_rules
from impreg.claims.incremental_rank import count_learned, holds, learned_one_at_a_time, seed_verdict
from impreg.tensor_ranks import thresholded_rank

FIGURE = "htf_detail"
Run = dict

SPECS = {
    "node12_one_at_a_time": (
        "The local components at node {1,2} become non-negligible one at a time.",
        "emerge one after another",
    ),
    "root_one_at_a_time": (
        "The local components at the root become non-negligible one at a time.",
        "emerge one after another (≈10k, 13k, 16k, 20k, 30.5k iterations)",
    ),
    "in_tree_sv_one_at_a_time": (
        "The singular values of the {1,2} matricization (in the tree) become "
        "non-negligible one at a time.",
        "emerge one after another",
    ),
    "node12_about_rank": (
        "About as many local components at node {1,2} as the target's rank become non-negligible.",
        "≈ target rank (5)",
    ),
    "root_about_rank": (
        "About as many local components at the root as the target's rank become non-negligible.",
        "≈ target rank (5): plateaus ≈9.5, 4.8, 2.5, 1.5, 0.8, the rest ≈0",
    ),
    "in_tree_low_rank": (
        "The learned tensor's {1,2} matricization (in the tree) has low rank: at most the target "
        "rank and close to the target's own.",
        "low (≈5): low hierarchical tensor rank",
    ),
    "off_tree_ranks": (
        "The learned tensor's {1,3} matricization (not in the tree) against the target's (reported, "
        "not judged).",
        "not constrained by the hierarchical rank",
    ),
}


def paper_modes(key: str) -> str:
    """A 0-based run-file key '0-1' as the paper's 1-based '{1,2}'."""
    return "{" + ",".join(str(int(m) + 1) for m in key.split("-")) + "}"


@dataclass(frozen=True)
class Keys:
    """Which run-file keys the panels and claims read."""

    node: str  # node {1,2}: the first non-root node with logged local norms
    root: str
    in_tree: str  # the matricization of node {1,2}, one entry of the hierarchical rank
    off_tree: str  # the first tracked matricization outside the tree ({1,3})
    root_split: str  # the root's split {1,2} vs {3,4} in the target's spectra


def keys_of(run: Run, extra_matricizations: str) -> Keys:
    """The keys of a run, the off-tree one the first of the config's ``extra_matricizations``."""
    root = "-".join(str(m) for m in range(len(run["summary"]["dims"])))
    local = sorted(
        {c.split("_")[1] for c in run["history"].columns if c.startswith("local_")},
        key=lambda k: (len(k), [int(m) for m in k.split("-")]),
    )
    node = next(k for k in local if k != root)
    return Keys(
        node=node,
        root=root,
        in_tree=node,
        off_tree=extra_matricizations.split(";")[0].strip(),
        root_split=run["summary"]["target_split_modes"],
    )


def check_columns(runs: list[Run], keys: Keys) -> None:
    """Every run logs the four panels' curves (a run file without them fails naming its seed)."""
    for r in runs:
        cols = set(r["history"].columns)
        for prefix in (
            f"local_{keys.node}_0",
            f"local_{keys.root}_0",
            f"sv_{keys.in_tree}_0",
            f"sv_{keys.off_tree}_0",
        ):
            if prefix not in cols:
                raise ValueError(f"run of seed {r['seed']} is malformed: no column {prefix}")


def curves(run: Run, prefix: str) -> np.ndarray:
    """The logged curves ``<prefix><k>`` (time, k), largest first."""
    h = run["history"]
    return h[
        [c for c in h.columns if c.startswith(prefix) and c[len(prefix) :].isdigit()]
    ].to_numpy()


def target_count(run: Run, key: str, rel: float) -> int:
    """The target's singular values in matricization ``key`` above rel x its largest (the curves' rule)."""
    sv = np.asarray(run["summary"]["target_matricization_singular_values"][key])
    return count_above(sv, rel * sv.max())


def rank_of(run: Run, key: str, which: str, rel_tol: float) -> int:
    """Rank of the ``which`` ('final' or 'target') tensor's matricization ``key``: singular values above
    ``rel_tol`` x the largest, from the full spectrum in summary.json."""
    return thresholded_rank(
        np.asarray(run["summary"][f"{which}_matricization_singular_values"][key]), rel_tol
    )


class _Detail:
    """The claims of the figure: its runs, the rules, the tree's keys and the note every claim carries."""

    def __init__(
        self, runs: list[Run], config: dict, htf: dict, target_rank: int, scale: str
    ) -> None:
        self.rules, self.scale, self.target_rank = numeric_rules(config), scale, target_rank
        self.by_seed = {r["seed"]: r for r in runs}
        self.keys = keys_of(runs[0], htf.get("extra_matricizations", "0-2"))
        check_columns(runs, self.keys)
        k = self.keys
        self.note = (
            f"hierarchical runs of incremental_rank with {json.dumps(htf, sort_keys=True)}, target rank {target_rank}; "
            f"0-based modes in the run files ({k.in_tree} = paper's {paper_modes(k.in_tree)}, "
            f"{k.off_tree} = paper's {paper_modes(k.off_tree)})"
        )

    def claim(
        self, cid: str, measured, tolerance: str, passed: bool | None, detail: str = ""
    ) -> Claim:
        statement, paper = SPECS[cid]
        return Claim(
            cid,
            statement,
            paper,
            measured,
            tolerance,
            passed,
            note=f"{detail}; {self.note}" if detail else self.note,
            figure=FIGURE,
            scale=self.scale,
        )

    def voted(self, cid: str, measured: str, tolerance: str, per_seed: dict[int, bool]) -> Claim:
        """A claim checked on every judged seed (the incremental_rank rule): a majority must hold."""
        text, passed, note = seed_verdict(self.by_seed, per_seed)
        return self.claim(
            cid, f"{text}; {measured}", f"{tolerance}; majority of judged seeds", passed, note
        )

    def one_at_a_time(self, cid: str, prefix: str) -> Claim:
        rel, need, frac = (
            self.rules["negligible_rel"],
            self.rules["min_learned"],
            self.rules["learned_fraction"],
        )
        per_seed = holds(
            self.by_seed,
            lambda r: learned_one_at_a_time(
                r["history"]["iteration"], curves(r, prefix), rel, need, frac
            ),
        )
        counts = {s: count_learned(curves(r, prefix), rel) for s, r in self.by_seed.items()}
        return self.voted(
            cid,
            f"learned per seed {counts}",
            f"at least min_learned = {need} learned; next value below {rel} x final largest when each "
            f"reaches learned_fraction = {frac:g} of its final value (the incremental_rank rule)",
            per_seed,
        )

    def about_rank(self, cid: str, prefix: str, key: str) -> Claim:
        rel, tol = self.rules["negligible_rel"], self.rules["count_tol"]
        counts = {
            s: (count_learned(curves(r, prefix), rel), target_count(r, key, rel))
            for s, r in self.by_seed.items()
        }
        per_seed = holds(
            self.by_seed,
            lambda r: (
                abs(counts[r["seed"]][0] - counts[r["seed"]][1]) <= tol
                and counts[r["seed"]][0] <= self.target_rank + tol
            ),
        )
        return self.voted(
            cid,
            f"(learned, target's {key}) counts per seed {counts}",
            f"within {tol} of the target's count (above {rel} x the largest) and at most rank + {tol}",
            per_seed,
        )

    def in_tree_low_rank(self) -> Claim:
        k, tol, ctol = self.keys, self.rules["rank_rel_tol"], self.rules["count_tol"]
        ranks = {
            s: {
                "learned": rank_of(r, k.in_tree, "final", tol),
                "target": rank_of(r, k.in_tree, "target", tol),
            }
            for s, r in self.by_seed.items()
        }
        per_seed = holds(
            self.by_seed,
            lambda r: (
                ranks[r["seed"]]["learned"] <= self.target_rank
                and abs(ranks[r["seed"]]["learned"] - ranks[r["seed"]]["target"]) <= ctol
            ),
        )
        return self.voted(
            "in_tree_low_rank",
            f"ranks of {k.in_tree} per seed {ranks}",
            f"rank (singular values above {tol} x the largest) <= {self.target_rank} and within {ctol} "
            "of the target's",
            per_seed,
        )

    def off_tree_ranks(self) -> Claim:
        """Reported, not judged: once the learned tensor is the target, its off-tree rank is the target's,
        so a verdict here would count the recovery of the target (incremental_rank's htf_recovers_target)
        a second time."""
        k, tol = self.keys, self.rules["rank_rel_tol"]
        ranks = {
            s: {
                "learned": rank_of(r, k.off_tree, "final", tol),
                "target": rank_of(r, k.off_tree, "target", tol),
                "learned in tree": rank_of(r, k.in_tree, "final", tol),
            }
            for s, r in self.by_seed.items()
        }
        return self.claim(
            "off_tree_ranks",
            f"ranks of {k.off_tree} (and the learned {k.in_tree}) per seed {ranks}",
            f"every rank counting singular values above {tol} x the largest; reported, not judged",
            None,
            detail=(
                f"not judged: the learned {paper_modes(k.off_tree)} rank equals the target's whenever the "
                "learned tensor recovers the target, which incremental_rank's htf_recovers_target already "
                "judges; outside the tree the target's rank is bounded by the leaves' widths (up to "
                f"{self.target_rank}² = {self.target_rank**2}), not by the hierarchical rank"
            ),
        )

    def all(self) -> list[Claim]:
        if self.scale == "smoke":
            reason = (
                "smoke scale: tiny targets and a few hundred iterations test the pipeline, not the paper; "
                + self.note
            )
            return [
                not_checkable(cid, st, paper, reason, figure=FIGURE, scale=self.scale)
                for cid, (st, paper) in SPECS.items()
            ]
        k = self.keys
        return [
            self.one_at_a_time("node12_one_at_a_time", f"local_{k.node}_"),
            self.one_at_a_time("root_one_at_a_time", f"local_{k.root}_"),
            self.one_at_a_time("in_tree_sv_one_at_a_time", f"sv_{k.in_tree}_"),
            self.about_rank("node12_about_rank", f"local_{k.node}_", k.node),
            self.about_rank("root_about_rank", f"local_{k.root}_", k.root_split),
            self.in_tree_low_rank(),
            self.off_tree_ranks(),
        ]


def htf_detail_claims(
    runs: list[Run], config: dict, htf: dict, target_rank: int, scale: str
) -> list[Claim]:
    """Every claim of the figure from the hierarchical runs, the htf_detail section (its ``claims`` rules),
    the runs' settings (incremental_rank.htf) and the target's rank."""
    return _Detail(runs, config, htf, target_rank, scale).all()
