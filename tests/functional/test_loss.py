import warnings

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F
from glassnet.errors import ConfigError, DTypeError, ShapeError
from glassnet.testing import gradcheck
from tests.helpers import Case, run_case, torch

tF = torch.nn.functional


# ----------------------------------------------------------------- NumPy references
def np_nll(logits, labels, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    m = logits.max(-1, keepdims=True)
    log_p = logits - m - np.log(np.exp(logits - m).sum(-1, keepdims=True))
    valid = labels != ignore_index
    l = np.zeros(labels.shape)
    k = logits.shape[-1]
    for s in zip(*np.nonzero(valid)):  # cross-entropy against q = (1-ε) onehot + ε/K, term by term
        q = np.full(k, label_smoothing / k)
        q[labels[s]] += 1 - label_smoothing
        l[s] = -(q * log_p[s]).sum()
    if reduction == "none":
        return l
    return l.sum() if reduction == "sum" else l.sum() / valid.sum()


def np_bce(x, t, reduction="mean"):
    p = 1 / (1 + np.exp(-x))
    l = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    return {"none": l, "sum": l.sum(), "mean": l.mean()}[reduction]


def np_kl(mean, ln_var, reduction="sum"):
    # Kingma & Welling (2014), appendix B: -KL = ½ Σ (1 + log σ² - μ² - σ²)
    l = -0.5 * (1 + ln_var - mean**2 - np.exp(ln_var))
    return {"none": l, "sum": l.sum(), "mean": l.mean()}[reduction]


def torch_ce(ignore_index=-100, reduction="mean", label_smoothing=0.0):
    def fn(x, t):
        if x.ndim == 3:  # ours is (N, T, K); torch wants the class axis second: (N, K, T)
            x = x.permute(0, 2, 1)
        return tF.cross_entropy(x, t, ignore_index=ignore_index, reduction=reduction,
                                label_smoothing=label_smoothing)

    return fn


def labels_with_ignored(r, shape, k):
    t = r.integers(0, k, size=shape)
    t[r.random(shape) < 0.3] = -100
    t.reshape(-1)[0] = 0  # at least one counted position
    return t


def ce(ignore_index=-100, reduction="mean", label_smoothing=0.0):
    return lambda x, t: F.softmax_cross_entropy(x, t, ignore_index=ignore_index, reduction=reduction,
                                                label_smoothing=label_smoothing)


def ls_case(name, eps, reduction, shape, k, ignore_index=-100):
    """Label smoothing ε against the term-by-term NumPy sum and torch's ``label_smoothing``."""
    def inputs(r):
        t = labels_with_ignored(r, shape, k)
        if ignore_index != -100:
            t[t == -100] = ignore_index
        return [r.standard_normal((*shape, k)) * 2, t]
    return Case(name, ce(ignore_index, reduction, eps), inputs,
                lambda x, t: np_nll(x, t, ignore_index, reduction, eps), torch_ce(ignore_index, reduction, eps))


CASES = [
    Case(
        "mse",
        F.mean_squared_error,
        lambda r: [r.standard_normal((4, 3)), r.standard_normal((4, 3))],
        lambda y, t: np.mean((y - t) ** 2),
        tF.mse_loss,
    ),
    Case("mse_size1", F.mean_squared_error, lambda r: [r.standard_normal((1,)), r.standard_normal((1,))],
         lambda y, t: np.mean((y - t) ** 2), tF.mse_loss),
    Case("mse_size0", F.mean_squared_error, lambda r: [np.zeros((0, 3)), np.zeros((0, 3))], lambda y, t: 0.0),
    Case("ce_mean", ce(), lambda r: [r.standard_normal((5, 4)) * 2, r.integers(0, 4, 5)], np_nll, torch_ce()),
    Case(
        "ce_ignore_mean",
        ce(),
        lambda r: [r.standard_normal((6, 3)), labels_with_ignored(r, (6,), 3)],
        np_nll,
        torch_ce(),
    ),
    Case(
        "ce_sum",
        ce(reduction="sum"),
        lambda r: [r.standard_normal((6, 3)), labels_with_ignored(r, (6,), 3)],
        lambda x, t: np_nll(x, t, reduction="sum"),
        torch_ce(reduction="sum"),
    ),
    Case(
        "ce_none",
        ce(reduction="none"),
        lambda r: [r.standard_normal((6, 3)), labels_with_ignored(r, (6,), 3)],
        lambda x, t: np_nll(x, t, reduction="none"),
        torch_ce(reduction="none"),
    ),
    Case(
        "ce_sequence_mean",
        ce(),
        lambda r: [r.standard_normal((2, 4, 5)), labels_with_ignored(r, (2, 4), 5)],
        np_nll,
        torch_ce(),
    ),
    Case(
        "ce_sequence_none",
        ce(reduction="none"),
        lambda r: [r.standard_normal((2, 3, 5)), labels_with_ignored(r, (2, 3), 5)],
        lambda x, t: np_nll(x, t, reduction="none"),
        torch_ce(reduction="none"),
    ),
    Case(
        "ce_custom_ignore_index",
        ce(ignore_index=0),
        lambda r: [r.standard_normal((6, 4)), np.array([0, 1, 2, 3, 0, 1])],
        lambda x, t: np_nll(x, t, ignore_index=0),
        torch_ce(ignore_index=0),
    ),
    Case("ce_size1", ce(), lambda r: [r.standard_normal((1, 1)), np.array([0])], np_nll, torch_ce()),
    Case("ce_size0_none", ce(reduction="none"), lambda r: [np.zeros((0, 3)), np.zeros(0, np.int64)],
         lambda x, t: np.zeros(0), torch_ce(reduction="none")),
    Case("ce_size0_mean", ce(), lambda r: [np.zeros((0, 3)), np.zeros(0, np.int64)], lambda x, t: 0.0),
    ls_case("ce_smooth_mean", 0.1, "mean", (7,), 5),
    ls_case("ce_smooth_sum", 0.25, "sum", (6,), 4),
    ls_case("ce_smooth_none_sequence", 0.1, "none", (2, 4), 6),
    ls_case("ce_smooth_sequence_ignore0", 0.2, "mean", (3, 4), 5, ignore_index=0),
    ls_case("ce_smooth_full", 1.0, "mean", (5,), 3),
    Case(
        "bce_mean",
        F.binary_cross_entropy_with_logits,
        lambda r: [r.standard_normal((4, 3)) * 3, r.uniform(0, 1, (4, 3))],
        np_bce,
        tF.binary_cross_entropy_with_logits,
    ),
    Case(
        "bce_sum",
        lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction="sum"),
        lambda r: [r.standard_normal((5,)), r.integers(0, 2, 5).astype(float)],
        lambda x, t: np_bce(x, t, "sum"),
        lambda x, t: tF.binary_cross_entropy_with_logits(x, t, reduction="sum"),
    ),
    Case(
        "bce_none",
        lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction="none"),
        lambda r: [r.standard_normal((2, 3)), r.uniform(0, 1, (2, 3))],
        lambda x, t: np_bce(x, t, "none"),
        lambda x, t: tF.binary_cross_entropy_with_logits(x, t, reduction="none"),
    ),
    Case("bce_size1", F.binary_cross_entropy_with_logits,
         lambda r: [r.standard_normal((1, 1)), r.uniform(0, 1, (1, 1))], np_bce, tF.binary_cross_entropy_with_logits),
    Case("bce_size0_none", lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction="none"),
         lambda r: [np.zeros((0, 2)), np.zeros((0, 2))], lambda x, t: np.zeros((0, 2)),
         lambda x, t: tF.binary_cross_entropy_with_logits(x, t, reduction="none")),
    Case("kl_sum", F.gaussian_kl_divergence, lambda r: [r.standard_normal((4, 3)), r.standard_normal((4, 3))], np_kl),
    Case(
        "kl_mean",
        lambda m, v: F.gaussian_kl_divergence(m, v, reduction="mean"),
        lambda r: [r.standard_normal((4, 3)), r.standard_normal((4, 3))],
        lambda m, v: np_kl(m, v, "mean"),
    ),
    Case(
        "kl_none",
        lambda m, v: F.gaussian_kl_divergence(m, v, reduction="none"),
        lambda r: [r.standard_normal((2, 5)), r.standard_normal((2, 5))],
        lambda m, v: np_kl(m, v, "none"),
    ),
    Case("kl_size1", F.gaussian_kl_divergence, lambda r: [r.standard_normal((1, 1)), r.standard_normal((1, 1))], np_kl),
    Case("kl_size0", F.gaussian_kl_divergence, lambda r: [np.zeros((0, 4)), np.zeros((0, 4))], lambda m, v: 0.0),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_op(case):
    run_case(case)


