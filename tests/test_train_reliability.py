"""Every iteration loop (tf_dynamics on completion and sensing data, incremental_rank mf/tf/htf)
on tiny cases: an interrupted run resumes to the uninterrupted numbers, SIGTERM checkpoints and
exits 143, a checkpoint is one file, the same seed gives the same metrics and another seed others,
divergence is recorded, and summary.json says whether the run is deterministic and its peak memory.
(rank_complexity's own versions of these are in test_train_rank_complexity.py.)"""

from __future__ import annotations

import json
import math
import signal

import pandas as pd
import pytest
import torch

from impreg.data.synthetic import make_cp_completion, make_cp_sensing, make_ht_completion
from impreg.train import incremental_rank, tf_dynamics
from impreg.train.reliability import CHECKPOINT, TERMINATED_EXIT_CODE

LOOPS = ["tf_completion", "tf_sensing", "mf", "tf", "htf"]
# what may differ between two runs of the same settings: timings, memory, and where a run resumed
UNSTABLE = {"wall_seconds", "wall_seconds_this_call", "iterations_per_second", "peak_memory",
            "resumed_from", "versions"}


@pytest.fixture(scope="module")
def datasets():
    return {
        "tf_completion": make_cp_completion(order=3, mode_dim=4, rank=2, fro_norm=1.0, num_observations=40, seed=0),
        "tf_sensing": make_cp_sensing(order=3, mode_dim=4, rank=2, fro_norm=1.0, num_measurements=40, seed=0),
        "mf": make_cp_completion(order=2, mode_dim=8, rank=2, fro_norm=8.0, num_observations=40, seed=0),
        "tf": make_cp_completion(order=3, mode_dim=4, rank=2, fro_norm=8.0, num_observations=40, seed=0),
        "htf": make_ht_completion(order=4, mode_dim=3, ranks=[2, 2], pattern="adjacent", fro_norm=9.0,
                                  num_observations=60, seed=0),
    }


def _run(loop, data, out_dir, **kw):
    """Run ``loop`` with tiny settings (``kw`` overrides them); the loop's own keyword arguments pass through."""
    call = {k: kw.pop(k) for k in ("on_iteration", "resume") if k in kw}
    quiet = dict(log=lambda *_: None)
    if loop.startswith("tf_"):
        base = dict(num_components=16, init_std=0.05, max_iterations=60, log_every=5, top_k=5, device="cpu",
                    checkpoint_every=7)
        return tf_dynamics.run(tf_dynamics.TFDynamicsConfig(**(base | kw)), data, out_dir, **call, **quiet)
    base = dict(model=loop, init_std=0.1, htf_width=4, max_iterations=60, log_every=5, top_k=3, device="cpu",
                stop_validations=3, checkpoint_every=7)
    return incremental_rank.run(incremental_rank.IncrementalRankConfig(**(base | kw)), data, out_dir, **call, **quiet)


def _stable(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in UNSTABLE}


class _Killed(Exception):
    """Stands for a SIGKILL: the loop is left at once, with no chance to write anything."""


def _kill_at(iteration):
    def hook(i):
        if i == iteration:
            raise _Killed
    return hook


def _sigterm_at(iteration):
    def hook(i):
        if i == iteration:
            # only while the loop's handler is installed: SIGTERM would otherwise end the test session
            assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN, None)
            signal.raise_signal(signal.SIGTERM)
    return hook


@pytest.mark.parametrize("loop", LOOPS)
def test_same_seed_same_numbers_other_seed_other_numbers(tmp_path, datasets, loop):
    a = _run(loop, datasets[loop], tmp_path / "a", seed=3)
    b = _run(loop, datasets[loop], tmp_path / "b", seed=3)
    _run(loop, datasets[loop], tmp_path / "c", seed=4)
    metrics = {x: (tmp_path / x / "metrics.csv").read_text() for x in "abc"}
    assert metrics["a"] == metrics["b"] and metrics["a"] != metrics["c"]
    on_disk = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert _stable(on_disk) == _stable(json.loads((tmp_path / "b" / "summary.json").read_text()))
    # the run records: deterministic on the CPU, the peak memory, and where it (did not) resume
    assert a["deterministic"] is True and "CPU" in a["deterministic_reason"] and on_disk["deterministic"] is True
    assert on_disk["peak_memory"]["host_rss_mb"] > 0 and "cuda_allocated_mb" not in on_disk["peak_memory"]
    assert a["resumed_from"] is None and b["iterations"] == a["iterations"] == 60


