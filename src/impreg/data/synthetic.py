"""Synthetic low-rank targets and their observations (tensor completion)."""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from impreg.io import DataFileError, atomic_path

if TYPE_CHECKING:
    from impreg.factorizations.hierarchical import ModeTree

T = TypeVar("T")


LETTERS = "abcdefghijklmnopqrstuvwxyz"


def outer_sum(factors: Sequence[np.ndarray]) -> np.ndarray:
    """The sum over r of the outer products of the columns r of ``factors`` (one (d_n, R) matrix per mode)."""
    letters = LETTERS[: len(factors)]
    return np.einsum(",".join(f"{c}r" for c in letters) + "->" + letters, *factors)


def _random_cp_factors(
    dims: tuple[int, ...], rank: int, fro_norm: float, rng: np.random.Generator
) -> tuple[np.ndarray, list[np.ndarray], float]:
    """The tensor of :func:`random_cp_tensor`, its N(0, 1) factors and the scale they were multiplied by."""
    factors = [rng.standard_normal((d, rank)) for d in dims]
    tensor = outer_sum(factors)
    scale = fro_norm / np.linalg.norm(tensor)
    return tensor * scale, factors, scale


def random_cp_tensor(
    dims: tuple[int, ...], rank: int, fro_norm: float, rng: np.random.Generator
) -> np.ndarray:
    """Sum of ``rank`` outer products of N(0, 1) vectors, rescaled to Frobenius norm ``fro_norm``."""
    return _random_cp_factors(dims, rank, fro_norm, rng)[0]


@dataclass
class CPComponents:
    """Rank-one terms of a CP tensor, largest first: term r is ``norms[r]`` times the outer product of
    the unit vectors ``factors[n][:, r]`` (one (d_n, R) matrix per mode)."""

    norms: np.ndarray
    factors: list[np.ndarray]

    def tensor(self, terms: Sequence[int]) -> np.ndarray:
        """The sum of the terms ``terms``."""
        terms = list(terms)
        return outer_sum(
            [
                f[:, terms] * (self.norms[terms] if n == 0 else 1.0)
                for n, f in enumerate(self.factors)
            ]
        )


def unit_components(scales: Sequence[float], factors: Sequence[np.ndarray]) -> CPComponents:
    """The terms scale_r * (outer product of the columns r of ``factors``) with unit factor columns
    (each column's norm moved into the term's norm), sorted by norm, largest first."""
    factors = [np.asarray(f, dtype=np.float64) for f in factors]
    lengths = [np.linalg.norm(f, axis=0) for f in factors]
    norms = np.asarray(scales, dtype=np.float64) * np.prod(lengths, axis=0)
    order = np.argsort(-norms, kind="stable")
    return CPComponents(norms[order], [(f / n)[:, order] for f, n in zip(factors, lengths)])


def cp_target_components(meta: dict[str, Any]) -> tuple[np.ndarray, CPComponents]:
    """The CP target of a completion or sensing data file and its rank-one terms, drawn again from the
    file's metadata (the data rules draw the target's factors first from ``default_rng(seed)``)."""
    if meta.get("kind") not in ("cp_completion", "cp_sensing"):
        raise ValueError(f"not the metadata of a CP target: {meta}")
    dims, rank = (int(meta["mode_dim"]),) * int(meta["order"]), int(meta["rank"])
    tensor, factors, scale = _random_cp_factors(
        dims, rank, float(meta["fro_norm"]), np.random.default_rng(int(meta["seed"]))
    )
    return tensor, unit_components([scale] * rank, factors)


