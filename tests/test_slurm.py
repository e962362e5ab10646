"""The workflow on a SLURM cluster (profiles/slurm), tested on a throw-away one-node cluster.

tests/slurm/start_cluster.sh installs SLURM and munge with apt-get when they are missing and starts
munged, slurmctld and slurmd on this machine (root only); the module's fixture stops exactly the
daemons that script started, by process id, when the module ends, whatever happened. Where SLURM
cannot be set up (not root, no apt-get, the install fails, another SLURM runs here) or the executor
plugin is not installed, the tests that need it are skipped with the reason.

The tests run the smoke DAG through the SLURM executor and compare it with a local run, submit a
training job that asks for a GPU to a node with a (fake) GPU and to one without, and check what a
user without the plugin sees. The cluster tests are marked slow (`make test-slow`): minutes on 2
cores, most of it SLURM jobs starting a nested Snakemake and torch (the whole smoke DAG is about
45 SLURM jobs).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from helpers import ROOT, copy_workflow, venv_env

pytestmark = pytest.mark.slurm

SCRIPTS = ROOT / "tests" / "slurm"
BIN = Path(sys.executable).parent
SMOKE = ["--configfile", "config/smoke.yaml"]
# Settings of this test on top of the profile: the first status check 8 s after a submission
# (a smoke job takes 10-25 s here; the profile's 20 s suits real queues), and the SLURM logs of
# successful jobs kept, to look at.
TEST_ARGS = ["--slurm-init-seconds-before-status-checks", "8", "--slurm-keep-successful-logs"]
# Where each rule of the smoke DAG runs: training rules (named *_train) and the Pathfinder image
# generation (minutes of CPU at paper scale) as SLURM jobs, every other rule locally
# (`localrules:` in the rule files; target rules have no command).
CLUSTER_RULE = re.compile(r"_train$|^locality_pathfinder_data$")
TRAIN_RUN = "results/smoke/runs/tf_dynamics/order3_dim4_R16_init0.05_seed0"
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (\S+)\)\.")


def plugin_installed() -> bool:
    return importlib.util.find_spec("snakemake_executor_plugin_slurm") is not None


def output(proc: subprocess.CompletedProcess) -> str:
    return (proc.stdout or "") + (proc.stderr or "")


class Cluster:
    """The one-node cluster of tests/slurm/start_cluster.sh, with its state in `state`."""

    def __init__(self, state: Path):
        self.state = state
        self.gpu: bool | None = None

    def start(self, gpu: bool) -> subprocess.CompletedProcess:
        """(Re)start with or without a fake GPU; restarts slurmctld and slurmd when it changes."""
        cmd = ["bash", str(SCRIPTS / "start_cluster.sh"), str(self.state)] + (
            ["--gpu"] if gpu else []
        )
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if proc.returncode == 0:
            self.gpu = gpu
        return proc

    def configure(self, gpu: bool) -> None:
        if self.gpu != gpu:
            proc = self.start(gpu)
            assert proc.returncode == 0, output(proc)

    def stop(self) -> subprocess.CompletedProcess:
        cmd = ["bash", str(SCRIPTS / "stop_cluster.sh"), str(self.state)]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    def env(self) -> dict[str, str]:
        env = venv_env()
        env["SLURM_CONF"] = str(self.state / "slurm.conf")
        return env

    def snakemake(self, wd: Path, *args: str, timeout: int) -> subprocess.CompletedProcess:
        """Snakemake with profiles/slurm, killed (SIGKILL) after `timeout` seconds."""
        cmd = [
            "timeout",
            "-s",
            "KILL",
            str(timeout),
            str(BIN / "snakemake"),
            "--workflow-profile",
            "profiles/slurm",
            *args,
        ]
        return subprocess.run(
            cmd, cwd=wd, env=self.env(), capture_output=True, text=True, timeout=timeout + 30
        )

    def jobs(self, run_id: str) -> dict[str, dict[str, str]]:
        """Finished jobs of one Snakemake run (job name = run id), from the jobcomp log."""
        path = self.state / "jobcomp.log"
        lines = path.read_text().splitlines() if path.exists() else []
        jobs = [dict(re.findall(r"(\w+)=(\S*)", line)) for line in lines]
        return {job["JobId"]: job for job in jobs if job.get("Name") == run_id}

    def show_job(self, jobid: str) -> str:
        proc = subprocess.run(
            ["scontrol", "show", "job", jobid],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=30,
        )
        return proc.stdout


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if not plugin_installed():
        pytest.skip(
            "snakemake-executor-plugin-slurm is not installed "
            "(pip install -r envs/requirements-slurm.txt)"
        )
    if os.geteuid() != 0:
        pytest.skip("a local SLURM cluster needs root (apt-get, munged, slurmd)")
    if shutil.which("timeout") is None:
        pytest.skip("coreutils `timeout` is missing")
    cl = Cluster(tmp_path_factory.mktemp("slurm"))
    try:
        start = time.monotonic()
        proc = cl.start(gpu=True)
        if proc.returncode in (2, 3):
            pytest.skip(f"no local SLURM cluster: {proc.stderr.strip()}")
        assert proc.returncode == 0, f"the cluster did not start:\n{output(proc)}"
        print(f"\nSLURM cluster up in {time.monotonic() - start:.1f} s")
        yield cl
    finally:
        stopped = cl.stop()
        print(stopped.stdout, stopped.stderr)


def run_id(out: str) -> str:
    match = re.search(r"SLURM run ID: (\S+)", out)
    assert match, out[-3000:]
    return match.group(1)


def timeless_metrics(run: Path) -> str:
    """A run's metrics.csv without its timing columns (the locality runs log seconds per epoch)."""
    metrics = pd.read_csv(run / "metrics.csv")
    return metrics.drop(
        columns=[c for c in metrics if re.search(r"seconds|per_second", c)]
    ).to_csv()


