"""Ensembles: voting by hand, weights, K-fold and bootstrap indices, stacking without leaks, snapshots, disagreement."""

import numpy as np
import pytest

from glassnet import optim
from glassnet.data import ArrayDataset, DataLoader
from glassnet.errors import ConfigError, DTypeError, ShapeError
from glassnet.train import (
    Stacking,
    Trainer,
    bootstrap_indices,
    disagreement_matrix,
    disagreement_rate,
    error_rate,
    hard_vote,
    kfold_splits,
    member_probabilities,
    out_of_fold_probabilities,
    snapshot_ensemble,
    soft_vote,
    weighted_average,
)
from glassnet.zoo import MLP


def test_hard_vote_majority_and_ties_to_the_lowest_id():
    preds = [[2, 0, 1, 3, 1],
             [2, 1, 0, 3, 2],
             [1, 1, 2, 0, 3]]
    # majority 2; majority 1; three-way tie 0/1/2 -> 0; majority 3; three-way tie 1/2/3 -> 1
    np.testing.assert_array_equal(hard_vote(preds), [2, 1, 0, 3, 1])
    np.testing.assert_array_equal(hard_vote([[4, 1], [3, 2]]), [3, 1])  # two members that disagree: the smaller id
    assert hard_vote([[0]], num_classes=5).dtype == np.int64


def test_soft_vote_is_the_mean_and_differs_from_hard_voting():
    p = np.array([[[0.6, 0.4]], [[0.6, 0.4]], [[0.0, 1.0]]])  # (M=3, N=1, K=2)
    np.testing.assert_allclose(soft_vote(p), [[0.4, 0.6]], rtol=0, atol=1e-15)
    assert hard_vote(p.argmax(-1)) == [0] and soft_vote(p).argmax(-1) == [1]  # the confident member outweighs two
    rng = np.random.default_rng(0)
    q = rng.dirichlet(np.ones(4), size=(5, 7)).astype(np.float32)
    out = soft_vote(q)
    assert out.dtype == np.float32 and out.shape == (7, 4)
    np.testing.assert_array_equal(out, q.mean(axis=0))


def test_weighted_average():
    p = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    np.testing.assert_allclose(weighted_average(p, [3, 1]), [[0.75, 0.25]], rtol=0, atol=1e-15)
    np.testing.assert_allclose(weighted_average(p, [0, 2]), [[0.0, 1.0]], rtol=0, atol=0)
    q = np.random.default_rng(1).dirichlet(np.ones(3), size=(4, 6))
    np.testing.assert_allclose(weighted_average(q, np.ones(4) * 7), soft_vote(q), rtol=1e-14)


@pytest.mark.parametrize("weights, error, message", [
    ([1.0, np.nan], ConfigError, "weights must be finite"),
    ([1.0, np.inf], ConfigError, "weights must be finite"),
    ([1.0, -0.5], ConfigError, r"weights must be >= 0, got \[1.0, -0.5\]"),
    ([0.0, 0.0], ConfigError, "weights must sum to > 0"),
    ([1.0, 1.0, 1.0], ShapeError, r"weights must be \(M,\) with M = 2 members, got shape \(3,\)"),
])
def test_weights_are_checked(weights, error, message):
    p = np.full((2, 3, 2), 0.5)
    with pytest.raises(error, match=message):
        weighted_average(p, weights)


@pytest.mark.parametrize("probs, error, message", [
    (np.full((3, 2), 0.5), ShapeError, r"probs must be \(M, N, K\).*got shape \(3, 2\)"),
    (np.zeros((0, 3, 2)), ShapeError, r"got shape \(0, 3, 2\)"),
    (np.ones((2, 3, 2), dtype=np.int64), DTypeError, "probs must be float probabilities, got dtype int64"),
    (np.full((2, 3, 2), 2.0), ConfigError, "must sum to 1 .*apply softmax to logits"),
    (np.array([[[1.5, -0.5]]]), ConfigError, "finite and >= 0"),
    (np.array([[[np.nan, 1.0]]]), ConfigError, "finite and >= 0"),
])
def test_bad_probabilities_raise_readable_errors(probs, error, message):
    with pytest.raises(error, match=message):
        soft_vote(probs)


