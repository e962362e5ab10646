"""The Snakemake workflow without running it: dry-runs of every preset, and a bad config."""

import os
import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from helpers import (
    LOCALITY_FIGURES,
    RANK_COMPLEXITY_FIGURES,
    copy_workflow,
    job_counts,
    locality_runs,
    planned_files,
    snakemake,
)
from impreg.config import load_config

PRESETS = ["config/config.yaml", "config/quick.yaml", "config/smoke.yaml"]


@pytest.mark.parametrize("preset", PRESETS)
def test_dry_run_every_preset(tmp_path, preset):
    wd = copy_workflow(tmp_path)
    proc = snakemake(wd, "-n", "--configfile", preset)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = job_counts(proc.stdout + proc.stderr)
    config = yaml.safe_load((wd / preset).read_text())["tf_dynamics"]
    assert counts["tf_dynamics_train"] == len(config["init_stds"]) * len(config["seeds"])
    assert counts["tf_dynamics"] == 1 and counts["report"] == 1
    rc = yaml.safe_load((wd / preset).read_text()).get("rank_complexity", {})
    # datasets x controls
    jobs = 5 * len(rc.get("controls", ["natural", "random_image", "random_label"]))
    assert counts["rank_complexity_data"] == jobs and counts["rank_complexity_train"] == jobs
    assert counts["rank_complexity_figure"] == len(RANK_COMPLEXITY_FIGURES)
    assert counts.get("rank_complexity_stand_in", 0) == (1 if rc.get("stand_in") else 0)
    resolved = load_config(wd / preset, wd / "config" / "schema.yaml")
    tfv, irk = resolved["tf_dynamics_variants"], resolved["incremental_rank"]
    variants = tfv["variants"].values()
    assert counts["tf_dynamics_variants_train"] == sum(len(v["init_stds"]) for v in variants) * len(
        tfv["seeds"]
    )
    datasets = {
        (v["task"], v["order"], v["mode_dim"], v["target_rank"], v["num_observations"])
        for v in variants
    }
    assert counts["tf_dynamics_variants_data"] == len(datasets) * len(tfv["seeds"])
    assert (
        counts["incremental_rank_train"] == counts["incremental_rank_data"] == 3 * len(irk["seeds"])
    )
    assert counts["tf_dynamics_variants"] == counts["incremental_rank"] == counts["htf_detail"] == 1
    loc = resolved["locality"]
    assert counts["locality_train"] == locality_runs(loc)
    assert counts["locality_pathfinder_data"] == len(loc["pathfinder"]["path_lengths"])
    assert counts["locality_is_same_class_images"] == 1 and counts["locality_figure"] == len(
        LOCALITY_FIGURES
    )
    # every file a job writes lies in this scale's folder, so that no scale overwrites another's
    written = planned_files(proc.stdout + proc.stderr, "output", "log", "benchmark")
    assert written and all(f.startswith(f"results/{resolved['scale']}/") for f in written), sorted(
        written
    )[:5]