# ----------------------------------------------------------------- cross-entropy pitfalls
def test_ce_minus_inf_logit_on_wrong_class_is_finite_with_zero_gradient():
    x = gn.Tensor(np.array([[2.0, -np.inf, 0.5], [-np.inf, 1.0, 0.0]]), requires_grad=True)
    labels = np.array([0, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.softmax_cross_entropy(x, labels)
        loss.backward()
    assert np.isfinite(loss.item())
    expected = np_nll(np.array([[2.0, -1e300, 0.5], [-1e300, 1.0, 0.0]]), labels)
    assert loss.item() == pytest.approx(expected, rel=1e-14)
    assert np.all(np.isfinite(x.grad))
    assert x.grad[0, 1] == 0.0 and x.grad[1, 0] == 0.0
    # torch agrees on value and gradient
    xt = torch.tensor(x.data, requires_grad=True)
    lt = tF.cross_entropy(xt, torch.from_numpy(labels))
    lt.backward()
    assert loss.item() == pytest.approx(lt.item(), rel=1e-14)
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ce_all_ignored_gives_zero_loss_and_zero_gradient(reduction):
    x = gn.Tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    labels = np.full(3, -100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0/0 warning either
        loss = F.softmax_cross_entropy(x, labels, reduction=reduction)
        loss.backward(np.ones(loss.shape))
    np.testing.assert_array_equal(loss.data, np.zeros(loss.shape))
    np.testing.assert_array_equal(x.grad, np.zeros((3, 4)))


def test_ce_gradient_is_softmax_minus_onehot_over_count():
    rng = np.random.default_rng(1)
    x = gn.Tensor(rng.standard_normal((5, 3)), requires_grad=True)
    labels = np.array([2, -100, 0, 1, -100])
    F.softmax_cross_entropy(x, labels).backward()
    p = np.exp(x.data) / np.exp(x.data).sum(1, keepdims=True)
    expected = (p - np.eye(3)[np.where(labels >= 0, labels, 0)]) / 3
    expected[labels < 0] = 0
    np.testing.assert_allclose(x.grad, expected, rtol=1e-13, atol=1e-16)


def test_ce_huge_logits_are_finite():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]], dtype=np.float32)
    loss = F.softmax_cross_entropy(gn.Tensor(x, requires_grad=True), np.array([1, 1]))
    assert loss.dtype == np.float32
    assert loss.item() == pytest.approx(1e4, rel=1e-6)  # (2e4 + 0) / 2