def _save_npz(path: str | Path, meta: dict[str, Any], **arrays: np.ndarray) -> None:
    """Arrays and a JSON metadata record in one npz, written atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, meta=np.array(json.dumps(meta)), **arrays)


# every .npz (a zip archive) starts with a local file header
NPZ_MAGIC = b"PK\x03\x04"
# what numpy and zipfile raise on a truncated or corrupted archive (a bad CRC-32 is a BadZipFile)
_CORRUPT = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error)


def read_npz(path: str | Path, kind: str, read: Callable[[Any], T]) -> T:
    """Open an .npz written by this package and return ``read(archive)``.

    Every way the file can be wrong ends in a DataFileError naming it and saying what to do:
    missing, not an .npz at all (wrong format, or empty), truncated or corrupted (numpy and
    zipfile check the archive's structure and each member's CRC-32), or lacking an array of
    this kind (``read`` raises KeyError: a file of another kind). The files have no published
    checksum; they are rebuilt by the workflow's data rules.
    """
    path = Path(path)
    rebuild = "delete it and rerun the workflow to rebuild it"
    if not path.exists():
        raise DataFileError(
            f"data file {path} does not exist; rebuild it with the workflow's data rule "
            f"(e.g. `snakemake {path}`)"
        )
    with open(path, "rb") as fh:
        head = fh.read(len(NPZ_MAGIC))
    if head != NPZ_MAGIC:
        raise DataFileError(
            f"data file {path} is not an .npz archive ({path.stat().st_size} bytes starting with "
            f"{head!r}: a wrong-format or empty file); {rebuild}"
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            return read(archive)
    except KeyError as err:
        raise DataFileError(
            f"data file {path} is not a {kind} data file (no array {err}); {rebuild}"
        ) from err
    except _CORRUPT as err:
        raise DataFileError(
            f"data file {path} is truncated or corrupted ({type(err).__name__}: {err}); {rebuild}"
        ) from err


def _load_npz(path: str | Path, kind: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """The arrays ``keys`` and ``meta`` of a file written by ``_save_npz``; clear errors naming the file."""
    return read_npz(
        path, kind, lambda z: {k: z[k] for k in keys} | {"meta": json.loads(str(z["meta"]))}
    )


def _require_rows(
    path: str | Path, name: str, array: np.ndarray, expected: tuple[int, ...], target: np.ndarray
) -> None:
    """A data file's array ``name`` holds one row per observed value, shaped as its target asks."""
    if array.shape != expected:
        raise DataFileError(
            f"data file {path} is inconsistent: {name} {array.shape} for {expected[0]} values "
            f"of a target of shape {target.shape}"
        )


@dataclass
class CompletionData:
    """A target tensor and the entries observed for training (drawn without replacement)."""

    target: np.ndarray
    indices: np.ndarray  # (n, order) int64 entry indices
    values: np.ndarray  # (n,) the target's entries there
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def flat_indices(self) -> np.ndarray:
        return np.ravel_multi_index(tuple(self.indices.T), self.target.shape)

    def save(self, path: str | Path) -> None:
        _save_npz(path, self.meta, target=self.target, indices=self.indices, values=self.values)

    @classmethod
    def load(cls, path: str | Path) -> CompletionData:
        data = cls(**_load_npz(path, "completion", ("target", "indices", "values")))
        _require_rows(
            path, "indices", data.indices, (len(data.values), data.target.ndim), data.target
        )
        return data


def make_cp_completion(
    order: int, mode_dim: int, rank: int, fro_norm: float, num_observations: int, seed: int
) -> CompletionData:
    """A random CP-rank-``rank`` target and ``num_observations`` of its entries, uniformly without replacement."""
    dims = (mode_dim,) * order
    numel = mode_dim**order
    if not 0 < num_observations <= numel:
        raise ValueError(
            f"num_observations={num_observations} must be in 1..{numel} (the tensor's size)"
        )
    rng = np.random.default_rng(seed)
    target = random_cp_tensor(dims, rank, fro_norm, rng)
    flat = rng.permutation(numel)[:num_observations]
    indices = np.stack(np.unravel_index(flat, dims), axis=1).astype(np.int64)
    meta = dict(
        kind="cp_completion",
        order=order,
        mode_dim=mode_dim,
        rank=rank,
        fro_norm=fro_norm,
        num_observations=num_observations,
        seed=seed,
    )
    return CompletionData(
        target=target, indices=indices, values=target.reshape(-1)[flat], meta=meta
    )


def random_ht_tensor(
    order: int,
    mode_dim: int,
    ranks: int | Sequence[int],
    tree: ModeTree | None,
    fro_norm: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """A tensor of hierarchical rank <= ``ranks`` (per layer) along ``tree``, from N(0, 1) parameters.

    The parameters of an HTF with layer widths ``ranks`` are drawn from ``rng`` (in the model's
    parameter order) and the tensor is rescaled to Frobenius norm ``fro_norm``. ``tree`` None
    means adjacent pooling of pairs. Generically every in-tree matricization then has the rank
    its widths allow: ranks (r0, r1) on ((0, 1), (2, 3)) give min(r0, d) for each leaf and
    min(r0, r1) for (0, 1) and (2, 3); a non-tree matricization such as (0, 2) gets up to r0^2.
    Products of Gaussian matrices make the spectrum steep: with ranks (5, 5), d = 16 the (0, 1)
    singular values are typically like 62, 15, 7, 5, 0.2 (exact rank 5, one tiny value).
    """
    import torch

    from impreg.factorizations.hierarchical import HierarchicalTensorFactorization

    dims = (int(mode_dim),) * int(order)
    # the throwaway generator keeps the global torch RNG untouched; every parameter is overwritten
    model = HierarchicalTensorFactorization(
        dims,
        ranks,
        init_std=0.0,
        tree=tree,
        generator=torch.Generator().manual_seed(0),
        dtype=torch.float64,
    )
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape))))
        tensor = model.full_tensor().numpy()
    return tensor * (fro_norm / np.linalg.norm(tensor))


