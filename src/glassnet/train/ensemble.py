"""Ensembles: K-fold splits, bagging, voting, weighted averaging, stacking, snapshot ensembles, disagreement.

An ensemble of M members combines their predictions on the same N samples of K classes:

* class predictions ``(M, N)`` int: :func:`hard_vote` (the majority class);
* class probabilities ``(M, N, K)`` float: :func:`soft_vote` (their mean),
  :func:`weighted_average` (a convex combination), or :class:`Stacking` (a meta-learner
  trained on out-of-fold predictions).

Its members come from :func:`kfold_splits` (one per fold), :func:`bootstrap_indices`
(bagging), independent seeds (a deep ensemble), or one run of cosine cycles
(:func:`snapshot_ensemble`). An average helps when members err on different samples:
:func:`disagreement_rate` / :func:`disagreement_matrix` measure how often they differ.

The splits are scikit-learn's ``KFold`` / ``StratifiedKFold``; stacking's default
meta-learner is scikit-learn's multinomial ``LogisticRegression`` (the lesson is
which predictions it is fitted on, not the meta-learner).

References:
    Hansen & Salamon, "Neural network ensembles", IEEE TPAMI 1990 (majority voting);
    Breiman, "Bagging predictors", Machine Learning 1996;
    Wolpert, "Stacked generalization", Neural Networks 1992;
    Huang, Li, Pleiss, Liu, Hopcroft & Weinberger, "Snapshot ensembles: train 1, get M for free", ICLR 2017;
    Lakshminarayanan, Pritzel & Blundell, "Simple and scalable predictive uncertainty estimation using
    deep ensembles", NeurIPS 2017 (averaged probabilities of independently seeded networks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from glassnet.backend import to_numpy
from glassnet.checks import as_generator, check_bool, check_int, check_size
from glassnet.errors import ConfigError, DTypeError, ShapeError

__all__ = [
    "kfold_splits", "bootstrap_indices", "hard_vote", "soft_vote", "weighted_average", "check_weights",
    "member_probabilities", "out_of_fold_probabilities", "Stacking", "snapshot_ensemble",
    "disagreement_rate", "disagreement_matrix", "error_rate",
]

# rows of a probability table must sum to 1 within this (float32 softmax rounding is ~1e-7 per term)
_SUM_TOLERANCE = 1e-4


# ------------------------------------------------------------------ inputs
def _labels(value: Any, name: str, owner: str, ndim: int) -> np.ndarray:
    a = np.asarray(to_numpy(getattr(value, "data", value)))
    if a.ndim != ndim:
        want = "(N,)" if ndim == 1 else "(M, N)"
        raise ShapeError(f"{owner}: {name} must be {want} class ids, got shape {a.shape}")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        raise DTypeError(f"{owner}: {name} must hold integer class ids, got dtype {a.dtype}")
    if a.size and a.min() < 0:
        raise ConfigError(f"{owner}: {name} must hold class ids >= 0, got {int(a.min())}")
    return a.astype(np.int64)


def _probabilities(value: Any, owner: str, name: str = "probs") -> np.ndarray:
    """``value`` as an (M, N, K) float array of probability rows (finite, >= 0, each row summing to 1)."""
    p = np.asarray(to_numpy(getattr(value, "data", value)))
    if p.ndim != 3 or 0 in p.shape:
        raise ShapeError(f"{owner}: {name} must be (M, N, K) probabilities of M >= 1 members, N >= 1 samples and "
                         f"K >= 1 classes, got shape {p.shape}")
    if not np.issubdtype(p.dtype, np.floating):
        raise DTypeError(f"{owner}: {name} must be float probabilities, got dtype {p.dtype}")
    if not np.isfinite(p).all() or p.min() < 0:
        raise ConfigError(f"{owner}: {name} must be finite and >= 0 (probabilities, not logits)")
    worst = float(np.abs(p.sum(axis=-1) - 1).max())
    if worst > _SUM_TOLERANCE:
        raise ConfigError(f"{owner}: each row of {name} must sum to 1 (probabilities; apply softmax to logits), "
                          f"got a row off by {worst:.3g}")
    return p


# ------------------------------------------------------------------ splits
def kfold_splits(y: Any, n_splits: int, *, stratified: bool = True, seed: int = 0) -> list[tuple[np.ndarray,
                                                                                                  np.ndarray]]:
    """K-fold cross-validation indices from scikit-learn's ``StratifiedKFold`` (or ``KFold``), shuffled with ``seed``.

    Every sample is in exactly one validation fold; stratified folds keep each class's share.

    Args:
        y: labels ``(N,)`` int (stratification uses them; ``KFold`` only their count).
        n_splits: K >= 2.
        stratified: ``StratifiedKFold`` if True, ``KFold`` otherwise.
        seed: the shuffle's ``random_state`` (an int >= 0).

    Returns:
        K pairs ``(train_index, val_index)`` of int64 arrays, disjoint, together ``0..N-1``.

    Raises:
        ConfigError: ``n_splits`` < 2 or > N (or, stratified, more than the rarest class's count).
        ShapeError, DTypeError: ``y`` not ``(N,)`` class ids.
    """
    from sklearn.model_selection import KFold, StratifiedKFold

    y = _labels(y, "y", "kfold_splits", 1)
    k = check_int(n_splits, "n_splits", "kfold_splits", min=2)
    seed = check_int(seed, "seed", "kfold_splits", min=0)
    stratified = check_bool(stratified, "stratified", "kfold_splits")
    if k > len(y):
        raise ConfigError(f"kfold_splits: n_splits must be <= N = {len(y)} samples, got {k}")
    if stratified:
        rarest = int(np.bincount(y)[np.unique(y)].min())
        if k > rarest:
            raise ConfigError(f"kfold_splits: stratified n_splits must be <= the rarest class's {rarest} samples, "
                              f"got {k}")
        splitter: Any = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    else:
        splitter = KFold(n_splits=k, shuffle=True, random_state=seed)
    return [(tr.astype(np.int64), va.astype(np.int64)) for tr, va in splitter.split(np.zeros(len(y)), y)]


def bootstrap_indices(n: int, n_members: int, rng: Any = None) -> np.ndarray:
    """Bagging's bootstrap resamples: M rows of N indices drawn uniformly *with replacement* from ``0..N-1``.

    Each member trains on its row; a sample is left out of a row with probability
    ``(1 - 1/N)^N ≈ e^{-1} ≈ 0.368`` (its out-of-bag members).

    Shapes: returns ``(M, N)`` int64.

    Raises:
        ConfigError: ``n`` or ``n_members`` not an int >= 1, or a bad ``rng``.

    Reference: Breiman, "Bagging predictors", 1996.
    """
    n = check_size(n, "n", "bootstrap_indices")
    m = check_size(n_members, "n_members", "bootstrap_indices")
    return as_generator(rng).integers(0, n, size=(m, n), dtype=np.int64)


# ------------------------------------------------------------------ combining
def hard_vote(predictions: Any, num_classes: int | None = None) -> np.ndarray:
    """Majority vote of M members' class predictions: ``ŷ_n = argmax_k Σ_m [p_mn = k]``.

    Ties go to the lowest class id among the tied classes (``argmax`` takes the first maximum),
    a fixed, documented rule: with two members that disagree, the vote is the smaller id.

    Shapes: ``predictions (M, N)`` int class ids -> ``(N,)`` int64.

    Args:
        predictions: each member's predicted class per sample.
        num_classes: K (default: the largest id + 1); ids must be < K.

    Raises:
        ShapeError, DTypeError, ConfigError: not ``(M, N)`` integer ids >= 0 with M, N >= 1, or an id >= K.

    Reference: Hansen & Salamon, "Neural network ensembles", 1990.
    """
    p = _labels(predictions, "predictions", "hard_vote", 2)
    if 0 in p.shape:
        raise ShapeError(f"hard_vote: predictions must be (M, N) with M, N >= 1, got shape {p.shape}")
    k = int(p.max()) + 1 if num_classes is None else check_size(num_classes, "num_classes", "hard_vote")
    if p.max() >= k:
        raise ConfigError(f"hard_vote: class ids must be < num_classes = {k}, got {int(p.max())}")
    votes = np.zeros((p.shape[1], k), dtype=np.int64)  # (N, K)
    np.add.at(votes, (np.arange(p.shape[1])[None, :], p), 1)
    return votes.argmax(axis=1)


def soft_vote(probs: Any) -> np.ndarray:
    """Soft voting: the members' mean probabilities ``p̄_nk = (1/M) Σ_m p_mnk`` (predict ``argmax_k p̄_nk``).

    The ensemble of a deep ensemble (Lakshminarayanan et al. 2017): independently trained
    networks whose predictive distributions are averaged.

    Shapes: ``probs (M, N, K)`` -> ``(N, K)``; dtype: that of ``probs``.

    Raises:
        ShapeError, DTypeError, ConfigError: see :func:`weighted_average`.
    """
    p = _probabilities(probs, "soft_vote")
    return p.mean(axis=0)


def check_weights(weights: Any, n_members: int, owner: str = "weighted_average") -> np.ndarray:
    """Member weights as a float64 ``(M,)`` array: finite, each >= 0, summing to > 0.

    Raises:
        ShapeError: not ``(M,)``.
        ConfigError: a weight that is NaN, infinite or negative, or all weights 0.
    """
    w = np.asarray(weights, dtype=np.float64) if not isinstance(weights, np.ndarray) else weights.astype(np.float64)
    if w.shape != (n_members,):
        raise ShapeError(f"{owner}: weights must be (M,) with M = {n_members} members, got shape {w.shape}")
    if not np.isfinite(w).all():
        raise ConfigError(f"{owner}: weights must be finite, got {w.tolist()}")
    if w.min() < 0:
        raise ConfigError(f"{owner}: weights must be >= 0, got {w.tolist()}")
    if w.sum() <= 0:
        raise ConfigError(f"{owner}: weights must sum to > 0, got {w.tolist()}")
    return w


def weighted_average(probs: Any, weights: Any) -> np.ndarray:
    """Weighted averaging: ``p̄_nk = Σ_m w_m p_mnk / Σ_m w_m`` (equal weights give :func:`soft_vote`).

    Shapes: ``probs (M, N, K)``, ``weights (M,)`` -> ``(N, K)``; dtype: that of ``probs``.

    Raises:
        ShapeError: ``probs`` not ``(M, N, K)`` with M, N, K >= 1, or ``weights`` not ``(M,)``.
        DTypeError: ``probs`` not float.
        ConfigError: ``probs`` not probabilities (non-finite, negative, a row not summing to 1),
            or weights not finite, >= 0 and summing to > 0.
    """
    p = _probabilities(probs, "weighted_average")
    w = check_weights(weights, p.shape[0])
    return (np.tensordot(w / w.sum(), p, axes=1)).astype(p.dtype)  # (M,) . (M, N, K) -> (N, K)


def error_rate(probs_or_predictions: Any, y: Any) -> float:
    """Share of samples misclassified: ``(1/N) Σ_n [ŷ_n ≠ y_n]``, ``ŷ = argmax_k`` of ``(N, K)`` scores or ``(N,)`` ids.

    Raises:
        ShapeError: shapes that do not match ``y (N,)``.
    """
    y = _labels(y, "y", "error_rate", 1)
    a = np.asarray(to_numpy(getattr(probs_or_predictions, "data", probs_or_predictions)))
    pred = a.argmax(axis=-1) if a.ndim == 2 else a
    if pred.shape != y.shape or len(y) == 0:
        raise ShapeError(f"error_rate: predictions must be (N, K) scores or (N,) ids with N = {len(y)} >= 1, "
                         f"got shape {a.shape}")
    return float(np.mean(pred != y))


def member_probabilities(models: Sequence[Any], x: Any, batch_size: int = 512) -> np.ndarray:
    """Softmax probabilities of each model on ``x``, in evaluation mode without a graph.

    Shapes: ``x (N, ...)`` -> ``(M, N, K)`` for M models with K outputs; dtype: the models' (float32 by default).

    Raises:
        ConfigError: no model, or ``batch_size`` not an int >= 1.
    """
    import glassnet.functional as F
    from glassnet.autograd import Tensor, no_grad

    if len(models) == 0:
        raise ConfigError("member_probabilities: models must hold at least one model")
    batch_size = check_size(batch_size, "batch_size", "member_probabilities")
    x = np.asarray(to_numpy(x))
    out = []
    for model in models:
        was = model.training
        model.eval()
        try:
            with no_grad():
                out.append(np.concatenate([to_numpy(F.softmax(model(Tensor(x[i:i + batch_size])), axis=-1).data)
                                           for i in range(0, len(x), batch_size)]))
        finally:
            model.train(was)
    return np.stack(out)  # (M, N, K)


# ------------------------------------------------------------------ stacking
FitPredict = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def out_of_fold_probabilities(fit_predict: FitPredict, x: Any, y: Any, folds: Sequence[tuple[np.ndarray, np.ndarray]],
                              num_classes: int) -> np.ndarray:
    """Each sample's probabilities from a member trained on the *other* folds: ``P[val] = fit_predict(x[train], ...)``.

    ``fit_predict(x_train, y_train, x_pred) -> (len(x_pred), K)`` trains a fresh member and predicts.

    Shapes: ``x (N, ...)``, ``y (N,)`` -> ``(N, K)`` float64.

    Raises:
        ConfigError: folds that do not cover every sample exactly once as validation.
        ShapeError: a member's output not ``(len(val), K)``.
    """
    x, y = np.asarray(x), _labels(y, "y", "out_of_fold_probabilities", 1)
    out = np.full((len(y), num_classes), np.nan)
    seen = np.zeros(len(y), dtype=np.int64)
    for train, val in folds:
        p = np.asarray(fit_predict(x[train], y[train], x[val]), dtype=np.float64)
        if p.shape != (len(val), num_classes):
            raise ShapeError(f"out_of_fold_probabilities: fit_predict must return ({len(val)}, {num_classes}) "
                             f"probabilities, got shape {p.shape}")
        out[val] = p
        seen[val] += 1
    if not (seen == 1).all():
        raise ConfigError("out_of_fold_probabilities: the folds must hold every sample in exactly one validation "
                          f"fold; {int((seen != 1).sum())} samples are not")
    return out


class Stacking:
    """Stacked generalisation: a meta-learner on the members' out-of-fold probabilities.

    ``fit(x, y)``: for each member m and each of K folds (:func:`kfold_splits`), a fresh member
    is trained on the other folds and predicts the held-out one, giving ``Z (N, M·K)`` in which no
    row was predicted by a member that saw it (:func:`out_of_fold_probabilities`); the meta-learner
    is fitted on ``(Z, y)``; then each member is trained once more on all of ``x`` for prediction.
    ``predict_proba(x)`` feeds those members' probabilities to the meta-learner.

    Why out of fold: fitted on in-sample predictions, the meta-learner would trust the member that
    memorises its training set most, which is the member worst on new data.

    Args:
        members: M callables ``fit_predict(x_train, y_train, x_pred) -> (len(x_pred), K)`` probabilities.
        n_splits: folds K >= 2.
        seed: the folds' shuffle seed.
        meta: a scikit-learn-style classifier with ``fit`` and ``predict_proba``; default
            ``LogisticRegression(C=1.0, max_iter=1000)`` (multinomial).

    Attributes (after ``fit``): ``oof_ (M, N, K)`` the out-of-fold probabilities, ``folds_``, ``meta_``,
    ``num_classes_``.

    Raises:
        ConfigError: no member, a member that is not callable, or a meta-learner without fit/predict_proba.

    Reference: Wolpert, "Stacked generalization", 1992.
    """

    def __init__(self, members: Sequence[FitPredict], n_splits: int = 5, seed: int = 0, meta: Any = None) -> None:
        members = list(members)
        if not members or not all(callable(m) for m in members):
            raise ConfigError("Stacking: members must be a non-empty list of fit_predict callables")
        if meta is not None and not (hasattr(meta, "fit") and hasattr(meta, "predict_proba")):
            raise ConfigError(f"Stacking: meta must have fit and predict_proba, got {type(meta).__name__}")
        self.members, self.seed, self.meta = members, check_int(seed, "seed", "Stacking", min=0), meta
        self.n_splits = check_int(n_splits, "n_splits", "Stacking", min=2)

    def fit(self, x: Any, y: Any) -> Stacking:
        from sklearn.linear_model import LogisticRegression

        x, y = np.asarray(x), _labels(y, "y", "Stacking.fit", 1)
        self.num_classes_ = int(y.max()) + 1
        self.folds_ = kfold_splits(y, self.n_splits, seed=self.seed)
        self.oof_ = np.stack([out_of_fold_probabilities(m, x, y, self.folds_, self.num_classes_)
                              for m in self.members])  # (M, N, K)
        self.meta_ = self.meta if self.meta is not None else LogisticRegression(C=1.0, max_iter=1000)
        self.meta_.fit(self._features(self.oof_), y)
        self._x, self._y = x, y
        return self

    @staticmethod
    def _features(probs: np.ndarray) -> np.ndarray:
        return np.transpose(probs, (1, 0, 2)).reshape(probs.shape[1], -1)  # (M, N, K) -> (N, M·K)

    def predict_proba(self, x: Any) -> np.ndarray:
        """The meta-learner's probabilities ``(N, K)`` on ``x``, from members trained on all of the fit data.

        Raises:
            ConfigError: called before :meth:`fit`.
        """
        if not hasattr(self, "meta_"):
            raise ConfigError("Stacking.predict_proba: call fit first")
        probs = np.stack([np.asarray(m(self._x, self._y, np.asarray(x)), dtype=np.float64)
                          for m in self.members])  # (M, N, K)
        full = np.zeros((len(x), self.num_classes_))
        full[:, self.meta_.classes_] = self.meta_.predict_proba(self._features(probs))  # classes unseen: 0
        return full


# ------------------------------------------------------------------ snapshots
def snapshot_ensemble(trainer: Any, train_loader: Any, cycles: int, val_loader: Any = None,
                      progress: bool = False) -> list[dict[str, np.ndarray]]:
    """Train one model through ``cycles`` cosine cycles with warm restarts; one snapshot at each cycle's end.

    ``trainer.scheduler`` must be a :class:`~glassnet.optim.CosineAnnealingWarmRestarts` with
    ``T_mult = 1``: cycle c ends after ``c · T_0`` epochs, where the rate has annealed to ``η_min``
    and the model sits in a minimum; the restart then kicks it towards another one. The M = ``cycles``
    snapshots are the members (combine their probabilities with :func:`soft_vote`).

    Deviation: Huang et al. anneal per iteration; here the rate is set once per epoch (the Trainer's
    schedule), so a cycle of ``T_0`` epochs has ``T_0`` rates.

    Returns:
        ``cycles`` state dicts (copies of ``trainer.model.state_dict()``), in order.

    Raises:
        ConfigError: ``cycles`` not an int >= 1, or a scheduler that is not a warm-restart cosine with T_mult 1.

    Reference: Huang et al., "Snapshot ensembles: train 1, get M for free", ICLR 2017.
    """
    from glassnet.optim import CosineAnnealingWarmRestarts

    cycles = check_size(cycles, "cycles", "snapshot_ensemble")
    sched = getattr(trainer, "scheduler", None)
    if not isinstance(sched, CosineAnnealingWarmRestarts) or sched.T_mult != 1:
        raise ConfigError("snapshot_ensemble: trainer.scheduler must be CosineAnnealingWarmRestarts(T_mult=1), "
                          f"got {type(sched).__name__}")
    snapshots = []
    for c in range(1, cycles + 1):
        trainer.fit(train_loader, c * sched.T_0, val_loader=val_loader, progress=progress)
        snapshots.append({k: np.array(v, copy=True) for k, v in trainer.model.state_dict().items()})
    return snapshots


# ------------------------------------------------------------------ diversity
def disagreement_rate(pred_a: Any, pred_b: Any) -> float:
    """Share of samples on which two members predict different classes: ``(1/N) Σ_n [a_n ≠ b_n]``.

    Shapes: ``pred_a (N,)``, ``pred_b (N,)`` int class ids, N >= 1 -> a float in [0, 1].

    Raises:
        ShapeError, DTypeError, ConfigError: not two ``(N,)`` integer-id arrays of the same N >= 1.
    """
    a = _labels(pred_a, "pred_a", "disagreement_rate", 1)
    b = _labels(pred_b, "pred_b", "disagreement_rate", 1)
    if a.shape != b.shape or len(a) == 0:
        raise ShapeError(f"disagreement_rate: pred_a and pred_b must be (N,) with the same N >= 1, "
                         f"got {a.shape} and {b.shape}")
    return float(np.mean(a != b))


def disagreement_matrix(predictions: Any) -> np.ndarray:
    """Pairwise disagreement rates of M members: ``D[i, j] = disagreement_rate(p_i, p_j)``.

    Shapes: ``predictions (M, N)`` int -> ``(M, M)`` float64, symmetric with a zero diagonal.

    Raises:
        ShapeError, DTypeError, ConfigError: not ``(M, N)`` integer ids with M, N >= 1.
    """
    p = _labels(predictions, "predictions", "disagreement_matrix", 2)
    if 0 in p.shape:
        raise ShapeError(f"disagreement_matrix: predictions must be (M, N) with M, N >= 1, got shape {p.shape}")
    return (p[:, None, :] != p[None, :, :]).mean(axis=2)  # (M, 1, N) vs (1, M, N) -> (M, M)