def test_ce_float32_stays_float32_and_uint8_labels_work():
    x = gn.Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    loss = F.softmax_cross_entropy(x, np.array([0, 2], np.uint8))
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32
    assert loss.item() == pytest.approx(np.log(3), rel=1e-6)


def test_bce_extreme_logits_are_finite():
    x = np.array([-1000.0, -50.0, 50.0, 1000.0])
    t = np.array([1.0, 1.0, 0.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        l = F.binary_cross_entropy_with_logits(x, t, reduction="none").data
    np.testing.assert_allclose(l, [1000.0, 50.0, 50.0, 1000.0], rtol=1e-15)
    np.testing.assert_allclose(l, tF.binary_cross_entropy_with_logits(
        torch.tensor(x), torch.tensor(t), reduction="none").numpy(), rtol=1e-15)


def test_kl_is_zero_at_the_prior_and_matches_chainer_formula():
    m, v = np.zeros((2, 3)), np.zeros((2, 3))
    assert F.gaussian_kl_divergence(m, v).item() == 0.0
    # one dimension with μ = 1, σ² = e: ½ (1 + e - 1 - 1)
    assert F.gaussian_kl_divergence(np.array([1.0]), np.array([1.0])).item() == pytest.approx(0.5 * (np.e - 1))
    # KL(N(μ, σ²) || N(0, 1)) equals torch.distributions' closed form
    rng = np.random.default_rng(2)
    mu, lv = rng.standard_normal(5), rng.standard_normal(5)
    ref = torch.distributions.kl_divergence(
        torch.distributions.Normal(torch.tensor(mu), torch.tensor(np.exp(0.5 * lv))),
        torch.distributions.Normal(torch.zeros(5, dtype=torch.float64), torch.ones(5, dtype=torch.float64)),
    ).sum().item()
    assert F.gaussian_kl_divergence(mu, lv).item() == pytest.approx(ref, rel=1e-12)


def test_gradcheck_with_labels_passed_as_tensor():
    rng = np.random.default_rng(4)
    gradcheck(ce(), [rng.standard_normal((3, 2, 4)), rng.integers(0, 4, (3, 2))])


# ----------------------------------------------------------------- bad input
def test_mse_bad_input():
    with pytest.raises(ShapeError, match=r"mean_squared_error: t must have the shape of y \(4, 1\), got \(4,\)"):
        F.mean_squared_error(np.ones((4, 1)), np.ones(4))
    with pytest.raises(DTypeError, match="mean_squared_error: t must be a float array"):
        F.mean_squared_error(np.ones(3), np.arange(3))
    with pytest.raises(DTypeError, match="mix float dtypes"):
        F.mean_squared_error(np.ones(3, np.float32), np.ones(3))


def test_ce_label_smoothing_zero_is_the_plain_loss_bit_for_bit():
    r = np.random.default_rng(3)
    x, t = r.standard_normal((4, 6, 9)), r.integers(0, 9, (4, 6))
    a, b = gn.Tensor(x, requires_grad=True), gn.Tensor(x, requires_grad=True)
    la, lb = F.softmax_cross_entropy(a, t), F.softmax_cross_entropy(b, t, label_smoothing=0.0)
    la.backward()
    lb.backward()
    assert la.item() == lb.item() and np.array_equal(a.grad, b.grad)


def test_ce_label_smoothing_gradient_is_softmax_minus_smoothed_target():
    x = gn.Tensor(np.array([[1.0, 2.0, 0.0, -1.0]]), requires_grad=True)
    F.softmax_cross_entropy(x, np.array([2]), label_smoothing=0.2).backward()
    p = np.exp(x.data) / np.exp(x.data).sum()
    q = np.array([[0.05, 0.05, 0.85, 0.05]])
    np.testing.assert_allclose(x.grad, p - q, rtol=0, atol=1e-15)


@pytest.mark.parametrize("eps", [-0.1, 1.5, float("nan"), "0.1", True])
def test_ce_bad_label_smoothing(eps):
    with pytest.raises(ConfigError, match="label_smoothing"):
        F.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1]), label_smoothing=eps)


