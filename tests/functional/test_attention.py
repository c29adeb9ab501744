import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet.errors import ConfigError, DTypeError, ShapeError
from glassnet.testing import gradcheck
from tests.helpers import Case, run_case, torch


def np_masked_softmax(x, mask):
    s = np.where(mask, x, -np.inf)
    m = s.max(-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    e = np.exp(s - m)
    z = e.sum(-1, keepdims=True)
    return e / np.where(z > 0, z, 1)


def make_mask(rng, N, Tq, S):
    """A (N, Tq, S) mask with a fully masked row in the first batch item and a fully open one elsewhere."""
    mask = rng.random((N, Tq, S)) < 0.6
    mask[0, 0] = False  # every position masked: weights must be 0, not NaN
    mask[-1, -1] = True
    return mask


def torch_masked_softmax(x, mask):
    # explicit composition: masked positions at -inf, fully masked rows zeroed (torch would give NaN)
    empty = ~mask.any(-1, keepdim=True)
    s = x.masked_fill(~mask, float("-inf")).masked_fill(empty, 0.0)
    return torch.softmax(s, -1) * mask


def torch_dot_attention(q, k, v, mask, scale=1.0):
    a = torch_masked_softmax(q @ k.transpose(-1, -2) * scale, mask)
    return a @ v, a


def qkv(rng, N=3, Tq=4, S=5, H=6, Hv=2):
    return [rng.standard_normal((N, Tq, H)), rng.standard_normal((N, S, H)), rng.standard_normal((N, S, Hv)),
            make_mask(rng, N, Tq, S)]


CASES = [
    Case("masked_softmax", F.masked_softmax, lambda r: [r.standard_normal((3, 4, 5)), make_mask(r, 3, 4, 5)],
         np_masked_softmax, torch_masked_softmax),
    Case("masked_softmax_keypad", lambda x, m: F.masked_softmax(x, m[:, None, :]),
         lambda r: [r.standard_normal((2, 3, 4)), np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)],
         lambda x, m: np_masked_softmax(x, m[:, None, :]), lambda x, m: torch_masked_softmax(x, m[:, None, :])),
    Case("softmax_nomask", lambda x: F.masked_softmax(x), lambda r: [r.standard_normal((2, 7))],
         lambda x: np_masked_softmax(x, np.ones_like(x, bool)), lambda x: torch.softmax(x, -1)),
    Case("dot_score", F.dot_score, lambda r: [r.standard_normal((2, 3, 4)), r.standard_normal((2, 5, 4))],
         lambda q, k: q @ k.transpose(0, 2, 1), lambda q, k: q @ k.transpose(-1, -2)),
    Case("dot_score_sqrt", lambda q, k: F.dot_score(q, k, scale="sqrt"),
         lambda r: [r.standard_normal((2, 3, 4)), r.standard_normal((2, 5, 4))],
         lambda q, k: q @ k.transpose(0, 2, 1) / 2, lambda q, k: q @ k.transpose(-1, -2) / 2),
    Case("general_score", F.general_score,
         lambda r: [r.standard_normal((2, 3, 4)), r.standard_normal((2, 5, 6)), r.standard_normal((4, 6))],
         lambda q, k, W: q @ W @ k.transpose(0, 2, 1), lambda q, k, W: q @ W @ k.transpose(-1, -2)),
    Case("additive_score", F.additive_score,
         lambda r: [r.standard_normal((2, 3, 4)), r.standard_normal((2, 5, 6)), r.standard_normal((4, 7)),
                    r.standard_normal((6, 7)), r.standard_normal(7)],
         lambda q, k, Wq, Wk, v: np.tanh((q @ Wq)[:, :, None] + (k @ Wk)[:, None]) @ v,
         lambda q, k, Wq, Wk, v: torch.tanh((q @ Wq)[:, :, None] + (k @ Wk)[:, None]) @ v),
    Case("additive_score_Tq1", F.additive_score,
         lambda r: [r.standard_normal((1, 1, 3)), r.standard_normal((1, 1, 3)), r.standard_normal((3, 2)),
                    r.standard_normal((3, 2)), r.standard_normal(2)],
         lambda q, k, Wq, Wk, v: np.tanh((q @ Wq)[:, :, None] + (k @ Wk)[:, None]) @ v),
    Case("context_vectors", F.context_vectors,
         lambda r: [r.random((2, 3, 4)), r.standard_normal((2, 4, 5))], np.matmul, lambda a, v: a @ v),
    Case("dot_attention", F.dot_attention, lambda r: qkv(r),
         lambda q, k, v, m: (np_masked_softmax(q @ k.transpose(0, 2, 1), m) @ v,
                             np_masked_softmax(q @ k.transpose(0, 2, 1), m)),
         torch_dot_attention),
    Case("dot_attention_scaled", lambda q, k, v, m: F.dot_attention(q, k, v, m, scale=0.5), lambda r: qkv(r),
         None, lambda q, k, v, m: torch_dot_attention(q, k, v, m, 0.5)),
    Case("dot_attention_keypad_S1", F.dot_attention,
         lambda r: [r.standard_normal((2, 3, 4)), r.standard_normal((2, 1, 4)), r.standard_normal((2, 1, 3)),
                    np.array([[True], [False]])], None,
         lambda q, k, v, m: torch_dot_attention(q, k, v, m[:, None, :])),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_op(case):
    run_case(case)


def test_fully_masked_row_gives_zero_weights_context_and_gradient():
    rng = np.random.default_rng(0)
    q, k, v = (gn.Tensor(rng.standard_normal(s), requires_grad=True) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 3)))
    mask = np.ones((2, 5), bool)
    mask[1] = False  # the second sequence has no valid key at all
    c, a = F.dot_attention(q, k, v, mask)
    assert np.isfinite(c.data).all() and np.isfinite(a.data).all()
    assert (a.data[1] == 0).all() and (c.data[1] == 0).all()
    np.testing.assert_allclose(a.data[0].sum(-1), 1.0, rtol=1e-12)
    (c.sum() + a.sum()).backward()
    assert (q.grad[1] == 0).all() and (k.grad[1] == 0).all() and (v.grad[1] == 0).all()
    assert np.isfinite(q.grad).all()


