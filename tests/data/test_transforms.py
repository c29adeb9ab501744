"""glassnet.data.transforms: batch transforms, seeded by the caller's generator."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet.data.transforms import (
    CenterCrop,
    Compose,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    Resize,
    ToTensor,
    resized_size,
)
from glassnet.errors import ConfigError, DTypeError, ShapeError


def _batch(n=6, c=3, h=32, w=32, seed=0):
    return np.random.default_rng(seed).random((n, c, h, w), dtype=np.float32)


# ---------------------------------------------------------------- ToTensor
def test_to_tensor_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).integers(0, 256, (4, 5, 7, 3), dtype=np.uint8)
    out = ToTensor()(x, None)
    ref = (torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255).numpy()
    assert out.dtype == np.float32 and out.shape == (4, 3, 5, 7)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-7)
    assert out.min() >= 0 and out.max() <= 1


def test_to_tensor_grey_and_float_passthrough():
    x = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    out = ToTensor()(x)
    assert out.shape == (2, 1, 3, 4)
    np.testing.assert_array_equal(out[:, 0], x / np.float32(255))
    f = _batch(2)
    assert ToTensor()(f) is f


@pytest.mark.parametrize("bad, err", [
    (np.zeros((2, 3), np.uint8), ShapeError),
    (np.zeros((2, 3, 4), np.float32), ShapeError),
    (np.zeros((2, 3, 4, 4), np.int64), DTypeError),
    ([[1, 2]], DTypeError),
])
def test_to_tensor_errors(bad, err):
    with pytest.raises(err, match="ToTensor"):
        ToTensor()(bad)


# --------------------------------------------------------------- Normalize
def test_normalize_equals_formula():
    x = _batch(4)
    mean, std = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
    out = Normalize(mean, std)(x, None)
    m = np.array(mean, np.float32).reshape(1, 3, 1, 1)
    s = np.array(std, np.float32).reshape(1, 3, 1, 1)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, (x - m) / s)
    x64 = x.astype(np.float64)
    assert Normalize(mean, std)(x64).dtype == np.float64


def test_normalize_matches_torchvision_formula_per_channel():
    x = _batch(2, c=1)
    np.testing.assert_allclose(Normalize(0.5, 0.25)(x), (x - 0.5) / 0.25, rtol=1e-6)


@pytest.mark.parametrize("mean, std", [
    ((0.5, 0.5), (0.2,)), ((0.5,), (0.0,)), ((0.5,), (-1.0,)), ((float("nan"),), (1.0,)), ((), ()),
    ("ab", (1.0, 1.0)),
])
def test_normalize_bad_args(mean, std):
    with pytest.raises(ConfigError, match="Normalize"):
        Normalize(mean, std)


def test_normalize_bad_input():
    with pytest.raises(ShapeError, match=r"C == 3"):
        Normalize((0.5,) * 3, (0.2,) * 3)(_batch(2, c=1))
    with pytest.raises(ShapeError, match="Normalize"):
        Normalize((0.5,), (0.2,))(np.zeros((3, 4, 4), np.float32))
    with pytest.raises(DTypeError, match="Normalize"):
        Normalize((0.5,), (0.2,))(np.zeros((1, 1, 4, 4), np.uint8))


# -------------------------------------------------------------- RandomCrop
def _recover_offsets(padded, window):
    """Every (i, j) at which ``window`` (C, h, w) equals the padded (C, H', W') image's window."""
    h, w = window.shape[1:]
    views = np.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(1, 2))  # (C, I, J, h, w)
    match = (views == window[:, None, None]).all(axis=(0, 3, 4))  # (I, J)
    return [tuple(int(v) for v in ij) for ij in np.argwhere(match)]


def test_random_crop_cifar_recipe_covers_every_offset_and_is_a_window():
    n = 2000  # 81 offsets: the chance that one is never drawn is below 1e-8
    x = _batch(n, c=1, h=32, w=32, seed=3)  # random values: each window is unique
    out = RandomCrop(32, padding=4)(x, np.random.default_rng(0))
    assert out.shape == (n, 1, 32, 32) and out.dtype == np.float32
    padded = np.pad(x, ((0, 0), (0, 0), (4, 4), (4, 4)))
    seen = set()
    for k in range(n):
        hits = _recover_offsets(padded[k], out[k])
        assert len(hits) == 1, f"sample {k}: window not found exactly once: {hits}"
        seen.add(hits[0])
    assert seen == {(i, j) for i in range(9) for j in range(9)}


