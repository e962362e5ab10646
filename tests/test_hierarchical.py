"""Hierarchical tensor factorization: the represented tensor, entry predictions, local components, ranks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from impreg.data.synthetic import random_ht_tensor
from impreg.factorizations.hierarchical import (
    HierarchicalTensorFactorization,
    mode_tree,
    parse_tree,
    tree_node_modes,
)
from impreg.tensor_ranks import (
    effective_rank,
    hierarchical_effective_ranks,
    hierarchical_ranks,
    matricization,
    matricization_singular_values,
    thresholded_rank,
)

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def reference_tensor(model: HierarchicalTensorFactorization) -> np.ndarray:
    """The HTF's tensor from its parameters by one einsum per internal node, written independently.

    A node's tensor with a trailing index over its own width is the einsum of its children's
    (child modes..., parent-width index) tensors sharing the node's width index; no Khatri-Rao or
    permutation bookkeeping of the model is reused.
    """
    letters = iter(LETTERS)
    mode_letter = {m: next(letters) for m in range(model.order)}

    def build(sub) -> tuple[np.ndarray, str]:
        """(tensor over the subtree's modes in ascending order x the node's width, its einsum modes)."""
        if isinstance(sub, int):
            raise AssertionError("leaves are handled by the parent")
        width_letter = next(letters)
        operands, specs = [], []
        for child in sub:
            if isinstance(child, int):
                operands.append(model.leaf_weights[child].detach().double().numpy())
                specs.append(mode_letter[child] + width_letter)
            else:
                tensor, modes = build(child)  # trailing index: the child's own width
                child_width = next(letters)
                pos = next(
                    i for i, n in enumerate(model.nodes) if n.modes == tuple(sorted(_modes(child)))
                )
                operands += [tensor, model.weight(pos).detach().double().numpy()]
                specs += [modes + child_width, child_width + width_letter]
        modes = "".join(
            sorted(
                (c for s in specs for c in s if c in mode_letter.values()),
                key=lambda c: LETTERS.index(c),
            )
        )
        return np.einsum(",".join(specs) + "->" + modes + width_letter, *operands), modes

    tensor, modes = build(model.tree)
    return np.einsum(f"{modes}Z,Z->{modes}", tensor, model.output.detach().double().numpy())


def _modes(sub) -> list[int]:
    return [sub] if isinstance(sub, int) else [m for c in sub for m in _modes(c)]


CASES = [
    # (dims, tree, widths)
    ((3, 4, 5), mode_tree(3, 2, "adjacent"), (3, 4)),
    ((3, 4, 5), mode_tree(3, 2, "interleaved"), (2, 3)),
    ((3, 4, 2, 5), mode_tree(4, 2, "adjacent"), (3, 4)),
    ((3, 4, 2, 5), mode_tree(4, 2, "interleaved"), (4, 2)),
    ((3, 4, 2, 5), mode_tree(4, 4), (6,)),  # pool size 4: one node over all modes, CP-like
    ((2, 3, 2, 3, 2), ((0, (3, 1)), (4, 2)), (2, 3, 2)),  # an explicit unbalanced tree
]


def make(dims, tree, widths, seed=0) -> HierarchicalTensorFactorization:
    return HierarchicalTensorFactorization(
        dims,
        widths,
        init_std=0.7,
        tree=tree,
        generator=torch.Generator().manual_seed(seed),
        dtype=torch.float64,
    )


def test_mode_trees():
    assert mode_tree(4, 2, "adjacent") == ((0, 1), (2, 3))
    assert mode_tree(4, 2, "interleaved") == ((0, 2), (1, 3))
    assert mode_tree(4, 4) == (0, 1, 2, 3)
    assert mode_tree(3, 2, "adjacent") == ((0, 1), 2)
    assert mode_tree(8, 2, "adjacent") == (((0, 1), (2, 3)), ((4, 5), (6, 7)))
    assert tree_node_modes(((0, 1), (2, 3))) == [(0,), (1,), (0, 1), (2,), (3,), (2, 3)]
    with pytest.raises(ValueError):
        parse_tree(((0, 1), (1, 2)))
    with pytest.raises(ValueError):
        parse_tree(((0,), (1, 2)))
    with pytest.raises(ValueError):
        mode_tree(4, 2, "checkerboard_sq")


@pytest.mark.parametrize("dims,tree,widths", CASES)
def test_full_tensor_matches_independent_einsum(dims, tree, widths):
    model = make(dims, tree, widths)
    full = model.full_tensor()
    assert full.shape == dims
    np.testing.assert_allclose(
        full.detach().numpy(), reference_tensor(model), rtol=1e-10, atol=1e-12
    )


@pytest.mark.parametrize("dims,tree,widths", CASES)
@pytest.mark.parametrize("method", ["distinct", "per_observation", "full"])
def test_entries_equal_full_tensor_gather(dims, tree, widths, method):
    model = make(dims, tree, widths, seed=1)
    gen = torch.Generator().manual_seed(2)
    numel = int(np.prod(dims))
    # some repeated entries, so rows of different observations coincide at every node
    flat = torch.cat(
        [
            torch.randperm(numel, generator=gen)[: numel // 3],
            torch.randint(numel, (7,), generator=gen),
        ]
    )
    idx = torch.stack(torch.unravel_index(flat, dims), dim=1)
    expected = model.full_tensor()[tuple(idx.T)]
    torch.testing.assert_close(model.gather_entries(idx, method=method), expected)
    if method != "full":
        for bilinear in (True, False):
            if method == "per_observation" and bilinear:
                continue
            plan = model.entry_plan(idx, distinct=method == "distinct", bilinear_root=bilinear)
            torch.testing.assert_close(model.gather_entries(plan, method=method), expected)


def test_entry_gradients_match_full_tensor():
    dims, tree, widths = CASES[2]
    idx = torch.stack(
        torch.unravel_index(
            torch.randperm(120, generator=torch.Generator().manual_seed(3))[:50], dims
        ),
        1,
    )
    grads = {}
    for how in ("distinct", "gather"):
        model = make(dims, tree, widths, seed=4)
        pred = model.gather_entries(idx) if how == "distinct" else model.full_tensor()[tuple(idx.T)]
        (pred**2).sum().backward()
        grads[how] = [p.grad for p in model.parameters()]
    for a, b in zip(grads["distinct"], grads["gather"], strict=True):
        torch.testing.assert_close(a, b)


def test_distinct_rows_are_fewer_than_observations():
    model = HierarchicalTensorFactorization(
        (16,) * 4, 8, 0.1, generator=torch.Generator().manual_seed(0)
    )
    flat = torch.randperm(16**4, generator=torch.Generator().manual_seed(0))[:2048]
    plan = model.entry_plan(torch.stack(torch.unravel_index(flat, model.dims), 1))
    bottom = [i for i, n in enumerate(model.nodes) if n.modes in ((0, 1), (2, 3))]
    assert all(plan.num_rows[i] <= 256 for i in bottom)
    assert all(plan.complete[i] for i in bottom)  # 2048 draws of 256 pairs: every pair occurs
    assert plan.bilinear_root


def test_local_component_norms_by_hand():
    dims = (2, 3, 2, 2)
    model = make(dims, ((0, 1), (2, 3)), (2, 3))
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(0.0)
        # node (0, 1), index 1: columns 1 of the leaf weights, row 1 of W_(0,1)
        model.leaf_weights[0][:, 1] = torch.tensor([3.0, 4.0])  # norm 5
        model.leaf_weights[1][:, 1] = torch.tensor([1.0, 2.0, 2.0])  # norm 3
        pos01 = next(i for i, n in enumerate(model.nodes) if n.modes == (0, 1))
        pos23 = next(i for i, n in enumerate(model.nodes) if n.modes == (2, 3))
        model.weight(pos01)[1] = torch.tensor([0.0, 6.0, 8.0])  # norm 10; column 2 gets 8
        model.weight(pos23)[0, 2] = 0.5
        model.output[2] = -2.0
    norms = model.local_component_norms()
    assert set(norms) == {(0, 1), (2, 3), (0, 1, 2, 3)}
    torch.testing.assert_close(
        norms[(0, 1)], torch.tensor([0.0, 5 * 3 * 10.0], dtype=torch.float64)
    )
    assert torch.all(norms[(2, 3)] == 0)
    # root index 2: ||W_(0,1)[:, 2]|| = 8, ||W_(2,3)[:, 2]|| = 0.5, |w_out[2]| = 2
    torch.testing.assert_close(
        norms[(0, 1, 2, 3)], torch.tensor([0.0, 0.0, 8 * 0.5 * 2.0], dtype=torch.float64)
    )


def test_local_component_norms_random_against_loops():
    model = make((3, 4, 5), ((0, 2), 1), (3, 4), seed=5)
    norms = model.local_component_norms()
    w02 = model.weight(next(i for i, n in enumerate(model.nodes) if n.modes == (0, 2))).detach()
    a0, a1, a2 = (w.detach() for w in model.leaf_weights)
    expected_02 = [a0[:, r].norm() * a2[:, r].norm() * w02[r].norm() for r in range(3)]
    expected_root = [w02[:, r].norm() * a1[:, r].norm() * model.output[r].abs() for r in range(4)]
    torch.testing.assert_close(norms[(0, 2)], torch.stack(expected_02))
    torch.testing.assert_close(norms[(0, 1, 2)], torch.stack(expected_root).detach())


def test_matricization_layout():
    t = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    m = matricization(t, (2, 0))
    assert m.shape == (8, 3)
    assert m[1 * 2 + 1, 2] == t[1, 2, 1]  # row = (mode 2, mode 0), column = mode 1
    torch.testing.assert_close(matricization(torch.as_tensor(t), (2, 0)), torch.as_tensor(m))
    np.testing.assert_allclose(
        matricization_singular_values(t, (1,)),
        np.linalg.svd(t.transpose(1, 0, 2).reshape(3, 8), compute_uv=False),
    )


def test_rank_measures():
    assert effective_rank(np.array([2.0, 2.0, 2.0, 0.0])) == pytest.approx(3.0)
    assert effective_rank(np.array([1.0, 0.0])) == pytest.approx(1.0)
    assert effective_rank(np.zeros(3)) == 0.0
    assert thresholded_rank(np.array([1.0, 1e-3, 1e-9]), rel_tol=1e-6) == 2
    assert thresholded_rank(np.zeros(2), rel_tol=1e-6) == 0


@pytest.mark.parametrize("pattern", ["adjacent", "interleaved"])
def test_built_hierarchical_rank(pattern):
    tree = mode_tree(4, 2, pattern)
    other = mode_tree(4, 2, "interleaved" if pattern == "adjacent" else "adjacent")
    target = random_ht_tensor(4, 6, (3, 4), tree, 64.0, np.random.default_rng(0))
    assert np.linalg.norm(target) == pytest.approx(64.0)
    ranks = hierarchical_ranks(target, tree)
    # in-tree: bounded by the layer-0 width 3 (leaves and the two bottom nodes), attained generically
    assert ranks == {modes: 3 for modes in tree_node_modes(tree)}
    off_tree = hierarchical_ranks(target, other)
    for modes in tree_node_modes(other):
        if len(modes) == 2:
            assert off_tree[modes] == 9  # the product of the two width-3 bounds, > 3
    eff = hierarchical_effective_ranks(target, tree)
    assert all(0 < v <= 3 + 1e-9 for v in eff.values())


def test_random_ht_tensor_is_reproducible_and_leaves_torch_rng_alone():
    state = torch.get_rng_state()
    a = random_ht_tensor(4, 4, 2, None, 10.0, np.random.default_rng(7))
    b = random_ht_tensor(4, 4, 2, None, 10.0, np.random.default_rng(7))
    assert torch.equal(state, torch.get_rng_state())
    np.testing.assert_array_equal(a, b)
    assert hierarchical_ranks(a, ((0, 1), (2, 3)))[(0, 1)] == 2


def test_learned_tensor_ranks_follow_the_model_widths():
    model = HierarchicalTensorFactorization(
        (5,) * 4, (2, 3), 1.0, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    ranks = hierarchical_ranks(model.full_tensor(), model.tree)
    assert ranks[(0, 1)] == 2 and ranks[(0,)] == 2


def test_validation_errors():
    with pytest.raises(ValueError):
        HierarchicalTensorFactorization((3, 3, 3, 3), (2, 2, 2), 0.1)  # 3 widths for a 2-layer tree
    with pytest.raises(ValueError):
        HierarchicalTensorFactorization((3, 3, 3), 2, 0.1, tree=((0, 1), (2, 3)))
    model = make((3, 4, 5), mode_tree(3), (2, 2))
    with pytest.raises(ValueError):
        model.gather_entries(torch.zeros(4, 2, dtype=torch.long))
    with pytest.raises(ValueError):
        model.gather_entries(torch.zeros(4, 3, dtype=torch.long), method="nope")