def test_ce_bad_input():
    x = np.zeros((4, 3))
    msg = r"labels must have shape logits.shape\[:-1\].* got logits \(4, 3\) and labels \(3,\)"
    with pytest.raises(ShapeError, match=msg):
        F.softmax_cross_entropy(x, np.zeros(3, np.int64))
    with pytest.raises(ShapeError, match=r"softmax_cross_entropy: labels must be in \[0, K\) with K == 3 .* got 3"):
        F.softmax_cross_entropy(x, np.array([0, 1, 2, 3]))
    with pytest.raises(ShapeError, match=r"got -1"):
        F.softmax_cross_entropy(x, np.array([0, -1, 2, 1]))
    with pytest.raises(DTypeError, match="labels must be an integer array of class indices, got dtype float64"):
        F.softmax_cross_entropy(x, np.zeros(4))
    with pytest.raises(DTypeError, match="logits must be a float array"):
        F.softmax_cross_entropy(np.zeros((4, 3), np.int64), np.zeros(4, np.int64))
    with pytest.raises(ConfigError, match="reduction must be one of 'mean', 'sum', 'none', got 'avg'"):
        F.softmax_cross_entropy(x, np.zeros(4, np.int64), reduction="avg")


def test_bce_bad_input():
    with pytest.raises(ShapeError, match=r"binary_cross_entropy_with_logits: targets must have the shape of logits"):
        F.binary_cross_entropy_with_logits(np.zeros((3, 1)), np.zeros(3))
    with pytest.raises(DTypeError, match="targets must be a float array"):
        F.binary_cross_entropy_with_logits(np.zeros(3), np.zeros(3, np.int64))
    with pytest.raises(ConfigError, match="reduction must be one of"):
        F.binary_cross_entropy_with_logits(np.zeros(3), np.zeros(3), reduction="max")


def test_kl_bad_input():
    msg = r"gaussian_kl_divergence: ln_var must have the shape of mean \(2, 3\), got \(3,\)"
    with pytest.raises(ShapeError, match=msg):
        F.gaussian_kl_divergence(np.zeros((2, 3)), np.zeros(3))
    with pytest.raises(ConfigError, match="gaussian_kl_divergence: reduction must be one of"):
        F.gaussian_kl_divergence(np.zeros(3), np.zeros(3), reduction="batchmean")


def test_ce_ignored_row_of_only_minus_inf_has_zero_gradient_and_no_warning():
    x = gn.Tensor(np.array([[1.0, 2.0, 3.0], [-np.inf, -np.inf, -np.inf]]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.softmax_cross_entropy(x, np.array([0, -100]))
        loss.backward()
    p = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    assert abs(loss.item() + np.log(p[0])) < 1e-15
    np.testing.assert_allclose(x.grad[0], p - [1, 0, 0], rtol=0, atol=1e-15)
    assert np.array_equal(x.grad[1], np.zeros(3))
