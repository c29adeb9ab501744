import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet.errors import ConfigError, DTypeError, ShapeError
from glassnet.text import UnigramSampler
from tests.helpers import Case, run_case, torch


def np_ns(h, W, t, neg, reduction="mean"):
    s_pos = (h * W[t]).sum(-1)
    s_neg = np.einsum("ne,nke->nk", h, W[neg])
    l = -np.log(1 / (1 + np.exp(-s_pos))) - np.log(1 / (1 + np.exp(s_neg))).sum(-1)
    return {"mean": l.mean(), "sum": l.sum(), "none": l}[reduction]


def torch_ns(h, W, t, neg, reduction="mean"):
    lsig = torch.nn.functional.logsigmoid
    l = -lsig((h * W[t]).sum(-1)) - lsig(-torch.einsum("ne,nke->nk", h, W[neg])).sum(-1)
    return {"mean": l.mean(), "sum": l.sum(), "none": l}[reduction]


def inputs(r, N=5, E=4, V=7, k=3):
    # a small V makes repeats (a word both target and negative, or drawn twice) certain
    return [r.standard_normal((N, E)), r.standard_normal((V, E)), r.integers(0, V, N), r.integers(0, V, (N, k))]


CASES = [
    Case(f"ns_{red}", lambda h, W, t, n, red=red: F.negative_sampling_loss(h, W, t, n, reduction=red), inputs,
         lambda h, W, t, n, red=red: np_ns(h, W, t, n, red), lambda h, W, t, n, red=red: torch_ns(h, W, t, n, red))
    for red in ("mean", "sum", "none")
] + [
    Case("ns_k1_E1", F.negative_sampling_loss, lambda r: inputs(r, N=1, E=1, V=2, k=1), np_ns, torch_ns),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_op(case):
    run_case(case)


def test_repeated_rows_accumulate():
    h = gn.Tensor(np.ones((2, 1)), requires_grad=True)
    W = gn.Tensor(np.zeros((3, 1)), requires_grad=True)
    F.negative_sampling_loss(h, W, np.array([0, 0]), np.array([[0, 1], [1, 1]]), reduction="sum").backward()
    # at s = 0: dℓ/ds = σ(0) - y = -1/2 for a target, +1/2 for a negative; times h = 1
    np.testing.assert_allclose(W.grad[:, 0], [-0.5 - 0.5 + 0.5, 0.5 * 3, 0.0])


def test_loss_is_finite_for_huge_scores():
    h = np.full((1, 2), 1e3, np.float32)
    W = np.array([[-1e3, -1e3], [1e3, 1e3]], np.float32)
    l = F.negative_sampling_loss(h, W, np.array([0]), np.array([[1]])).item()
    np.testing.assert_allclose(l, 4e6, rtol=1e-6)


def test_unigram_sampler_follows_power_075():
    counts = np.array([100, 10, 1, 0])
    s = UnigramSampler(counts, rng=0)
    expected = counts**0.75 / (counts**0.75).sum()
    np.testing.assert_allclose(s.probs, expected, rtol=1e-12)
    draws = s.sample((200_000,))
    assert draws.dtype == np.int64 and not (draws == 3).any()
    freq = np.bincount(draws, minlength=4) / draws.size
    np.testing.assert_allclose(freq, expected, atol=0.005)
    # same seed, same draws
    np.testing.assert_array_equal(UnigramSampler(counts, rng=0).sample((5, 3)),
                                  UnigramSampler(counts, rng=np.random.default_rng(0)).sample((5, 3)))


def test_bad_inputs_raise_readable_errors():
    h, W = np.ones((2, 3)), np.ones((5, 3))
    t, n = np.array([0, 1]), np.array([[1, 2], [3, 4]])
    with pytest.raises(ShapeError, match=r"W_out must be \(V, E\) with E == 3, got \(5, 2\)"):
        F.negative_sampling_loss(h, np.ones((5, 2)), t, n)
    with pytest.raises(ShapeError, match=r"targets must be \(N,\) with N == 2, got \(3,\)"):
        F.negative_sampling_loss(h, W, np.array([0, 1, 2]), n)
    with pytest.raises(ShapeError, match=r"negatives must be in \[0, V\) with V == 5"):
        F.negative_sampling_loss(h, W, t, np.array([[1, 5], [0, 0]]))
    with pytest.raises(DTypeError, match="targets must be an integer array"):
        F.negative_sampling_loss(h, W, np.array([0.0, 1.0]), n)
    with pytest.raises(ConfigError, match="reduction must be one of mean, sum, none"):
        F.negative_sampling_loss(h, W, t, n, reduction="avg")
    with pytest.raises(ConfigError, match="counts must be finite, non-negative and not all zero"):
        UnigramSampler([0, 0])
    with pytest.raises(ShapeError, match="counts must be a non-empty"):
        UnigramSampler(np.ones((2, 2)))