def comparable(summary: dict) -> dict:
    """A run summary without its timings."""
    return {
        k: v for k, v in summary.items() if not re.search(r"seconds|per_second|time|peak_memory", k)
    }


# The tests that start the cluster run in `make test-slow` (about 2 minutes on 2 cores with the
# cluster already installed, more when apt-get installs it): a fresh `make test` stays within its
# 10 minutes. One sends the tf_dynamics figure of the smoke DAG (its 4 training jobs, data and
# notebook) through SLURM, the other the whole smoke DAG of every experiment.
DAG_TARGETS = [
    pytest.param(["tf_dynamics"], id="tf_dynamics"),
    pytest.param([], id="whole-smoke-dag"),
]


def train_rules(wd: Path) -> list[str]:
    """The training rules of the smoke workflow, as Snakemake lists its rules (a factory makes them)."""
    proc = subprocess.run(
        [str(BIN / "snakemake"), *SMOKE, "--list-rules"],
        cwd=wd,
        env=venv_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, output(proc)[-3000:]
    return sorted(name for name in proc.stdout.split() if name.endswith("_train"))


@pytest.mark.slow  # a notebook or workflow run of its own: kept out of the 10-minute fast suite
def test_snakemake_lists_every_training_rule(tmp_path):
    rules = train_rules(copy_workflow(tmp_path))
    assert rules == [
        "incremental_rank_train",
        "locality_train",
        "rank_complexity_train",
        "tf_dynamics_train",
        "tf_dynamics_variants_train",
    ]


@pytest.mark.slow
@pytest.mark.parametrize("targets", DAG_TARGETS)
def test_smoke_dag_runs_through_slurm_with_the_local_results(cluster, tmp_path_factory, targets):
    wd = copy_workflow(tmp_path_factory.mktemp("slurm_smoke"))
    # the local reference (training runs only), at the same time as the SLURM run
    local_wd = copy_workflow(tmp_path_factory.mktemp("local_smoke"))
    local = subprocess.Popen(
        [
            str(BIN / "snakemake"),
            *targets,
            *SMOKE,
            "--until",
            *train_rules(local_wd),
            "--cores",
            "2",
        ],
        cwd=local_wd,
        env=venv_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        start = time.monotonic()
        # the limits stop a hung run (the sacct wait of profiles/slurm); the whole DAG and its local
        # reference share the cores, which other work may load too
        proc = cluster.snakemake(wd, *targets, *SMOKE, *TEST_ARGS, timeout=1200)
        seconds = time.monotonic() - start
        local_out, _ = local.communicate(timeout=900)
    finally:
        local.kill()
    out = output(proc)
    print(f"\nsmoke DAG through SLURM: {seconds:.0f} s")
    assert proc.returncode == 0, out[-5000:]
    assert local.returncode == 0, local_out[-3000:]

    # every training job went through sbatch, and every other job ran here
    where = "submitted rules and local rules (the Snakefile's `localrules:`)"
    submitted_rules = set(re.findall(r"^rule (\w+):", out, re.M))
    local_rules = set(re.findall(r"^localrule (\w+):", out, re.M))
    assert "tf_dynamics_train" in submitted_rules and "tf_dynamics" in local_rules, where
    assert all(CLUSTER_RULE.search(r) for r in submitted_rules), where
    assert not any(CLUSTER_RULE.search(r) for r in local_rules), where
    submitted = [
        job for job in SUBMITTED.findall(out) if re.search(r"/slurm_logs/rule_\w+_train/", job[2])
    ]
    runs = sorted(
        p for p in (wd / "results" / "smoke" / "runs").glob("*/*") if (p / "summary.json").exists()
    )
    assert len(runs) >= 4 and len(submitted) == len(runs), out[-5000:]
    finished = cluster.jobs(run_id(out))
    main_log = "".join(p.read_text() for p in (wd / ".snakemake" / "log").glob("*.snakemake.log"))
    for _, slurm_id, log in submitted:
        assert f"SLURM jobid {slurm_id} " in main_log
        assert re.search(r"/slurm_logs/rule_\w+_train/", log)
        assert re.search(r"rule \w+_train:", Path(log).read_text())  # the job's own Snakemake
        job = finished[slurm_id]
        assert job["JobState"] == "COMPLETED" and job["WorkDir"] == str(wd), job

    # the same numbers as the local run: metrics.csv but its timing columns, summary.json but its timings
    for run in runs:
        ref = local_wd / run.relative_to(wd)
        assert timeless_metrics(run) == timeless_metrics(ref), run.name
        summary = json.loads((run / "summary.json").read_text())
        assert comparable(summary) == comparable(json.loads((ref / "summary.json").read_text()))
    assert (wd / "results" / "smoke" / "figures" / "tf_dynamics.pdf").read_bytes()[:4] == b"%PDF"
    if not targets:
        assert {"report", "all"} <= local_rules, where
        assert "## tf_dynamics" in (wd / "results" / "smoke" / "REPLICATION.md").read_text()


def gpu_args() -> list[str]:
    """--set-resources asking for one GPU for the training rule. On the command line it replaces
    the profile's whole set-resources, so the profile's settings of the rule are repeated."""
    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "profile.yaml").read_text())
    rule = dict(profile["set-resources"]["tf_dynamics_train"], gpu=1)
    return ["--set-resources", *(f"tf_dynamics_train:{k}={v}" for k, v in rule.items())]