def test_masked_positions_get_no_weight_even_with_huge_scores():
    x = np.array([[1e4, 0.0, -1e4, 5.0]], dtype=np.float32)
    y = F.masked_softmax(x, np.array([[False, True, True, True]])).data
    assert y[0, 0] == 0 and np.isfinite(y).all()
    np.testing.assert_allclose(y.sum(), 1.0, rtol=1e-6)


def test_dot_attention_equals_composition():
    rng = np.random.default_rng(1)
    q, k, v, m = qkv(rng)
    fused = F.dot_attention(q, k, v, m, scale="sqrt")
    composed_a = F.masked_softmax(F.dot_score(q, k, scale="sqrt"), m)
    np.testing.assert_allclose(fused[1].data, composed_a.data, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fused[0].data, F.context_vectors(composed_a, v).data, rtol=1e-12, atol=1e-15)


def test_dot_attention_matches_torch_sdpa_without_fully_masked_rows():
    rng = np.random.default_rng(2)
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 6))
    mask = np.ones((2, 3, 5), bool)
    mask[0, :, 3:] = False
    c, _ = F.dot_attention(q, k, v, mask, scale="sqrt")
    ref = torch.nn.functional.scaled_dot_product_attention(*(torch.tensor(a) for a in (q, k, v)),
                                                           attn_mask=torch.tensor(mask))
    np.testing.assert_allclose(c.data, ref.numpy(), rtol=1e-10, atol=1e-12)


def test_length_mask():
    np.testing.assert_array_equal(F.length_mask(np.array([2, 0, 3]), 3),
                                  [[1, 1, 0], [0, 0, 0], [1, 1, 1]])
    with pytest.raises(ShapeError, match=r"length_mask: lengths must be in \[0, S\] with S == 3"):
        F.length_mask(np.array([4]), 3)


def test_gradcheck_general_with_mask():
    rng = np.random.default_rng(3)
    m = make_mask(rng, 2, 3, 4)
    gradcheck(lambda q, k, W: F.masked_softmax(F.general_score(q, k, W), m),
              [rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 5)), rng.standard_normal((4, 5))])


def test_bad_inputs_raise_readable_errors():
    q, k, v = np.ones((2, 3, 4)), np.ones((2, 5, 4)), np.ones((2, 5, 6))
    with pytest.raises(ShapeError, match=r"dot_attention: k must be \(N, T, H\) with H == 4, got \(2, 5, 3\)"):
        F.dot_attention(q, np.ones((2, 5, 3)), v)
    with pytest.raises(ShapeError, match=r"dot_attention: v must be \(N, S, Hv\) with \(N, S\) == \(2, 5\)"):
        F.dot_attention(q, k, np.ones((2, 4, 6)))
    with pytest.raises(DTypeError, match="mask must be a bool array"):
        F.dot_attention(q, k, v, mask=np.ones((2, 5)))
    with pytest.raises(ShapeError, match=r"mask must be \(N, S\) or broadcastable to \(N, Tq, S\)"):
        F.dot_attention(q, k, v, mask=np.ones((2, 4), bool))
    with pytest.raises(ConfigError, match="scale must be None, 'sqrt' or a finite number"):
        F.dot_attention(q, k, v, scale="half")
    with pytest.raises(ShapeError, match=r"masked_softmax: mask must broadcast to x's shape"):
        F.masked_softmax(np.ones((2, 3)), np.ones((3, 3), bool))
    with pytest.raises(DTypeError, match="masked_softmax: x must be a float array"):
        F.masked_softmax(np.ones((2, 3), int))
    with pytest.raises(ShapeError, match=r"general_score: W must be \(H, Hk\) == \(4, 4\), got \(4, 3\)"):
        F.general_score(q, k, np.ones((4, 3)))
    with pytest.raises(ShapeError, match=r"additive_score: W_k must be \(Hk, A\) == \(4, 7\), got \(3, 7\)"):
        F.additive_score(q, k, np.ones((4, 7)), np.ones((3, 7)), np.ones(7))
    with pytest.raises(ShapeError, match="q and k must have the same batch size N, got 2 and 1"):
        F.dot_score(q, np.ones((1, 5, 4)))
    with pytest.raises(ShapeError, match=r"context_vectors: values must be \(N, S, Hv\)"):
        F.context_vectors(np.ones((2, 3, 5)), np.ones((2, 4, 6)))