def test_bad_predictions_raise_readable_errors():
    with pytest.raises(ShapeError, match=r"hard_vote: predictions must be \(M, N\) class ids, got shape \(3,\)"):
        hard_vote([0, 1, 2])
    with pytest.raises(DTypeError, match="integer class ids, got dtype float64"):
        hard_vote([[0.5, 1.0]])
    with pytest.raises(ConfigError, match="class ids >= 0, got -1"):
        hard_vote([[0, -1]])
    with pytest.raises(ConfigError, match="class ids must be < num_classes = 2, got 3"):
        hard_vote([[0, 3]], num_classes=2)
    with pytest.raises(ShapeError, match=r"same N >= 1, got \(3,\) and \(2,\)"):
        disagreement_rate([0, 1, 2], [0, 1])
    with pytest.raises(ShapeError, match="error_rate"):
        error_rate(np.zeros((3, 2)), [0, 1])


def test_kfold_uses_sklearn_and_covers_each_sample_once():
    from sklearn.model_selection import StratifiedKFold

    y = np.repeat([0, 1, 2], [10, 20, 30])
    folds = kfold_splits(y, 5, seed=4)
    ref = list(StratifiedKFold(5, shuffle=True, random_state=4).split(np.zeros(60), y))
    for (tr, va), (rtr, rva) in zip(folds, ref, strict=True):
        np.testing.assert_array_equal(tr, rtr)
        np.testing.assert_array_equal(va, rva)
        assert np.intersect1d(tr, va).size == 0 and np.bincount(y[va]).tolist() == [2, 4, 6]  # stratified
    np.testing.assert_array_equal(np.sort(np.concatenate([va for _, va in folds])), np.arange(60))
    plain = kfold_splits(y, 3, stratified=False, seed=4)
    assert [len(va) for _, va in plain] == [20, 20, 20]
    with pytest.raises(ConfigError, match="n_splits must be an int >= 2, got 1"):
        kfold_splits(y, 1)
    with pytest.raises(ConfigError, match="rarest class's 10 samples, got 11"):
        kfold_splits(y, 11)


def test_bagging_is_reproducible_and_draws_with_replacement():
    a, b = bootstrap_indices(1000, 4, rng=7), bootstrap_indices(1000, 4, rng=7)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (4, 1000) and a.dtype == np.int64 and a.min() >= 0 and a.max() < 1000
    assert not np.array_equal(a[0], a[1]) and not np.array_equal(a, bootstrap_indices(1000, 4, rng=8))
    unique = np.array([len(np.unique(row)) for row in a])
    assert (unique < 1000).all()  # with replacement: repeats, so some samples are out of bag
    np.testing.assert_allclose(unique / 1000, 1 - np.exp(-1), atol=0.04)  # E[share drawn] = 1 - (1 - 1/N)^N
    with pytest.raises(ConfigError, match="n_members must be an int >= 1"):
        bootstrap_indices(10, 0)


def test_disagreement_by_hand():
    assert disagreement_rate([0, 1, 2, 3], [0, 1, 2, 3]) == 0.0
    assert disagreement_rate([0, 1, 2, 3], [0, 2, 2, 0]) == 0.5
    assert disagreement_rate([1, 1], [0, 0]) == 1.0
    d = disagreement_matrix([[0, 1, 2, 3], [0, 2, 2, 0], [1, 1, 1, 1]])
    np.testing.assert_array_equal(d, [[0, 0.5, 0.75], [0.5, 0, 1.0], [0.75, 1.0, 0]])
    assert error_rate([[0.9, 0.1], [0.2, 0.8]], [0, 0]) == 0.5 and error_rate([1, 1], [1, 0]) == 0.5


def memoriser(x_train, y_train, x_pred):
    """A member that looks each sample up in its training set (1-nearest neighbour): perfect in fold, blind out."""
    d = ((x_pred[:, None, :] - x_train[None, :, :]) ** 2).sum(-1)  # (N', N)
    probs = np.full((len(x_pred), 3), 0.0)
    probs[np.arange(len(x_pred)), y_train[d.argmin(1)]] = 1.0
    return probs


