"""Dataset, ArrayDataset and DataLoader: batching, seeded shuffling, exact resume, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet.data import ArrayDataset, DataLoader, Dataset
from glassnet.errors import ConfigError, ShapeError


class SquaresDataset(Dataset):
    """A generic (non-array) dataset: sample i is (x = [i, i], y = i**2)."""

    def __init__(self, n: int):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.array([i, i], dtype=np.float32), np.int64(i * i)


def make_arrays(n=10):
    x = np.stack([np.arange(n), np.arange(n)], axis=1).astype(np.float32)  # (N, 2)
    y = (np.arange(n) ** 2).astype(np.int64)  # (N,)
    return x, y


def first_column(loader):
    return [batch[0][:, 0].astype(int).tolist() for batch in loader]


def test_array_dataset_indexing():
    x, y = make_arrays(5)
    ds = ArrayDataset(x, y)
    assert len(ds) == 5
    xi, yi = ds[3]
    np.testing.assert_array_equal(xi, [3, 3])
    assert yi == 9
    xb, yb = ds[np.array([4, 0])]
    np.testing.assert_array_equal(yb, [16, 0])


@pytest.mark.parametrize("arrays", [(), (np.float32(1.0),), (np.zeros(3), np.zeros(4))])
def test_array_dataset_bad_input(arrays):
    with pytest.raises(ShapeError, match="ArrayDataset"):
        ArrayDataset(*arrays)


def test_dataset_is_abstract():
    with pytest.raises(TypeError):
        Dataset()


@pytest.mark.parametrize("drop_last, sizes", [(False, [4, 4, 2]), (True, [4, 4])])
def test_in_order_batches_and_len(drop_last, sizes):
    x, y = make_arrays(10)
    loader = DataLoader(ArrayDataset(x, y), batch_size=4, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(sizes)
    assert [len(b[0]) for b in batches] == sizes
    assert all(isinstance(b, tuple) and len(b) == 2 for b in batches)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y[: sum(sizes)])
    assert batches[0][0].dtype == np.float32 and batches[0][1].dtype == np.int64


def test_shuffle_is_seeded_and_covers_every_sample_once_per_epoch():
    x, y = make_arrays(10)
    a = DataLoader(ArrayDataset(x, y), batch_size=3, shuffle=True, rng=7)
    b = DataLoader(ArrayDataset(x, y), batch_size=3, shuffle=True, rng=np.random.default_rng(7))
    epoch1, epoch2 = first_column(a), first_column(a)
    assert epoch1 == first_column(b) and epoch2 == first_column(b)
    assert sorted(sum(epoch1, [])) == list(range(10)) and sorted(sum(epoch2, [])) == list(range(10))
    assert epoch1 != epoch2  # a new permutation each epoch
    assert epoch1 == [list(c) for c in np.array_split(np.random.default_rng(7).permutation(10), [3, 6, 9])]
    assert first_column(DataLoader(ArrayDataset(x, y), batch_size=3, shuffle=True, rng=8)) != epoch1


def test_generic_dataset_path_matches_array_fast_path():
    x, y = make_arrays(11)
    fast = list(DataLoader(ArrayDataset(x, y), batch_size=4, shuffle=True, rng=3))
    slow = list(DataLoader(SquaresDataset(11), batch_size=4, shuffle=True, rng=3))
    assert len(fast) == len(slow) == 3
    for (fx, fy), (sx, sy) in zip(fast, slow):
        np.testing.assert_array_equal(fx, sx)
        np.testing.assert_array_equal(fy, sy)
        assert sx.dtype == np.float32 and sy.dtype == np.int64


def test_generic_dataset_single_array_samples_become_one_field():
    class Plain(Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return np.full((2,), i)

    (batch,) = list(DataLoader(Plain(), batch_size=3))
    assert isinstance(batch, tuple) and len(batch) == 1
    np.testing.assert_array_equal(batch[0], [[0, 0], [1, 1], [2, 2]])


def test_generic_dataset_ragged_samples_raise_shape_error():
    class Ragged(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return (np.zeros(i + 1),)

    with pytest.raises(ShapeError, match="field 0"):
        list(DataLoader(Ragged(), batch_size=2))


def run_epochs(loader, epochs):
    return [first_column(loader) for _ in range(epochs)]


@pytest.mark.parametrize("stop_after", [0, 1, 3, 4])  # batches of epoch 2 consumed before the checkpoint
def test_resume_mid_epoch_is_bit_identical(stop_after):
    x, y = make_arrays(10)
    reference = run_epochs(DataLoader(ArrayDataset(x, y), batch_size=3, shuffle=True, rng=11), 3)

    first = DataLoader(ArrayDataset(x, y), batch_size=3, shuffle=True, rng=11)
    assert first_column(first) == reference[0]
    seen = []
    if stop_after:
        for b, batch in enumerate(first):
            seen.append(batch[0][:, 0].astype(int).tolist())
            if b + 1 == stop_after:
                state = first.state_dict()  # taken while holding the last batch consumed
                break
    else:
        state = first.state_dict()
    assert state["batches_done"] == stop_after % 4  # after the 4th (last) batch the epoch is complete

    resumed = DataLoader(ArrayDataset(x, y), batch_size=3, shuffle=True, rng=999)
    resumed.load_state_dict(state)
    rest = first_column(resumed)
    if stop_after == 4:  # epoch 2 was complete: the next pass is epoch 3
        assert seen == reference[1] and rest == reference[2]
    else:
        assert seen + rest == reference[1]
        assert first_column(resumed) == reference[2]


def test_state_dict_between_epochs_restores_the_next_permutation():
    x, y = make_arrays(10)
    a = DataLoader(ArrayDataset(x, y), batch_size=4, shuffle=True, rng=5)
    list(a)
    state = a.state_dict()
    assert state["batches_done"] == 0 and state["rng"]["bit_generator"] == "PCG64"
    expected = first_column(a)
    b = DataLoader(ArrayDataset(x, y), batch_size=4, shuffle=True, rng=0)
    b.load_state_dict(state)
    assert first_column(b) == expected


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, "4", None])
def test_bad_batch_size_raises_config_error(batch_size):
    with pytest.raises(ConfigError, match="batch_size"):
        DataLoader(ArrayDataset(np.zeros(4)), batch_size=batch_size)


@pytest.mark.parametrize("kwargs, match", [
    ({"rng": "seed"}, "rng"),
    ({"rng": np.random.RandomState(0)}, "rng"),
    ({"shuffle": "yes"}, "shuffle"),
    ({"drop_last": 1}, "drop_last"),
])
def test_bad_options_raise_config_error(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        DataLoader(ArrayDataset(np.zeros(4)), **kwargs)


def test_dataset_without_len_raises_config_error():
    with pytest.raises(ConfigError, match="__len__"):
        DataLoader(object())


@pytest.mark.parametrize("state, match", [
    ({"rng": {}}, "expected keys"),
    ({"rng": {"bit_generator": "MT19937", "state": {}}, "batches_done": 0}, "PCG64"),
    ({"rng": np.random.default_rng(0).bit_generator.state, "batches_done": 99}, "batches_done"),
    ({"rng": np.random.default_rng(0).bit_generator.state, "batches_done": -1}, "batches_done"),
    ({"rng": {"bit_generator": "PCG64", "state": "broken"}, "batches_done": 0}, "invalid rng state"),
])
def test_load_state_dict_bad_input(state, match):
    loader = DataLoader(ArrayDataset(np.zeros(10)), batch_size=3, shuffle=True, rng=0)
    with pytest.raises(ConfigError, match=match):
        loader.load_state_dict(state)