def make_ht_completion(
    order: int,
    mode_dim: int,
    ranks: int | list[int],
    pattern: str,
    fro_norm: float,
    num_observations: int,
    seed: int,
) -> CompletionData:
    """A random target of low hierarchical rank and ``num_observations`` of its entries (without replacement).

    The target is :func:`random_ht_tensor` over the mode tree
    that pools pairs of modes with ``pattern`` (``adjacent``: ((0, 1), (2, 3)) for order 4), with
    layer widths ``ranks``, rescaled to Frobenius norm ``fro_norm``.
    """
    from impreg.factorizations.hierarchical import mode_tree

    dims = (mode_dim,) * order
    numel = mode_dim**order
    if not 0 < num_observations <= numel:
        raise ValueError(
            f"num_observations={num_observations} must be in 1..{numel} (the tensor's size)"
        )
    rng = np.random.default_rng(seed)
    tree = mode_tree(order, 2, pattern)
    ranks_list = [int(ranks)] if isinstance(ranks, (int, np.integer)) else [int(r) for r in ranks]
    target = random_ht_tensor(
        order, mode_dim, ranks_list if len(ranks_list) > 1 else ranks_list[0], tree, fro_norm, rng
    )
    flat = rng.permutation(numel)[:num_observations]
    indices = np.stack(np.unravel_index(flat, dims), axis=1).astype(np.int64)
    meta = dict(
        kind="ht_completion",
        order=order,
        mode_dim=mode_dim,
        ranks=ranks_list,
        pattern=pattern,
        tree=repr(tree),
        fro_norm=fro_norm,
        num_observations=num_observations,
        seed=seed,
    )
    return CompletionData(
        target=target, indices=indices, values=target.reshape(-1)[flat], meta=meta
    )


@dataclass
class SensingData:
    """A target tensor and linear measurements of it: ``values[i] = <measurements[i], target>``.

    Tensor sensing replaces the one-hot observation of an entry by a dense measurement tensor.
    ``measurements`` is (n, *target.shape), stored in float32 (a paper-scale file holds 2000 x 10^4
    of them); ``values`` are computed in float64 from exactly the stored float32 measurements.
    """

    target: np.ndarray
    measurements: np.ndarray
    values: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def save(self, path: str | Path) -> None:
        _save_npz(
            path, self.meta, target=self.target, measurements=self.measurements, values=self.values
        )

    @classmethod
    def load(cls, path: str | Path) -> SensingData:
        data = cls(**_load_npz(path, "sensing", ("target", "measurements", "values")))
        _require_rows(
            path,
            "measurements",
            data.measurements,
            (len(data.values), *data.target.shape),
            data.target,
        )
        return data


def make_cp_sensing(
    order: int, mode_dim: int, rank: int, fro_norm: float, num_measurements: int, seed: int
) -> SensingData:
    """A random CP-rank-``rank`` target (the same one :func:`make_cp_completion` draws for ``seed``)
    and ``num_measurements`` Gaussian measurement tensors with i.i.d. N(0, 1/numel) entries.

    The variance 1/numel gives measurements of the same scale as the target's entries: each
    value has variance ||target||^2 / numel, the mean squared entry (as in the original code).
    """
    dims = (mode_dim,) * order
    numel = mode_dim**order
    if num_measurements < 1:
        raise ValueError(f"num_measurements={num_measurements} must be at least 1")
    rng = np.random.default_rng(seed)
    target = random_cp_tensor(dims, rank, fro_norm, rng)
    flat = rng.standard_normal((num_measurements, numel), dtype=np.float32)
    flat *= np.float32(1.0 / np.sqrt(numel))
    values = flat.astype(np.float64) @ target.reshape(-1)
    meta = dict(
        kind="cp_sensing",
        order=order,
        mode_dim=mode_dim,
        rank=rank,
        fro_norm=fro_norm,
        num_observations=num_measurements,
        measurement_std=float(1.0 / np.sqrt(numel)),
        seed=seed,
    )
    return SensingData(
        target=target, measurements=flat.reshape(num_measurements, *dims), values=values, meta=meta
    )
