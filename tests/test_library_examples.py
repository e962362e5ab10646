"""The library page (docs/library.md): its public API resolves and its examples run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import torch

import impreg

PAGE = Path(__file__).resolve().parents[1] / "docs" / "library.md"


def _examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S)


def _run(code: str) -> dict:
    namespace: dict = {"__name__": "__example__"}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        exec(compile(code, str(PAGE), "exec"), namespace)  # noqa: S102 - the page's own example
    finally:
        torch.set_num_threads(threads)
    return namespace


def test_public_api_resolves_and_stays_light():
    for name in impreg.__all__:
        assert getattr(impreg, name) is not None, name
    assert sorted(dir(impreg)) == sorted(impreg.__all__)
    # the command line imports impreg: the API must not pull torch in before it is used
    code = "import sys, impreg; assert 'torch' not in sys.modules; impreg.Box; assert 'torch' in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cnn_with_penalty_example_learns_and_measures_the_penalty():
    ns = _run(_examples()[0])
    assert ns["accuracy"] > 0.85  # learned the task (chance: about 0.5)
    penalty = ns["out"].penalty.item()
    assert 0.0 < penalty < 0.999  # measured, and distant patches interact in this model


def test_cp_example_finds_the_low_rank():
    ns = _run(_examples()[1])
    assert ns["error"] < 0.05  # the unobserved entries too
    norms = ns["model"].component_norms().sort(descending=True).values
    assert norms[1] > 0.1 and norms[2] < 1e-2  # two components carry the rank-2 tensor
