"""Hierarchical tensor factorization (HTF), the convolutional arithmetic circuit of P2.

A mode tree over modes 0..N-1 (0-based; the paper's node {1,2} is ``(0, 1)`` here) is given as
nested tuples, e.g. ``((0, 1), (2, 3))``, or built by :func:`mode_tree`. Every non-root node
nu carries a weight matrix W_nu of shape (R_nu, R_parent), where R_leaf = d_n (the mode size)
and R_nu = ``widths[layer(nu)]`` for an internal node. The layer of an internal node is its
height minus one, so nodes over leaves only are layer 0 and the root is the last layer. The
root carries the output vector w_out (R_root,). On one-hot inputs (tensor entries) the network
computes, for an internal node nu and index r,

    h_nu[r] = prod_{c child of nu} (h_c @ W_c)[r],   with h_leaf = the one-hot of the mode index,

and the entry is h_root @ w_out. This is the paper's W_H: the tensor of node nu, index r, is
the tensor product over children c of sum_{r'} W_c[r', r] * (tensor of c, index r').

Predicting observed entries was chosen by measurement: forward + backward of the MSE at order 4,
d = 16, 2048 observations, float32, 1 thread of a shared 2-core Xeon (load ~3, so +-20%),
torch 2.14 CPU; ms median (min) of benchmarks/htf_step.py and an interleaved comparison:

    method                                  widths 512       widths 64
    distinct, bilinear root (default)       18.4 (16.0)      1.43 (1.19)
    distinct, root gathers n rows           19-37 (13-28)    2.2-2.5 (1.8-2.1)
    full: build the 16^4 tensor, gather     16.8 (15.6)      1.77 (1.49)
    per_observation                         133  (118)       6.4  (5.0)

``per_observation`` runs the network once per observation: its (2048, 512) @ (512, 512) node
products cost 6.5 GFLOP per step. ``distinct`` computes each node's representation once per
*distinct* observed sub-index tuple. Node (0, 1) has at most 16^2 = 256 of them against 2048
observations, so its products run on 256 rows; when all tuples occur, the rows are formed
by a broadcast Khatri-Rao product instead of gathers. The root then contracts its two
children's distinct rows, (256 x R)(R x 256), and reads the observed entries. The
alternative, gathering 2048 rows of width R per child, does few FLOPs but is limited by
memory bandwidth and allocation, and it measured slower. At this size ``distinct`` and
``full`` do the same 1.0 GFLOP, at about 80% of this machine's matmul rate. ``distinct`` is
the default because it is faster at small widths and never forms the d^N tensor: at order
6, d = 8, widths 64 it took 2.1 ms against 4.7 ms for ``full``. The index bookkeeping is done
once per observation set by :meth:`HierarchicalTensorFactorization.entry_plan`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import torch
from torch import nn

from impreg.factorizations.cp import khatri_rao

ModeTree: TypeAlias = "int | tuple[ModeTree, ...]"

PATTERNS = ("adjacent", "interleaved")


def mode_tree(order: int, pool_size: int = 2, pattern: str = "adjacent") -> ModeTree:
    """A mode tree that pools ``pool_size`` nodes at a time, level by level, up to one root.

    ``adjacent`` pools consecutive nodes: order 4, pool 2 gives ((0, 1), (2, 3)) (the repo's
    "checkerboard" for 1-D). ``interleaved`` pools nodes that are a level's length / pool_size
    apart: order 4, pool 2 gives ((0, 2), (1, 3)) (the repo's "half"). When a level's length is
    not divisible by ``pool_size`` the last group is smaller; a group of one passes up unchanged.
    """
    if order < 2 or pool_size < 2:
        raise ValueError(
            f"need order >= 2 and pool_size >= 2, got order={order} pool_size={pool_size}"
        )
    if pattern not in PATTERNS:
        raise ValueError(f"unknown pool pattern '{pattern}' (expected one of {PATTERNS})")
    level: list[ModeTree] = list(range(order))
    while len(level) > 1:
        num_groups = math.ceil(len(level) / pool_size)
        if pattern == "adjacent":
            groups = [level[j * pool_size : (j + 1) * pool_size] for j in range(num_groups)]
        else:
            groups = [level[j::num_groups] for j in range(num_groups)]
        level = [g[0] if len(g) == 1 else tuple(g) for g in groups]
    return level[0]


@dataclass(frozen=True)
class TreeNode:
    """One node of a parsed mode tree; nodes are listed in post-order (children first, root last)."""

    modes: tuple[int, ...]  # sorted modes below the node: the key used by every per-node result
    leaf_order: tuple[int, ...]  # the same modes left to right: the axis order of the node's tensor
    children: tuple[int, ...]  # positions of the children in the node list; () for a leaf
    height: int  # 0 for a leaf; the layer of an internal node is height - 1
    parent: int | None  # position of the parent; None for the root

    @property
    def is_leaf(self) -> bool:
        return not self.children


def parse_tree(tree: ModeTree) -> list[TreeNode]:
    """Validate a mode tree (every mode 0..N-1 once, internal nodes with >= 2 children) and list its nodes."""
    if isinstance(tree, (int, np.integer)):
        raise ValueError("a mode tree needs an internal root (got a single mode)")
    nodes: list[dict[str, Any]] = []

    def visit(sub: ModeTree) -> int:
        if isinstance(sub, (int, np.integer)):
            nodes.append(dict(modes=(int(sub),), leaf_order=(int(sub),), children=(), height=0))
            return len(nodes) - 1
        if not isinstance(sub, (tuple, list)) or len(sub) < 2:
            raise ValueError(f"internal tree nodes need >= 2 children, got {sub!r}")
        children = tuple(visit(c) for c in sub)
        leaf_order = tuple(m for c in children for m in nodes[c]["leaf_order"])
        nodes.append(
            dict(
                modes=tuple(sorted(leaf_order)),
                leaf_order=leaf_order,
                children=children,
                height=1 + max(nodes[c]["height"] for c in children),
            )
        )
        return len(nodes) - 1

    visit(tree)
    modes = nodes[-1]["leaf_order"]
    if sorted(modes) != list(range(len(modes))):
        raise ValueError(f"the tree's leaves must be the modes 0..N-1 once each, got {modes}")
    parents: dict[int, int] = {c: i for i, n in enumerate(nodes) for c in n["children"]}
    return [TreeNode(parent=parents.get(i), **n) for i, n in enumerate(nodes)]


def tree_node_modes(
    tree: ModeTree, include_leaves: bool = True, include_root: bool = False
) -> list[tuple[int, ...]]:
    """The sorted mode tuple of every tree node (post-order)."""
    nodes = parse_tree(tree)
    return [
        n.modes
        for n in nodes
        if (include_leaves or not n.is_leaf) and (include_root or n.parent is not None)
    ]


@dataclass
class EntryPlan:
    """Index bookkeeping for predicting a fixed set of observed entries (see ``entry_plan``).

    Every internal node's representation has one row per distinct observed sub-index tuple of its
    modes (or one per observation without deduplication). ``child_rows[i][k]`` says which row of
    node i's k-th child each of its rows multiplies; leaf representations are the leaf weight
    matrices, whose rows are the mode's index values. A node is ``complete`` when all its
    sub-index tuples occur and its rows are in Khatri-Rao order, so it is formed by broadcasting
    instead of gathers. With ``bilinear_root`` the root contracts its two halves of children into
    an (M_left, M_right) matrix in one product and reads the entries at ``output_rows`` of it
    (flattened); otherwise ``output_rows`` maps each observation to a root row.
    """

    indices: torch.Tensor  # (n, N) the observed entries
    child_rows: list[list[torch.Tensor]]  # per node (empty for leaves), per child, (m_node,) long
    num_rows: list[int]  # m per node (the root: M_left * M_right when bilinear)
    complete: list[bool]
    bilinear_root: bool
    output_rows: torch.Tensor  # (n,) long

    def to(self, device: torch.device | str) -> EntryPlan:
        return EntryPlan(
            self.indices.to(device),
            [[r.to(device) for r in rows] for rows in self.child_rows],
            list(self.num_rows),
            list(self.complete),
            self.bilinear_root,
            self.output_rows.to(device),
        )


# The root's bilinear product costs 2 M_l M_r R FLOPs at matmul speed; gathering n rows of width R
# for each child costs about ten memory-bound passes over (n, R) arrays forward and backward.
# Measured on the CPU of the module docstring: at M_l M_r = 32 n (order 4, d = 16) the product is
# ~2x faster, at ~51 n (order 6, d = 8) the two tie, so the crossover is near 64 n.
BILINEAR_ROOT_MAX_RATIO = 64


class HierarchicalTensorFactorization(nn.Module):
    """An HTF over modes of sizes ``dims`` with mode tree ``tree`` and per-layer ``widths``.

    ``tree`` defaults to ``mode_tree(len(dims), pool_size, pattern)``. ``widths`` is one int
    for every layer or one per layer (layer 0 = nodes over leaves, last = the root). All entries
    are i.i.d. N(0, init_std^2), drawn from ``generator`` in the order: leaf weights in mode
    order, internal non-root weights in post-order, the output vector.
    """

    def __init__(
        self,
        dims: Sequence[int],
        widths: int | Sequence[int],
        init_std: float,
        tree: ModeTree | None = None,
        pool_size: int = 2,
        pattern: str = "adjacent",
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        self.dims = tuple(int(d) for d in dims)
        self.tree = tree if tree is not None else mode_tree(len(self.dims), pool_size, pattern)
        self.nodes = parse_tree(self.tree)
        if len(self.nodes[-1].modes) != len(self.dims):
            raise ValueError(
                f"the tree has {len(self.nodes[-1].modes)} modes but dims has {len(self.dims)}"
            )
        self.num_layers = self.nodes[-1].height
        widths = (
            [int(widths)] * self.num_layers
            if isinstance(widths, (int, np.integer))
            else [int(w) for w in widths]
        )
        if len(widths) != self.num_layers or min(widths) < 1:
            raise ValueError(
                f"need {self.num_layers} positive layer widths for this tree, got {widths}"
            )
        self.widths = tuple(widths)

        def param(*shape: int) -> nn.Parameter:
            return nn.Parameter(torch.randn(*shape, generator=generator, dtype=dtype) * init_std)

        self._leaf_of_mode = {n.modes[0]: i for i, n in enumerate(self.nodes) if n.is_leaf}
        self._internal = [
            i for i, n in enumerate(self.nodes) if not n.is_leaf and n.parent is not None
        ]
        self.leaf_weights = nn.ParameterList(
            param(self.dims[m], self.rank(self.nodes[self._leaf_of_mode[m]].parent))
            for m in range(self.order)
        )
        self.node_weights = nn.ParameterList(
            param(self.rank(i), self.rank(self.nodes[i].parent)) for i in self._internal
        )
        self.output = param(self.rank(len(self.nodes) - 1))
        self._weight_pos = {i: k for k, i in enumerate(self._internal)}

    @property
    def order(self) -> int:
        return len(self.dims)

    def rank(self, node: int) -> int:
        """R of a node: its mode size for a leaf, its layer's width for an internal node."""
        n = self.nodes[node]
        return self.dims[n.modes[0]] if n.is_leaf else self.widths[n.height - 1]

    def weight(self, node: int) -> torch.Tensor:
        """W of a non-root node (position in ``self.nodes``), shape (R_node, R_parent)."""
        n = self.nodes[node]
        if n.parent is None:
            raise ValueError("the root has the output vector, not a weight matrix")
        return (
            self.leaf_weights[n.modes[0]]
            if n.is_leaf
            else self.node_weights[self._weight_pos[node]]
        )

    def full_tensor(self) -> torch.Tensor:
        """The represented tensor, shape ``dims``.

        Each non-root node's tensor is kept matricized as (prod of its mode sizes, R_parent):
        the Khatri-Rao product of its children's matrices times W_node. At the root the output
        vector is folded into one matrix product of two Khatri-Rao halves, so the full tensor is
        never held with a trailing width axis.
        """
        mats: dict[int, torch.Tensor] = {}
        for i, n in enumerate(self.nodes[:-1]):
            mats[i] = (
                self.weight(i)
                if n.is_leaf
                else khatri_rao([mats[c] for c in n.children]) @ self.weight(i)
            )
        root = self.nodes[-1]
        children = [mats[c] for c in root.children]
        half = len(children) // 2
        out = (khatri_rao(children[:half]) * self.output) @ khatri_rao(children[half:]).T
        out = out.reshape(tuple(self.dims[m] for m in root.leaf_order))
        return out.permute(tuple(int(a) for a in np.argsort(root.leaf_order)))

    @torch.no_grad()
    def entry_plan(
        self, indices: torch.Tensor, distinct: bool = True, bilinear_root: bool | None = None
    ) -> EntryPlan:
        """Precompute the row bookkeeping for predicting the entries at ``indices`` (n, N).

        With ``distinct`` each internal node gets one row per distinct observed sub-index tuple;
        without it one row per observation (the plain per-observation network pass).
        ``bilinear_root`` None decides by ``BILINEAR_ROOT_MAX_RATIO`` (never without ``distinct``).
        """
        idx = torch.as_tensor(indices).long()
        if idx.ndim != 2 or idx.shape[1] != self.order:
            raise ValueError(f"indices must be (n, {self.order}), got {tuple(idx.shape)}")
        if bilinear_root and not distinct:
            raise ValueError(
                "a bilinear root needs distinct rows (it would form an n x n matrix otherwise)"
            )
        n_obs, device = idx.shape[0], idx.device
        obs_rows: list[torch.Tensor] = []  # row of each observation in each node's representation
        child_rows: list[list[torch.Tensor]] = []
        num_rows: list[int] = []
        complete: list[bool] = []
        root_pos = len(self.nodes) - 1
        for i, node in enumerate(self.nodes):
            if node.is_leaf:
                obs_rows.append(idx[:, node.modes[0]])
                child_rows.append([])
                num_rows.append(self.dims[node.modes[0]])
                complete.append(True)
                continue
            if i == root_pos:
                break
            sizes = [self.dims[m] for m in node.leaf_order]
            if distinct:
                if math.prod(sizes) >= 2**62:
                    raise ValueError(f"node {node.modes} has too many entries to index")
                # codes ravel the sub-index in leaf order, so sorted unique codes are in Khatri-Rao order
                code = torch.zeros(n_obs, dtype=torch.long, device=device)
                for m, d in zip(node.leaf_order, sizes, strict=True):
                    code = code * d + idx[:, m]
                uniq, rows = torch.unique(code, return_inverse=True)
                m_rows = uniq.numel()
            else:
                rows, m_rows = torch.arange(n_obs, device=device), n_obs
            per_child = []
            for c in node.children:
                r = torch.empty(m_rows, dtype=torch.long, device=device)
                r[rows] = obs_rows[c]  # all observations on one row share the child's row
                per_child.append(r)
            obs_rows.append(rows)
            child_rows.append(per_child)
            num_rows.append(m_rows)
            complete.append(
                distinct and m_rows == math.prod(sizes) and all(complete[c] for c in node.children)
            )

        root = self.nodes[root_pos]
        half = len(root.children) // 2
        m_left = math.prod(num_rows[c] for c in root.children[:half])
        m_right = math.prod(num_rows[c] for c in root.children[half:])
        if bilinear_root is None:
            bilinear_root = distinct and m_left * m_right <= BILINEAR_ROOT_MAX_RATIO * n_obs
        if bilinear_root:
            flat = torch.zeros(n_obs, dtype=torch.long, device=device)
            for c in root.children:  # ravel in Khatri-Rao order: left half slowest
                flat = flat * num_rows[c] + obs_rows[c]
            child_rows.append([])
            num_rows.append(m_left * m_right)
            output_rows = flat
        else:
            rows = torch.arange(n_obs, device=device)
            child_rows.append([obs_rows[c] for c in root.children])
            num_rows.append(n_obs)
            output_rows = rows
        complete.append(False)
        return EntryPlan(idx, child_rows, num_rows, complete, bool(bilinear_root), output_rows)

    def gather_entries(
        self, indices: torch.Tensor | EntryPlan, method: str = "distinct"
    ) -> torch.Tensor:
        """Entries at the observed ``indices`` (n, N), or at a precomputed plan's indices.

        ``method`` is ``distinct`` (default, fastest measured), ``per_observation`` or ``full``
        (build the whole tensor and gather). Training loops should pass an ``entry_plan`` so the
        bookkeeping is done once; a plan fixes the method it was built for.
        """
        if method == "full":
            idx = (
                indices.indices
                if isinstance(indices, EntryPlan)
                else torch.as_tensor(indices).long()
            )
            flat = torch.zeros(idx.shape[0], dtype=torch.long, device=idx.device)
            for m, d in enumerate(self.dims):
                flat = flat * d + idx[:, m]
            return self.full_tensor().reshape(-1)[flat]
        if method not in ("distinct", "per_observation"):
            raise ValueError(
                f"unknown method '{method}' (expected distinct, per_observation or full)"
            )
        plan = (
            indices
            if isinstance(indices, EntryPlan)
            else self.entry_plan(indices, method == "distinct")
        )
        reps: list[torch.Tensor | None] = []
        for i, node in enumerate(self.nodes):
            if node.is_leaf:
                reps.append(self.weight(i))
                continue
            if node.parent is None:
                return self._root_entries(node, reps, plan)
            if plan.complete[i]:
                h = khatri_rao([reps[c] for c in node.children])
            else:
                h = reps[node.children[0]][plan.child_rows[i][0]]
                for c, rows in zip(node.children[1:], plan.child_rows[i][1:], strict=True):
                    h = h * reps[c][rows]
            reps.append(h @ self.weight(i))
            for c in node.children:  # free what no later node reads
                reps[c] = None
        raise AssertionError("unreachable: the root is the last node")

    def _root_entries(
        self, root: TreeNode, reps: list[torch.Tensor | None], plan: EntryPlan
    ) -> torch.Tensor:
        mats = [reps[c] for c in root.children]
        if plan.bilinear_root:
            half = len(mats) // 2
            return ((khatri_rao(mats[:half]) * self.output) @ khatri_rao(mats[half:]).T).reshape(
                -1
            )[plan.output_rows]
        h = mats[0][plan.child_rows[-1][0]]
        for mat, rows in zip(mats[1:], plan.child_rows[-1][1:], strict=True):
            h = h * mat[rows]
        return h @ self.output

    @torch.no_grad()
    def local_component_norms(self) -> dict[tuple[int, ...], torch.Tensor]:
        """Per internal node (keyed by its sorted modes), the norms of its R_node local components.

        Component r of node nu is the tensor product of column r of every child's W and row r of
        W_nu (at the root, the scalar w_out[r]); its norm is prod_c ||W_c[:, r]|| * ||W_nu[r, :]||.
        Returned in index order r = 0..R_nu-1 (not sorted).
        """
        out: dict[tuple[int, ...], torch.Tensor] = {}
        for i, node in enumerate(self.nodes):
            if node.is_leaf:
                continue
            norms = self.output.abs() if node.parent is None else self.weight(i).norm(dim=1)
            for c in node.children:
                norms = norms * self.weight(c).norm(dim=0)
            out[node.modes] = norms
        return out