@pytest.mark.parametrize("loop", LOOPS)
def test_a_killed_run_resumes_from_its_last_checkpoint_to_the_same_numbers(tmp_path, datasets, loop):
    whole = _run(loop, datasets[loop], tmp_path / "whole")
    cut = tmp_path / "cut"
    with pytest.raises(_Killed):
        _run(loop, datasets[loop], cut, on_iteration=_kill_at(30))
    assert sorted(p.name for p in cut.iterdir()) == [CHECKPOINT]  # nothing else was written
    assert torch.load(cut / CHECKPOINT, weights_only=False)["iteration"] == 28  # the last multiple of 7
    resumed = _run(loop, datasets[loop], cut)
    assert resumed["resumed_from"] == 28
    assert (cut / "metrics.csv").read_text() == (tmp_path / "whole" / "metrics.csv").read_text()
    assert _stable(resumed) == _stable(whole)
    # one checkpoint file, overwritten in place: 8 checkpoints were written in all
    assert sorted(p.name for p in cut.iterdir()) == [CHECKPOINT, "metrics.csv", "summary.json"]


@pytest.mark.parametrize("loop", ["tf_sensing", "htf"])
def test_sigterm_writes_a_checkpoint_and_exits_143_and_the_rerun_ends_as_uninterrupted(tmp_path, datasets, loop):
    before = signal.getsignal(signal.SIGTERM)
    whole = _run(loop, datasets[loop], tmp_path / "whole")
    with pytest.raises(SystemExit) as info:
        _run(loop, datasets[loop], tmp_path / "cut", on_iteration=_sigterm_at(23))
    assert info.value.code == TERMINATED_EXIT_CODE == 143 and "SIGTERM" in str(info.value)
    assert signal.getsignal(signal.SIGTERM) is before  # the loop's handler is gone again
    assert torch.load(tmp_path / "cut" / CHECKPOINT, weights_only=False)["iteration"] == 23  # at once, not at 28
    assert not (tmp_path / "cut" / "summary.json").exists()
    resumed = _run(loop, datasets[loop], tmp_path / "cut")
    assert resumed["resumed_from"] == 23 and _stable(resumed) == _stable(whole)
    assert (tmp_path / "cut" / "metrics.csv").read_text() == (tmp_path / "whole" / "metrics.csv").read_text()


def test_stale_temporaries_are_removed_and_foreign_or_corrupt_checkpoints_ignored(tmp_path, datasets):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / f".{CHECKPOINT}.x1y2.tmp").write_bytes(b"half a checkpoint")  # a kill during a write
    fresh = _run("tf", datasets["tf"], run_dir)
    assert sorted(p.name for p in run_dir.iterdir()) == [CHECKPOINT, "metrics.csv", "summary.json"]
    # a checkpoint of other settings is not resumed, nor one that is unreadable
    messages = []
    other = incremental_rank.run(incremental_rank.IncrementalRankConfig(
        model="tf", init_std=0.1, max_iterations=60, log_every=5, top_k=3, device="cpu", stop_validations=3,
        checkpoint_every=7, lr=5e-3), datasets["tf"], run_dir, log=messages.append)
    assert other["resumed_from"] is None and any("other settings" in m for m in messages)
    (run_dir / CHECKPOINT).write_bytes(b"not a checkpoint")
    again = _run("tf", datasets["tf"], run_dir)
    assert again["resumed_from"] is None and _stable(again) == _stable(fresh)
    # checkpoint_every = 0 writes none
    _run("tf", datasets["tf"], tmp_path / "none", checkpoint_every=0)
    assert not (tmp_path / "none" / CHECKPOINT).exists()


