"""``glassnet train MODEL --data NAME --folds K``: K-fold cross-validation, and the fold models' soft-vote ensemble.

The run: the fixed test split of :func:`~glassnet.data.classification.load_classification` stays out;
the rest, its training split followed by its validation split (the *pool*, N samples), is cut into K
stratified folds by :func:`glassnet.train.ensemble.kfold_splits` (scikit-learn's ``StratifiedKFold``,
shuffled with the run's ``--seed``). Fold model k is one ``glassnet train`` run with the run's settings,
trained on the other K-1 folds and validated on fold k, so every pooled sample is validated on exactly
once; the cross-validation estimate is the mean of the K validation accuracies. Each fold model is then
scored on the test split, and so is their soft vote

    p̄(k | x) = (1/K) Σ_j p_j(k | x),    ŷ = argmax_k p̄(k | x)

(Hansen & Salamon 1990; the averaged probabilities of Lakshminarayanan et al. 2017).

Files written to OUT:

* ``fold-j/`` for j = 0 … K-1: fold j's run, as ``glassnet train`` writes it (``checkpoint.npz`` after
  every epoch, atomically, ``best.npz``, ``metrics.json``, ``learning_curve.png``);
* ``folds.json``: the settings, each fold's pool indices (``val_index``) and, as the folds finish, their
  results; rewritten atomically after each fold, with ``"complete": true`` once the ensemble is scored;
* ``test_probabilities.npz``: ``members (K, N_test, C)``, ``ensemble (N_test, C)``, ``y (N_test,)``;
* ``metrics.json``: the summary (cross-validation accuracy, each fold's test accuracy, the ensemble's).

``--resume`` continues an interrupted run with the settings in its ``folds.json``: finished folds are
evaluated again without training (same numbers), an interrupted fold continues from its checkpoint, and
the folds not started are trained.

Deliberate choices:
    Every fold model starts from the same initial weights and shuffling seed (``--seed``): the members
    differ only in the data they see, which is what K-fold cross-validation varies. The pool keeps the
    input scaling of ``load_classification``; for a standardised data set (iris) its mean and standard
    deviation come from that function's training split, 90% of the pool, so part of each held-out fold's
    *inputs* (never its labels) enter the statistics. Data sets scaled by a constant (digits, mnist,
    cifar10) are not affected. The ensemble uses each fold's last-epoch weights (``checkpoint.npz``), the
    weights whose test accuracy the fold's run reports. With ``--patience`` the held-out fold also decides
    when its model stops, which makes that fold's validation score slightly optimistic.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from glassnet.checks import check_int
from glassnet.errors import ConfigError, DataError

__all__ = ["train_folds", "check_fold_options", "fold_pool", "load_fold_model", "FOLDS_FILE", "PROBABILITIES"]

FOLDS_FILE = "folds.json"
PROBABILITIES = "test_probabilities.npz"

# options a K-fold run cannot honour, and why
_EXCLUSIVE = {
    "distributed": "the folds are trained one after another in one process",
    "val_fraction": "each fold's validation set is its held-out fold",
}


def check_fold_options(given: Iterable[str]) -> None:
    """Refuse the options given on the command line that cannot go with ``--folds``.

    Raises:
        ConfigError: ``--distributed`` or ``--val-fraction`` given.
    """
    for name in given:
        if name in _EXCLUSIVE:
            raise ConfigError(f"--folds cannot go with --{name.replace('_', '-')}: {_EXCLUSIVE[name]}")


def fold_pool(data: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The samples the folds split: the training split followed by the validation split.

    Shapes: ``x (N, D)`` float32, ``y (N,)`` int64 with N = N_train + N_val.
    """
    return np.concatenate([data["x_train"], data["x_val"]]), np.concatenate([data["y_train"], data["y_val"]])


def load_fold_model(path: str | Path, sizes: list[int]) -> Any:
    """The model of a fold's checkpoint (``fold-j/checkpoint.npz``), its layer ``sizes`` as the fold's metrics say.

    Raises:
        DataError: an unreadable checkpoint or weights that do not fit the model.
    """
    from glassnet.cli.train import build_model
    from glassnet.train import load_checkpoint

    ckpt = load_checkpoint(path)
    config = ckpt.config
    model = build_model(config["model"], config["data"], sizes, config, np.random.default_rng(0))  # weights: below
    try:
        model.load_state_dict(ckpt.model)
    except (KeyError, ValueError) as e:
        raise DataError(f"{path}: its weights do not fit a {config['model']} of sizes {sizes}: {e}") from None
    return model