def test_random_crop_offsets_follow_documented_draws():
    x = _batch(50, c=2, h=10, w=12, seed=4)
    out = RandomCrop((6, 5), padding=1, fill=-1.0)(x, np.random.default_rng(7))
    rng = np.random.default_rng(7)
    i = rng.integers(0, 12 - 6 + 1, size=50)
    j = rng.integers(0, 14 - 5 + 1, size=50)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-1.0)
    for k in range(50):
        np.testing.assert_array_equal(out[k], padded[k, :, i[k]:i[k] + 6, j[k]:j[k] + 5])
    assert (out == -1.0).any()  # the fill value shows at the borders


def test_random_crop_deterministic_for_a_given_rng():
    x = _batch(8)
    t = RandomCrop(28, padding=2)
    a = t(x, np.random.default_rng(5))
    b = t(x, np.random.default_rng(5))
    c = t(x, np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_random_crop_no_padding_same_size_is_identity():
    x = _batch(3, h=5, w=5)
    np.testing.assert_array_equal(RandomCrop(5)(x, np.random.default_rng(0)), x)


def test_random_crop_errors():
    for bad in (dict(size=0), dict(size=(3,)), dict(size=3, padding=-1), dict(size=3, fill=float("inf")),
                dict(size=True)):
        with pytest.raises(ConfigError, match="RandomCrop"):
            RandomCrop(**bad)
    with pytest.raises(ShapeError, match="larger than the padded image"):
        RandomCrop(40, padding=2)(_batch(2), np.random.default_rng(0))
    with pytest.raises(ConfigError, match="rng"):
        RandomCrop(30)(_batch(2), None)
    with pytest.raises(ShapeError, match="RandomCrop"):
        RandomCrop(3)(np.zeros((4, 4, 4), np.float32), np.random.default_rng(0))


# ------------------------------------------------------------------- flip
def test_flip_flips_exactly_the_chosen_samples():
    x = _batch(200, c=2, h=4, w=5)
    out = RandomHorizontalFlip(0.5)(x, np.random.default_rng(11))
    chosen = np.random.default_rng(11).random(200) < 0.5
    assert 0 < chosen.sum() < 200
    np.testing.assert_array_equal(out[chosen], x[chosen][..., ::-1])
    np.testing.assert_array_equal(out[~chosen], x[~chosen])
    assert out is not x


def test_flip_p_extremes_and_errors():
    x = _batch(10)
    np.testing.assert_array_equal(RandomHorizontalFlip(0.0)(x, np.random.default_rng(0)), x)
    np.testing.assert_array_equal(RandomHorizontalFlip(1.0)(x, np.random.default_rng(0)), x[..., ::-1])
    for p in (-0.1, 1.5, True, "0.5"):
        with pytest.raises(ConfigError, match="RandomHorizontalFlip"):
            RandomHorizontalFlip(p)
    with pytest.raises(ConfigError, match="rng"):
        RandomHorizontalFlip()(x, None)


def test_flip_matches_torch():
    torch = pytest.importorskip("torch")
    x = _batch(3)
    np.testing.assert_array_equal(RandomHorizontalFlip(1.0)(x, np.random.default_rng(0)),
                                  torch.flip(torch.from_numpy(x), dims=[3]).numpy())


# ---------------------------------------------------------------- Compose
def test_compose_applies_in_order_with_the_same_rng():
    calls = []

    def rec(name):
        def t(x, rng):
            calls.append((name, rng))
            return x + 1 if name == "add" else x * 2
        return t

    rng = np.random.default_rng(0)
    x = np.ones((1, 1, 1, 1), np.float32)
    assert Compose([rec("add"), rec("mul")])(x, rng).item() == 4.0  # (1 + 1) * 2, not 1 * 2 + 1
    assert Compose([rec("mul"), rec("add")])(x, rng).item() == 3.0
    assert all(r is rng for _, r in calls)
    assert [n for n, _ in calls] == ["add", "mul", "mul", "add"]


def test_compose_cifar_pipeline_deterministic_and_equals_chained_calls():
    u8 = np.random.default_rng(2).integers(0, 256, (16, 32, 32, 3), dtype=np.uint8)
    ts = [ToTensor(), RandomCrop(32, padding=4), RandomHorizontalFlip(), Normalize((0.5,) * 3, (0.25,) * 3)]
    a = Compose(ts)(u8, np.random.default_rng(9))
    b = Compose(ts)(u8, np.random.default_rng(9))
    rng = np.random.default_rng(9)
    c = u8
    for t in ts:
        c = t(c, rng)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert a.shape == (16, 3, 32, 32) and a.dtype == np.float32
    assert Compose([])(u8) is u8


def test_compose_errors():
    with pytest.raises(ConfigError, match="Compose"):
        Compose(ToTensor())
    with pytest.raises(ConfigError, match=r"transforms\[1\]"):
        Compose([ToTensor(), 3])


# ---------------------------------------------------------- CenterCrop / Resize
def test_center_crop_matches_torchvision_rounding():
    x = _batch(2, c=1, h=7, w=10)
    out = CenterCrop((4, 5))(x)
    # torchvision: top = int(round((7 - 4) / 2)) = 2 (round half to even), left = int(round(5 / 2)) = 2
    np.testing.assert_array_equal(out, x[:, :, 2:6, 2:7])
    np.testing.assert_array_equal(CenterCrop(7)(x[:, :, :, :7]), x[:, :, :, :7])


def test_center_crop_pads_a_small_image_like_torchvision():
    x = _batch(1, c=1, h=3, w=4)
    out = CenterCrop((6, 5))(x)
    assert out.shape == (1, 1, 6, 5)
    np.testing.assert_array_equal(out[:, :, 1:4, 0:4], x)  # (6-3)//2 = 1 row above, (5-4)//2 = 0 columns left
    assert out[:, :, 0].sum() == 0 and out[:, :, 4:].sum() == 0 and out[:, :, :, 4].sum() == 0


def test_center_crop_errors():
    with pytest.raises(ConfigError, match="CenterCrop"):
        CenterCrop(0)
    with pytest.raises(DTypeError, match="CenterCrop"):
        CenterCrop(2)(np.zeros((1, 1, 4, 4), np.uint8))


def test_resized_size_follows_torchvision():
    assert resized_size(480, 640, 256) == (256, 341)  # int(256 * 640 / 480) = 341
    assert resized_size(640, 480, 256) == (341, 256)
    assert resized_size(100, 100, 32) == (32, 32)
    assert resized_size(10, 20, (3, 4)) == (3, 4)


def test_resize_matches_pillow_per_channel():
    from PIL import Image

    x = _batch(2, c=3, h=12, w=18)
    out = Resize(6)(x)
    assert out.shape == (2, 3, 6, 9) and out.dtype == np.float32
    ref = np.asarray(Image.fromarray(x[1, 2]).resize((9, 6), Image.BILINEAR))
    np.testing.assert_array_equal(out[1, 2], ref)
    const = np.full((1, 2, 9, 9), 0.25, np.float32)
    np.testing.assert_allclose(Resize((4, 5))(const), 0.25, atol=1e-6)


def test_resize_errors():
    for bad in (0, (3, 0), (1, 2, 3), 2.5):
        with pytest.raises(ConfigError, match="Resize"):
            Resize(bad)
    with pytest.raises(ShapeError, match="Resize"):
        Resize(3)(np.zeros((3, 3), np.float32))


def test_the_loader_augments_each_batch_reproducibly_and_a_resumed_epoch_redraws_the_same_crops():
    from glassnet.data import ArrayDataset, DataLoader
    from glassnet.data.transforms import Compose, RandomCrop, RandomHorizontalFlip

    x = np.random.default_rng(0).random((40, 3, 8, 8), dtype=np.float32)
    y = np.arange(40)

    def loader():
        return DataLoader(ArrayDataset(x, y), batch_size=8, shuffle=True, rng=5,
                          transform=Compose([RandomCrop(8, padding=2), RandomHorizontalFlip()]))

    a = [b for _ in range(2) for b in loader()]  # two passes of a fresh loader: not the same as one loader twice
    one = loader()
    first = [b for b in one] + [b for b in one]
    again = loader()
    second = [b for b in again] + [b for b in again]
    for (xa, ya), (xb, yb) in zip(first, second):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert any(not np.array_equal(xa, x[ya]) for xa, ya in first)  # the images were changed
    assert not all(np.array_equal(p[0], q[0]) for p, q in zip(first[:5], first[5:]))  # a new epoch, new crops
    # interrupted after 2 batches of the second epoch, resumed from the state: the same remaining batches
    cut = loader()
    list(cut)
    it = iter(cut)
    next(it), next(it)
    state = cut.state_dict()
    resumed = loader()
    resumed.load_state_dict(state)
    for (xa, _), (xb, _) in zip(list(resumed), first[7:]):
        np.testing.assert_array_equal(xa, xb)
    assert len(a) == 10
