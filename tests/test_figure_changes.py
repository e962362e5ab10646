"""The report's per-figure changes_from_paper line: the config's, or the one recorded with shipped runs."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))

from figures import MANIFEST  # noqa: E402
from rule_helpers import figure_changes  # noqa: E402

CLAIMS = ["results/claims/rank_complexity_mnist5k.json", "results/claims/tf_dynamics.json"]
CONFIG = {
    "rank_complexity": {"changes_from_paper": "batches of 334\n  now"},
    "tf_dynamics": {"changes_from_paper": "float64"},
}


def test_the_config_text_without_an_origin():
    assert figure_changes(CLAIMS, MANIFEST, CONFIG) == {
        "rank_complexity_mnist5k": "batches of 334 now",
        "tf_dynamics": "float64",
    }


def test_a_shipped_figure_keeps_the_text_recorded_with_its_runs():
    origin = {
        "figures": {"rank_complexity_mnist5k": {"config": {"changes_from_paper": "full batch"}}}
    }
    assert figure_changes(CLAIMS, MANIFEST, CONFIG, origin) == {
        "rank_complexity_mnist5k": "full batch",
        "tf_dynamics": "float64",
    }


def test_a_shipped_figure_that_recorded_no_text_takes_the_config_one():
    origin = {"figures": {"rank_complexity_mnist5k": {"config": {"figure_seed": 0}}}}
    assert (
        figure_changes(CLAIMS, MANIFEST, CONFIG, origin)["rank_complexity_mnist5k"]
        == "batches of 334 now"
    )