def _read_plan(out: Path, folds: int) -> dict[str, Any]:
    path = out / FOLDS_FILE
    if not path.is_file():
        raise DataError(f"--resume: no such file: {path} (no K-fold run to continue in {out})")
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise DataError(f"--resume: cannot read {path}: {e}") from None
    if not isinstance(plan, dict) or not isinstance(plan.get("config"), dict) or "val_index" not in plan:
        raise DataError(f"--resume: {path} is not the folds.json of a glassnet train --folds run")
    if plan.get("folds") != folds:
        raise ConfigError(f"--resume: --folds {folds} differs from the run's {plan.get('folds')!r} in {path}")
    return plan


def _resumed_config(config: dict[str, Any], saved: dict[str, Any], given: Iterable[str]) -> dict[str, Any]:
    """The saved settings, after checking that no option given on the command line changes one."""
    for key in given:
        if key in config and config[key] != saved.get(key):
            name = "MODEL" if key == "model" else f"--{key.replace('_', '-')}"
            raise ConfigError(f"--resume: {name} {config[key]!r} differs from the K-fold run's {saved.get(key)!r}")
    return saved


def _check_fold_checkpoint(path: Path, config: dict[str, Any]) -> None:
    """A fold's checkpoint may be resumed only if this run's settings wrote it (not a stale run's)."""
    from glassnet.train import load_checkpoint

    if load_checkpoint(path).config != config:
        raise ConfigError(f"--resume: {path} was written by a run with other settings than {path.parent.parent}/"
                          f"{FOLDS_FILE}; remove {path.parent} to train that fold again")