@pytest.mark.parametrize("gpu_here", [False, True])
def test_local_cpu_jobs_claim_a_gpu_slot_only_where_there_is_a_gpu(tmp_path, gpu_here):
    """The paper config asks a GPU for rank_complexity's training; profiles/default gives local runs one
    GPU slot. Without a GPU (no nvidia-smi) the jobs claim none, so that they run side by side."""
    wd = copy_workflow(tmp_path / "wd")
    # PATH: the venv's tools, the few Snakemake calls, a stand-in nvidia-smi
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("which", "sh", "bash", "git"):
        if shutil.which(tool):
            (bin_dir / tool).symlink_to(shutil.which(tool))
    if gpu_here:
        (bin_dir / "nvidia-smi").write_text("#!/bin/sh\n")
        (bin_dir / "nvidia-smi").chmod(0o755)
    path = os.pathsep.join([str(Path(sys.executable).parent), str(bin_dir)])
    proc = snakemake(
        wd, "rank_complexity_mnist5k", "-n", "--configfile", "config/config.yaml", path=path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    claims = re.findall(r"rule rank_complexity_train:.*?resources: .*?gpu=(\d)", proc.stdout, re.S)
    assert claims == (["1"] * 3 if gpu_here else ["0"] * 3)


def test_bad_config_stops_before_any_job(tmp_path):
    wd = copy_workflow(tmp_path)
    config = yaml.safe_load((wd / "config" / "smoke.yaml").read_text())
    config["tf_dynamics"]["init_stds"] = [0.05, -1.0]
    config["tf_dynamics"]["typo_key"] = 3
    (wd / "bad.yaml").write_text(yaml.safe_dump(config))
    proc = snakemake(wd, "--configfile", "bad.yaml")
    assert proc.returncode != 0
    assert (
        "tf_dynamics.init_stds.1" in proc.stderr
        and "-1.0" in proc.stderr
        and "exclusiveMinimum" in proc.stderr
    )
    assert "'typo_key'" in proc.stderr
    assert not (wd / "results").exists()


def test_figure_manifest_names_existing_notebooks_and_captions(root):
    import sys

    sys.path.insert(0, str(root / "workflow"))
    from figures import EXTRAS, FIGURES, MANIFEST

    config = load_config(root / "config" / "config.yaml", root / "config" / "schema.yaml")
    assert set(config["locality"]["figures"]) | set(RANK_COMPLEXITY_FIGURES) <= set(MANIFEST)
    for figure in FIGURES:
        assert (root / "notebooks" / f"{figure.notebook}.ipynb").is_file(), figure.id
        assert (root / "workflow" / "report" / f"{figure.notebook}.rst").is_file(), figure.id
        assert (
            set(figure.extras) <= set(EXTRAS)
            and figure.paper in (1, 2)
            and figure.experiment in config
        )
        assert figure.runs(config), f"{figure.id} reads no runs at paper scale"


def test_a_locality_figure_can_keep_a_sub_grid_of_lambdas():
    from impreg.experiments.locality import figure_runs, figure_section

    loc = {
        "figures": {"f": {"arch": "resnet34", "seeds": [1], "lambdas": {"pathfinder": [0.0, 1.0]}}},
        "train": {},
        "is_same_class": {"distances": [0, 80], "lambdas": [0.0, 0.1], "source": "digits"},
        "pathfinder": {"path_lengths": [9], "lambdas": [0.0, 1.0, 3.0]},
    }
    runs = figure_runs({"locality": loc}, "f")
    assert list(runs) == [
        f"is_same_class_resnet34_x{d}_lam{lam}_seed1" for d in (0, 80) for lam in ("0", "0.1")
    ] + [f"pathfinder_resnet34_x9_lam{lam}_seed1" for lam in (0, 1)]
    assert runs["pathfinder_resnet34_x9_lam1_seed1"].settings == {
        "task": "pathfinder",
        "arch": "resnet34",
        "x": 9,
        "lam": 1.0,
        "seed": 1,
    }
    assert figure_section(loc, "f")["pathfinder"]["lambdas"] == [0.0, 1.0]
    del loc["figures"]["f"]["lambdas"]
    assert figure_section(loc, "f") == loc  # no sub-grid: the section as it is
    loc["figures"]["f"]["lambdas"] = {"pathfinder": [0.0, 9.0]}
    with pytest.raises(ValueError, match=r"pathfinder: \[9.0\] are not among"):
        figure_section(loc, "f")


def test_the_manifest_says_which_figures_download_what(root):
    import sys

    sys.path.insert(0, str(root / "workflow"))
    from figures import MANIFEST

    paper = load_config(root / "config" / "config.yaml", root / "config" / "schema.yaml")
    downloads = {f: set(MANIFEST[f].downloads(paper)) for f in MANIFEST}
    assert downloads["rank_complexity"] == {"mnist", "fmnist"} and downloads[
        "rank_complexity_cifar10"
    ] == {"cifar10"}
    # Is Same Class on CIFAR-10
    assert downloads["locality"] == downloads["locality_resnet34"] == {"cifar10"}
    offline = {
        "tf_dynamics",
        "tf_dynamics_variants",
        "incremental_rank",
        "htf_detail",
        "rank_complexity_digits",
        "rank_complexity_mnist5k",
    }
    assert all(downloads[f] == set() for f in offline)
    # stand-ins only
    smoke = load_config(root / "config" / "smoke.yaml", root / "config" / "schema.yaml")
    assert all(not MANIFEST[f].downloads(smoke) for f in MANIFEST)