@pytest.mark.slow
def test_gpu_training_job_is_scheduled_on_a_node_with_a_gpu(cluster, tmp_path):
    # The real training rule, asking for a GPU the way `device: cuda` makes it, but training on
    # the CPU (the GPU is fake): the sbatch line is the one a CUDA config gets.
    cluster.configure(gpu=True)
    wd = copy_workflow(tmp_path)
    proc = cluster.snakemake(
        wd, f"{TRAIN_RUN}/summary.json", *SMOKE, *TEST_ARGS, *gpu_args(), timeout=360
    )
    out = output(proc)
    assert proc.returncode == 0, out[-5000:]
    submitted = SUBMITTED.findall(out)
    assert len(submitted) == 1 and "rule_tf_dynamics_train" in submitted[0][2], out[-3000:]
    slurm_id = submitted[0][1]
    assert cluster.jobs(run_id(out))[slurm_id]["JobState"] == "COMPLETED"
    job = cluster.show_job(slurm_id)  # finished jobs stay visible for MinJobAge = 300 s
    assert "TresPerJob=gres:gpu:1" in job, job
    assert "CpusPerTres=gres:gpu:1" in job, job  # the profile's cpus_per_gpu
    assert json.loads((wd / TRAIN_RUN / "summary.json").read_text())["status"] != "diverged"


@pytest.mark.slow
def test_gpu_job_on_a_node_without_gpu_fails_at_once_with_a_clear_message(cluster, tmp_path):
    cluster.configure(gpu=False)
    wd = copy_workflow(tmp_path)
    start = time.monotonic()
    proc = cluster.snakemake(
        wd, f"{TRAIN_RUN}/summary.json", *SMOKE, *TEST_ARGS, *gpu_args(), timeout=120
    )
    seconds = time.monotonic() - start
    out = output(proc)
    # not killed
    assert proc.returncode == 1, f"rc={proc.returncode} after {seconds:.0f} s\n{out[-3000:]}"
    assert "SLURM sbatch failed" in out and "Invalid generic resource (gres) specification" in out
    assert "--gpus=1" in out  # the sbatch call is in the message
    assert not (wd / TRAIN_RUN / "summary.json").exists()


def test_missing_plugin_gives_a_clear_message(tmp_path):
    # The plugin hidden from Snakemake's plugin discovery, as in an environment without it.
    wd = copy_workflow(tmp_path)
    code = (
        "import pkgutil, sys\n"
        "found = pkgutil.iter_modules\n"
        "pkgutil.iter_modules = lambda *a, **k: (m for m in found(*a, **k)\n"
        "    if not m.name.startswith('snakemake_executor_plugin_slurm'))\n"
        "from snakemake.cli import main\n"
        "sys.argv = ['snakemake', *sys.argv[1:]]\n"
        "main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "-n", "--workflow-profile", "profiles/slurm", *SMOKE],
        cwd=wd,
        env=venv_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "argument --executor/-e: invalid choice: 'slurm'" in proc.stderr, proc.stderr[-2000:]