def test_stacking_uses_only_out_of_fold_predictions():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(150, 5)), rng.permutation(np.repeat([0, 1, 2], 50))  # random labels: nothing to learn
    seen = []

    def recording(x_train, y_train, x_pred):
        seen.append((x_train, x_pred))
        return memoriser(x_train, y_train, x_pred)

    stack = Stacking([recording], n_splits=5, seed=0).fit(x, y)
    for x_train, x_pred in seen[:5]:  # the five fold members never predicted a row they had trained on
        assert not (x_pred[:, None, :] == x_train[None, :, :]).all(-1).any()
    in_fold = memoriser(x, y, x)
    assert error_rate(in_fold, y) == 0.0  # the leak: in-fold predictions are perfect
    from sklearn.linear_model import LogisticRegression

    leaky = LogisticRegression(max_iter=1000).fit(in_fold, y)
    assert leaky.score(in_fold, y) == 1.0  # a meta-learner fed them would be perfect on its training set
    assert 0.2 < 1 - error_rate(stack.oof_[0], y) < 0.5  # ours: chance (1/3) on labels that carry no signal
    meta_train_acc = stack.meta_.score(stack.oof_[0], y)
    assert meta_train_acc < 0.5
    test = stack.predict_proba(rng.normal(size=(30, 5)))
    assert test.shape == (30, 3)
    np.testing.assert_allclose(test.sum(1), 1.0, rtol=1e-12)


def test_stacking_learns_to_trust_the_better_member():
    rng = np.random.default_rng(1)
    y = np.repeat([0, 1, 2], 40)
    x = np.eye(3)[y] + 0.3 * rng.normal(size=(120, 3))

    def good(x_train, y_train, x_pred):
        e = np.exp(4 * x_pred)
        return e / e.sum(1, keepdims=True)

    def noise(x_train, y_train, x_pred):
        return np.random.default_rng(len(x_pred)).dirichlet(np.ones(3), size=len(x_pred))

    stack = Stacking([noise, good], n_splits=4, seed=0).fit(x, y)
    x_new = np.eye(3)[np.repeat([0, 1, 2], 20)] + 0.3 * rng.normal(size=(60, 3))
    y_new = np.repeat([0, 1, 2], 20)
    assert error_rate(stack.predict_proba(x_new), y_new) <= error_rate(good(None, None, x_new), y_new) + 0.02
    with pytest.raises(ConfigError, match="call fit first"):
        Stacking([good]).predict_proba(x_new)
    with pytest.raises(ConfigError, match="non-empty list of fit_predict callables"):
        Stacking([])
    with pytest.raises(ConfigError, match="every sample in exactly one validation fold"):
        out_of_fold_probabilities(good, x, y, [(np.arange(60), np.arange(60))], 3)


def test_snapshot_count_equals_cycles_and_snapshots_differ(digits):
    x, y, _, _ = digits
    model = MLP([64, 16, 10], rng=0)
    opt = optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    sched = optim.CosineAnnealingWarmRestarts(opt, T_0=2)
    trainer = Trainer(model, opt, scheduler=sched)
    loader = DataLoader(ArrayDataset(x[:300], y[:300]), batch_size=50, shuffle=True, rng=1)
    snaps = snapshot_ensemble(trainer, loader, cycles=3)
    assert len(snaps) == 3 and trainer.epoch == 6
    assert [h["lr"] for h in trainer.history.epochs] == pytest.approx([0.2, 0.1] * 3)  # restarts each 2 epochs
    assert not np.array_equal(snaps[0]["layers.0.W"], snaps[2]["layers.0.W"])
    members = []
    for s in snaps:
        m = MLP([64, 16, 10], rng=0)
        m.load_state_dict(s)
        members.append(m)
    probs = member_probabilities(members, x[300:400])
    assert probs.shape == (3, 100, 10) and error_rate(soft_vote(probs), y[300:400]) < 0.3
    with pytest.raises(ConfigError, match=r"CosineAnnealingWarmRestarts\(T_mult=1\), got NoneType"):
        snapshot_ensemble(Trainer(model, opt), loader, cycles=2)
