"""The fast word2vec step's internals: shared loss/δ, reused scratch arrays, id checks."""

import numpy as np
import pytest

from glassnet.errors import ShapeError
from glassnet.zoo.word2vec import Word2Vec, _scores_loss_grad, sgd_step


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scores_loss_grad_matches_softplus_and_sigmoid(dtype):
    rng = np.random.default_rng(0)
    s = (rng.standard_normal((50, 4)) * 6).astype(dtype)
    s[0] = [-1000, 1000, -1000, 100]  # saturated scores: finite loss, exact δ
    loss, ds = _scores_loss_grad(s)
    s64 = s.astype(np.float64)
    want = np.logaddexp(0, -s64[:, 0]).sum() + np.logaddexp(0, s64[:, 1:]).sum()
    assert loss == pytest.approx(want, rel=1e-6 if dtype == np.float32 else 1e-12)
    y = np.zeros_like(s64)
    y[:, 0] = 1
    assert ds.dtype == dtype
    np.testing.assert_allclose(ds, 0.5 * (1 + np.tanh(s64 / 2)) - y, rtol=1e-6 if dtype == np.float32 else 1e-12,
                               atol=1e-7 if dtype == np.float32 else 1e-15)
    np.testing.assert_array_equal(ds[0], [-1, 1, 0, 1])


@pytest.mark.parametrize("mode", ["skipgram", "cbow"])
def test_workspace_steps_equal_fresh_steps(mode):
    """A run's reused scratch arrays (a larger batch, then a smaller one) give the same updates as fresh arrays."""
    rng = np.random.default_rng(3)
    V, E, C, k = 9, 4, 3, 2
    a = Word2Vec(V, E, mode, rng=1)
    a.W_out.data[...] = rng.standard_normal((V, E)).astype(np.float32)
    b = Word2Vec(V, E, mode, rng=1)
    b.W_out.data[...] = a.W_out.data
    workspace = {}
    for N in (8, 3, 8):
        inputs = rng.integers(0, V, N) if mode == "skipgram" else rng.integers(0, V, (N, C))
        mask = None if mode == "skipgram" else rng.random((N, C)) < 0.7
        targets, negatives = rng.integers(0, V, N), rng.integers(0, V, (N, k))
        la = sgd_step(a, inputs, targets, negatives, 0.1, mask, workspace=workspace)
        lb = sgd_step(b, inputs, targets, negatives, 0.1, mask)
        assert la == lb
        np.testing.assert_array_equal(a.W_in.data, b.W_in.data)
        np.testing.assert_array_equal(a.W_out.data, b.W_out.data)
    assert workspace and all(buf.dtype == np.float32 for buf in workspace.values())


def test_sgd_step_rejects_out_of_range_ids():
    m = Word2Vec(5, 2)
    ok = np.array([0, 1])
    with pytest.raises(ShapeError, match=r"sgd_step: targets must hold ids in \[0, 5\), got ids 1..5"):
        sgd_step(m, ok, np.array([1, 5]), np.array([[2], [3]]), 0.1)
    with pytest.raises(ShapeError, match=r"sgd_step: negatives must hold ids in \[0, 5\), got ids -1..3"):
        sgd_step(m, ok, ok, np.array([[-1], [3]]), 0.1)
    with pytest.raises(ShapeError, match=r"sgd_step: inputs must hold ids in \[0, 5\), got ids 0..7"):
        sgd_step(m, np.array([0, 7]), ok, np.array([[2], [3]]), 0.1)
