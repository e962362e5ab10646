"""impreg: replication of Razin, Maman and Cohen on implicit regularization towards low tensor rank.

The package is also a library for follow-up research (docs/library.md). Its public API, importable
from ``impreg`` itself:

- factorizations: ``CPFactorization``, ``HierarchicalTensorFactorization``, ``DeepMatrixFactorization``
  (P1's and P2's models, with ``component_norms`` / ``local_component_norms``);
- ``NormalizedGradRMSprop``: the normalized-gradient step both papers train them with;
- the separation penalty of P2: ``separation_penalty``, ``sample_patch_pair``, ``Box``;
- ``build_resnet``: the ResNets of P2's CNN experiments, at any width and input channels;
- run I/O: ``read_summary``, ``read_metrics``, ``read_runs`` (the files every training writes);
- claims: ``Claim`` (one checked statement: the paper's value, ours, the rule, the verdict),
  ``write_claims``, ``read_claims``.

Names are imported on first use, so ``import impreg`` (and the command line) stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> the module that defines it
_API = {
    "CPFactorization": "impreg.factorizations.cp",
    "HierarchicalTensorFactorization": "impreg.factorizations.hierarchical",
    "DeepMatrixFactorization": "impreg.factorizations.matrix",
    "NormalizedGradRMSprop": "impreg.optim",
    "separation_penalty": "impreg.regularizers",
    "sample_patch_pair": "impreg.regularizers",
    "Box": "impreg.regularizers",
    "build_resnet": "impreg.models.resnet",
    "read_summary": "impreg.runs_io",
    "read_metrics": "impreg.runs_io",
    "read_runs": "impreg.runs_io",
    "Claim": "impreg.claims",
    "write_claims": "impreg.claims",
    "read_claims": "impreg.claims",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'impreg' has no attribute {name!r}")
    value = getattr(importlib.import_module(_API[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