def train_folds(config: dict[str, Any], out: str | Path, folds: int, resume: bool = False,
                given: Iterable[str] = (), progress: bool = True,
                echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Train K fold models and score them and their soft-vote ensemble; returns what ``metrics.json`` holds.

    Args:
        config: the settings of :func:`glassnet.cli.train.run_training` (``val_fraction`` only shapes the
            scaling statistics; the pool is the same for every value).
        out: the run's folder (see the module docstring for its files).
        folds: K >= 2, at most the rarest class's count in the pool.
        resume: continue the run in ``out`` (its ``folds.json`` settings win).
        given: names of the options given on the command line: with ``resume`` each must match the saved
            value; ``distributed`` and ``val_fraction`` are refused.
        progress, echo: the progress bar, and where the lines and tables go.

    Returns:
        the summary: ``cv_val_accuracy`` (mean over folds) and ``cv_val_accuracy_std`` (over folds, ddof 0),
        ``fold_val_accuracy`` and ``fold_test_accuracy`` (K floats each), ``test_accuracy`` and ``test_loss``
        of the ensemble (mean negative log-likelihood of p̄ in nats), ``config``, sizes, seconds.

    Raises:
        ConfigError: K < 2 or above the rarest class's count, an option that cannot go with folds, or a
            resume whose settings or folds differ from the saved run's.
        DataError: missing data, or no readable ``folds.json`` / checkpoint to resume.
        KeyboardInterrupt: on Ctrl-C; each started fold's last epoch is on disk.
    """
    from tabulate import tabulate

    from glassnet.cli.train import CHECKPOINT, run_training
    from glassnet.data.classification import load_classification
    from glassnet.fileio import atomic_savez, atomic_write_json
    from glassnet.train.ensemble import error_rate, kfold_splits, member_probabilities, soft_vote

    out = Path(out)
    folds = check_int(folds, "folds", "train_folds", min=2)
    given = set(given)
    check_fold_options(given)
    saved = None
    if resume:
        saved = _read_plan(out, folds)
        config = _resumed_config(config, saved["config"], given)
    data = load_classification(config["data"], config["data_dir"], config["val_fraction"])
    x_pool, y_pool = fold_pool(data)
    counts = np.bincount(y_pool)
    rarest = int(counts[counts > 0].min())
    if folds > rarest:
        raise ConfigError(f"--folds {folds} is more than the {rarest} samples of the rarest class in the "
                          f"{len(y_pool)} training samples of {config['data']}: every stratified fold must hold "
                          f"each class at least once")
    splits = kfold_splits(y_pool, folds, seed=config["seed"])
    val_index = [va.tolist() for _, va in splits]
    if saved is not None and saved["val_index"] != val_index:
        raise ConfigError(f"--resume: the folds in {out / FOLDS_FILE} differ from this run's split of the same "
                          f"data and seed (another version of the data or of scikit-learn?)")
    fold_configs = [{**config, "folds": folds, "fold": j} for j in range(folds)]
    resumed = [resume and (out / f"fold-{j}" / CHECKPOINT).is_file() for j in range(folds)]
    for j in range(folds):
        if resumed[j]:
            _check_fold_checkpoint(out / f"fold-{j}" / CHECKPOINT, fold_configs[j])
    try:  # only now, with the data loaded and the folds checked: a run that cannot start leaves no folder behind
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"--out: cannot create folder {out}: {e.strerror}") from None
    if not resume and (out / FOLDS_FILE).exists():
        echo(f"note: starting a new K-fold run in {out} (pass --resume to continue the old one instead)")
    plan = {"folds": folds, "config": config, "n_pool": len(y_pool), "n_test": len(data["y_test"]),
            "fold_sizes": [len(v) for v in val_index], "val_index": val_index, "results": [], "complete": False}
    atomic_write_json(out / FOLDS_FILE, plan)

    results = []
    for j, (train_index, val_index_j) in enumerate(splits):
        echo(f"fold {j} ({j + 1} of {folds}, in fold-{j}/): train on the other folds' {len(train_index)} samples, "
             f"validate on its own {len(val_index_j)}")
        fold_splits = {"x_train": x_pool[train_index], "y_train": y_pool[train_index],
                       "x_val": x_pool[val_index_j], "y_val": y_pool[val_index_j],
                       "x_test": data["x_test"], "y_test": data["y_test"]}
        m = run_training(fold_configs[j], out / f"fold-{j}", resume=resumed[j], progress=progress, echo=echo,
                         splits=fold_splits)
        results.append({"fold": j, "n_train": m["n_train"], "n_val": m["n_val"], "sizes": m["sizes"],
                        "epochs_completed": m["epochs_completed"], "val_accuracy": m["final"]["val_accuracy"],
                        "val_loss": m["final"]["val_loss"], "best_val": m["best_val"],
                        "test_accuracy": m["test_accuracy"], "test_loss": m["test_loss"], "seconds": m["seconds"]})
        atomic_write_json(out / FOLDS_FILE, {**plan, "results": results})

    models = [load_fold_model(out / f"fold-{j}" / CHECKPOINT, r["sizes"]) for j, r in enumerate(results)]
    y_test = data["y_test"]
    members = member_probabilities(models, data["x_test"])  # (K, N_test, C)
    ensemble = soft_vote(members)  # (N_test, C)
    p_true = ensemble.astype(np.float64)[np.arange(len(y_test)), y_test]
    # a probability that underflowed to 0 counts as the smallest float32, not as an infinite loss
    test_loss = float(-np.log(np.maximum(p_true, np.finfo(np.float32).tiny)).mean())
    test_accuracy = 1.0 - error_rate(ensemble, y_test)
    atomic_savez(out / PROBABILITIES, {"members": members, "ensemble": ensemble, "y": y_test})
    val_acc = [r["val_accuracy"] for r in results]
    test_acc = [r["test_accuracy"] for r in results]
    ensemble_result = {"rule": "soft vote", "test_accuracy": test_accuracy, "test_loss": test_loss,
                       "test_correct": int(round(test_accuracy * len(y_test)))}
    atomic_write_json(out / FOLDS_FILE, {**plan, "results": results, "ensemble": ensemble_result, "complete": True})

    rows = [[r["fold"], r["n_train"], r["n_val"], r["val_accuracy"], r["test_accuracy"]] for r in results]
    rows.append(["mean", None, None, float(np.mean(val_acc)), float(np.mean(test_acc))])
    rows.append(["soft vote", None, None, None, test_accuracy])
    echo(tabulate(rows, headers=["fold", "train", "val", "val acc", "test acc"], floatfmt=".4f", missingval=""))
    metrics = {
        "model": config["model"], "data": config["data"], "seed": config["seed"], "config": config,
        "folds": folds, "sizes": results[0]["sizes"], "n_pool": len(y_pool), "n_test": len(y_test),
        "fold_val_accuracy": val_acc, "cv_val_accuracy": float(np.mean(val_acc)),
        "cv_val_accuracy_std": float(np.std(val_acc)),
        "fold_test_accuracy": test_acc, "mean_fold_test_accuracy": float(np.mean(test_acc)),
        "test_accuracy": test_accuracy, "test_loss": test_loss, "ensemble": ensemble_result,
        "seconds": round(sum(r["seconds"] for r in results), 3),
    }
    atomic_write_json(out / "metrics.json", metrics)
    echo(f"{folds}-fold cross-validation accuracy {np.mean(val_acc):.2%} (± {np.std(val_acc):.2%} over folds); "
         f"test accuracy: folds {min(test_acc):.2%} to {max(test_acc):.2%}, soft-vote ensemble {test_accuracy:.2%} "
         f"({ensemble_result['test_correct']}/{len(y_test)})")
    echo(f"wrote {out / FOLDS_FILE}, {out / 'metrics.json'}, {out / PROBABILITIES}, {out}/fold-0..{folds - 1}/")
    return metrics
