import numpy as np
import pytest

from impreg.data.synthetic import CompletionData, make_cp_completion, random_cp_tensor
from impreg.io import DataFileError


def test_target_has_the_requested_rank_and_norm():
    t = random_cp_tensor((6, 6, 6, 6), 3, 2.5, np.random.default_rng(0))
    assert np.isclose(np.linalg.norm(t), 2.5)
    # every matricization of a CP-rank-3 tensor has rank <= 3 (and 3 for generic factors)
    assert np.linalg.matrix_rank(t.reshape(36, 36), tol=1e-10) == 3
    assert np.linalg.matrix_rank(t.reshape(6, 216), tol=1e-10) == 3


def test_observations_are_distinct_entries_of_the_target():
    d = make_cp_completion(order=4, mode_dim=5, rank=2, fro_norm=1.0, num_observations=300, seed=1)
    assert d.indices.shape == (300, 4)
    assert len(np.unique(d.flat_indices)) == 300
    assert np.array_equal(d.values, d.target[tuple(d.indices.T)])


def test_same_seed_same_data_other_seed_other_data():
    a = make_cp_completion(3, 4, 2, 1.0, 20, seed=7)
    b = make_cp_completion(3, 4, 2, 1.0, 20, seed=7)
    c = make_cp_completion(3, 4, 2, 1.0, 20, seed=8)
    assert np.array_equal(a.target, b.target) and np.array_equal(a.indices, b.indices)
    assert not np.array_equal(a.target, c.target)


def test_too_many_observations_rejected():
    with pytest.raises(ValueError, match="num_observations"):
        make_cp_completion(2, 3, 1, 1.0, 10, seed=0)


def test_save_load_roundtrip(tmp_path):
    d = make_cp_completion(3, 4, 2, 1.0, 20, seed=0)
    d.save(tmp_path / "d.npz")
    e = CompletionData.load(tmp_path / "d.npz")
    assert np.array_equal(d.target, e.target) and e.meta == d.meta


def test_missing_and_corrupt_files_are_named(tmp_path):
    with pytest.raises(DataFileError, match="does not exist"):
        CompletionData.load(tmp_path / "absent.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(DataFileError, match=str(bad)):
        CompletionData.load(bad)


def _flip(blob: bytes) -> bytes:
    """Bit rot in the middle of the archive: a member's CRC-32 no longer matches."""
    middle = len(blob) // 2
    return blob[:middle] + bytes(b ^ 0xFF for b in blob[middle : middle + 16]) + blob[middle + 16 :]


@pytest.mark.parametrize(
    "damage,expected",
    [
        (lambda b: b[: len(b) // 2], "truncated or corrupted"),
        (lambda b: b[:-1], "truncated or corrupted"),
        (_flip, "truncated or corrupted"),
        (lambda b: b"<html>404 Not Found</html>", "not an .npz archive"),
        (lambda b: b"", "not an .npz archive"),
    ],
)
def test_damaged_files_raise_data_file_error_naming_them(tmp_path, damage, expected):
    from impreg.data.synthetic import SensingData, make_cp_sensing

    for name, data, cls in (
        ("c.npz", make_cp_completion(3, 4, 2, 1.0, 20, seed=0), CompletionData),
        ("s.npz", make_cp_sensing(3, 4, 2, 1.0, 20, seed=0), SensingData),
    ):
        data.save(tmp_path / name)
        (tmp_path / name).write_bytes(damage((tmp_path / name).read_bytes()))
        with pytest.raises(DataFileError) as info:
            cls.load(tmp_path / name)
        assert str(tmp_path / name) in str(info.value) and expected in str(info.value)
        assert "delete it and rerun the workflow" in str(info.value)


def test_files_whose_arrays_disagree_are_named(tmp_path):
    from impreg.data.synthetic import SensingData, make_cp_sensing

    completion = make_cp_completion(3, 4, 2, 1.0, 20, seed=0)
    completion.indices = completion.indices[:, :2]  # two indices per entry of an order-3 target
    sensing = make_cp_sensing(3, 4, 2, 1.0, 20, seed=0)
    sensing.measurements = sensing.measurements[:10]  # 10 measurements for 20 values
    for name, data, cls, what in (
        ("c.npz", completion, CompletionData, r"indices \(20, 2\) for 20 values"),
        ("s.npz", sensing, SensingData, r"measurements \(10, 4, 4, 4\) for 20 values"),
    ):
        data.save(tmp_path / name)
        with pytest.raises(DataFileError, match=f"{tmp_path / name} is inconsistent: {what}"):
            cls.load(tmp_path / name)


def test_cp_target_components_draw_the_data_files_target_again():
    """The terms of a completion or sensing target, from its metadata alone, sum to its target; unit
    factor columns, largest norm first."""
    from impreg.data.synthetic import cp_target_components, make_cp_sensing

    for data in (
        make_cp_completion(4, 5, 3, 1.0, 50, seed=3),
        make_cp_sensing(3, 4, 2, 2.0, 10, seed=5),
    ):
        tensor, comps = cp_target_components(data.meta)
        np.testing.assert_array_equal(tensor, data.target)
        np.testing.assert_allclose(
            comps.tensor(range(len(comps.norms))), data.target, rtol=0, atol=1e-12
        )
        assert (np.diff(comps.norms) <= 0).all()
        np.testing.assert_allclose(
            [np.linalg.norm(f, axis=0) for f in comps.factors], 1.0, rtol=0, atol=1e-12
        )
    with pytest.raises(ValueError, match="CP target"):
        cp_target_components({"kind": "ht_completion"})


def test_unit_components_move_column_norms_into_the_terms():
    from impreg.data.synthetic import outer_sum, unit_components

    rng = np.random.default_rng(0)
    factors = [rng.standard_normal((3, 4)) for _ in range(3)]
    comps = unit_components([2.0] * 4, factors)
    np.testing.assert_allclose(comps.tensor(range(4)), 2.0 * outer_sum(factors), rtol=0, atol=1e-12)
    single = comps.tensor([1])
    assert np.linalg.norm(single) == pytest.approx(comps.norms[1], rel=1e-12)