@pytest.mark.parametrize("loop", LOOPS)
def test_divergence_stops_the_run_and_is_recorded(tmp_path, datasets, loop):
    # a huge step blows the parameters up to inf: the loss (and for mf/htf the spectra) become non-finite
    summary = _run(loop, datasets[loop], tmp_path, lr=1e30, init_std=3.0)
    assert summary["status"] == "diverged" and summary["diverged_at_iteration"] == summary["iterations"]
    assert not math.isfinite(summary["final_train_loss"])
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    assert metrics["iteration"].iloc[-1] == summary["iterations"] and not math.isfinite(metrics["train_loss"].iloc[-1])
    assert json.loads((tmp_path / "summary.json").read_text())["status"] == "diverged"


def test_a_real_sigterm_then_sigkill_and_a_rerun_give_the_uninterrupted_numbers(tmp_path, datasets):
    """The command line under real signals: SIGTERM (status 143, a checkpoint at once), a rerun
    killed with SIGKILL after its next checkpoint, and a last rerun that ends as an uninterrupted run
    (the last rerun and the reference run in-process: the same code without another interpreter start)."""
    from helpers import signal_when, start_cli

    datasets["mf"].save(tmp_path / "d.npz")
    settings = dict(model="mf", init_std=0.1, max_iterations=1500, log_every=50, top_k=3, stop_loss=0.0,
                    checkpoint_every=50, device="cpu")
    args = [x for k, v in settings.items() for x in (f"--{k.replace('_', '-')}", str(v))]
    command = ["train", "incremental-rank", "--data", str(tmp_path / "d.npz"), "--out-dir", str(tmp_path / "killed"),
               *args]
    ckpt = tmp_path / "killed" / CHECKPOINT

    def iteration():
        return torch.load(ckpt, weights_only=False)["iteration"] if ckpt.exists() else None

    status, out = signal_when(start_cli(command), ckpt.exists, signal.SIGTERM)
    assert status == 143 and "SIGTERM: stopped after iteration" in out, out[-2000:]
    after_term = iteration()
    assert after_term and not (tmp_path / "killed" / "summary.json").exists()
    status, out = signal_when(start_cli(command), lambda: (iteration() or 0) > after_term, signal.SIGKILL)
    assert status == -signal.SIGKILL and f"resuming from {ckpt} after iteration {after_term}" in out, out[-2000:]
    after_kill = iteration()
    assert not (tmp_path / "killed" / "summary.json").exists()
    cfg = incremental_rank.IncrementalRankConfig(**settings)
    killed = incremental_rank.run(cfg, datasets["mf"], tmp_path / "killed", log=lambda *_: None)
    whole = incremental_rank.run(cfg, datasets["mf"], tmp_path / "whole", log=lambda *_: None)
    assert killed["resumed_from"] == after_kill > after_term and _stable(killed) == _stable(whole)
    assert (tmp_path / "killed" / "metrics.csv").read_text() == (tmp_path / "whole" / "metrics.csv").read_text()


def test_checkpointed_rows_come_back_exactly():
    from impreg.train.reliability import pack_rows, unpack_rows

    rows = [{"iteration": 25 * i, "loss": 0.1 * i + 1e-17, "rank_0-1": i % 3, "x": float("nan") if i == 2 else 1 / 3}
            for i in range(4)]
    rows[-1]["loss"] = float("inf")
    back = unpack_rows(pack_rows(rows))
    assert [list(r) for r in back] == [list(r) for r in rows]
    assert [type(v) for r in back for v in r.values()] == [type(v) for r in rows for v in r.values()]
    assert repr(back) == repr(rows)  # every value, NaN and inf included, as it was
    ragged = [{"a": 1}, {"a": 2, "b": 3.0}]
    assert unpack_rows(pack_rows(ragged)) == ragged and unpack_rows(pack_rows([])) == []


@pytest.mark.gpu
@pytest.mark.parametrize("loop", ["tf_completion", "htf"])
def test_cuda_runs_record_their_determinism_and_gpu_memory(tmp_path, datasets, loop):
    """On a GPU the summary says whether reruns give the same bits, and why not (never run here: no GPU)."""
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    summary = _run(loop, datasets[loop], tmp_path, device="cuda")
    assert isinstance(summary["deterministic"], bool) and summary["deterministic_reason"]
    if not summary["deterministic"]:
        assert "CUBLAS_WORKSPACE_CONFIG" in summary["deterministic_reason"] or "atomic" in summary["deterministic_reason"]
    assert summary["peak_memory"]["cuda_allocated_mb"] >= 0
