"""``glassnet train MODEL --data NAME``: train a zoo model on a classification data set, resumably.

The run: load the data; hold out a stratified 20% test split and, from the
rest, a stratified validation split (scikit-learn's ``train_test_split`` with
the fixed seed :data:`SPLIT_SEED`, so every run of a data set sees the same
test set); scale the inputs; train with a tqdm bar, writing ``checkpoint.npz``
after every epoch and ``best.npz`` when the validation accuracy improves;
evaluate on the test split; print the per-epoch table; write ``metrics.json``
and ``learning_curve.png``. ``--resume`` continues from ``OUT/checkpoint.npz``
and ends with the same numbers as an uninterrupted run.

``mpiexec -n R glassnet train ... --distributed`` trains data-parallel on R
ranks (:mod:`glassnet.distributed`): ``--batch-size`` is each rank's batch (the
global batch is R times it), rank 0 alone prints and writes the files, and
``--resume`` needs the same R. The logged training loss and accuracy are the
means over every rank's samples; each rank draws its own dropout masks (so with
``--dropout`` the run differs from one process with the global batch through
the masks only).

``--folds K`` trains K models by K-fold cross-validation and scores their soft-vote ensemble
(:mod:`glassnet.cli.folds`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np

from glassnet.cli import cli
from glassnet.cli.train_dialogue import DIALOGUE_MODELS, dialogue_train_command
from glassnet.data.classification import CLASSIFICATION, SPLIT_SEED, load_classification
from glassnet.errors import ConfigError

__all__ = ["train_command", "run_training", "load_classification", "DATASETS", "MODELS", "SPLIT_SEED"]

CHECKPOINT = "checkpoint.npz"

# the data-set catalog of `glassnet train` lives in glassnet.data (re-exported here for older imports)
DATASETS = CLASSIFICATION

MODELS: dict[str, str] = {
    "mlp": "multilayer perceptron (glassnet.zoo.MLP): Linear-activation[-Dropout] x len(--hidden), then Linear",
    "cnn": "the course's small CNN (LeNet: conv5-pool-conv5-pool-FC500-FC), for images (mnist, digits, cifar10)",
    **{f"resnet{d}": f"CIFAR ResNet-{d} (He et al. 2016, option-A shortcuts; --data cifar10)"
       for d in (20, 32, 44, 56, 110)},
    **{f"plain{d}": f"ResNet-{d}'s plain twin (the same layers, no shortcuts; --data cifar10)"
       for d in (20, 32, 44, 56, 110)},
    "vgg": "the same as vgg11",
    **{f"vgg{d}": f"VGG-{d} with batch norm, one dense layer on the 512 features (zoo.CifarVGG; --data cifar10)"
       for d in (11, 13, 16, 19)},
}
_VGG_CONFIGS = {"vgg": "A", "vgg11": "A", "vgg13": "B", "vgg16": "D", "vgg19": "E"}
# image shapes for the convolutional models (the catalog's inputs are flat rows)
_IMAGES = {"mnist": (1, 28, 28), "digits": (1, 8, 8), "cifar10": (3, 32, 32)}


def check_model_data(name: str, data: str) -> None:
    """Refuse a model that cannot take the data set, before any data is loaded.

    Raises:
        ConfigError: a convolutional model for a data set that is not images, or a ResNet or VGG off CIFAR-10.
    """
    if name == "mlp":
        return
    if data not in _IMAGES:
        raise ConfigError(f"model {name!r} needs images: --data must be one of {sorted(_IMAGES)}, got {data!r}")
    if name != "cnn" and data != "cifar10":
        raise ConfigError(f"model {name!r} is a CIFAR-10 network: use --data cifar10, got {data!r}")


def build_model(name: str, data: str, sizes: list[int], config: dict[str, Any], rng: Any):
    """The model ``name`` for data set ``data``: an MLP on flat rows, or a CNN on images (a Reshape in front).

    Raises:
        ConfigError: a convolutional model for a data set that is not images, or a ResNet or VGG off CIFAR-10.
    """
    from glassnet import nn
    from glassnet.zoo import MLP, CifarResNet, CifarVGG

    check_model_data(name, data)
    if name == "mlp":
        return MLP(sizes, activation=config["activation"], dropout=config["dropout"], rng=rng)
    shape = _IMAGES[data]
    if name == "cnn":
        c, h, _ = shape
        if h < 16:  # digits' 8x8: 3x3 convolutions with padding, one pool
            body = [nn.Conv2d(c, 32, 3, padding=1, rng=rng), nn.ReLU(), nn.Conv2d(32, 64, 3, padding=1, rng=rng),
                    nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * (h // 2) ** 2, 128, rng=rng)]
        else:
            side = ((h - 4) // 2 - 4) // 2
            body = [nn.Conv2d(c, 20, 5, rng=rng), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(20, 50, 5, rng=rng),
                    nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(50 * side * side, 500, rng=rng)]
        tail = [nn.ReLU()] + ([nn.Dropout(config["dropout"], rng=rng)] if config["dropout"] else [])
        net = nn.Sequential(*body, *tail, nn.Linear(body[-1].out_features, sizes[-1], rng=rng))
    elif name in _VGG_CONFIGS:
        net = CifarVGG(_VGG_CONFIGS[name], num_classes=sizes[-1], dropout=config["dropout"], rng=rng)
    else:
        depth = int(name.removeprefix("resnet").removeprefix("plain"))
        net = CifarResNet((depth - 2) // 6, num_classes=sizes[-1], shortcut=name.startswith("resnet"), rng=rng)
    return nn.Sequential(nn.Unflatten(shape), net)  # flat rows (N, C·H·W) -> images (N, C, H, W)


def _parse_hidden(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in str(text).split(",")]
    except ValueError:
        raise ConfigError(f"--hidden must be comma-separated positive ints such as 256,128, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise ConfigError(f"--hidden must be comma-separated positive ints such as 256,128, got {text!r}")
    return sizes


def run_training(config: dict[str, Any], out: str | Path, resume: bool = False, progress: bool = True,
                 echo: Callable[[str], None] = print, world: Any = None,
                 splits: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """Run (or resume) one training run described by ``config``; returns what ``metrics.json`` holds.

    ``config`` keys: model, data, data_dir, epochs, batch_size, lr, optimizer,
    hidden (list of ints), activation, dropout, schedule ("none" or "cosine"), seed, val_fraction,
    patience (None or int). With ``world`` (a :class:`glassnet.distributed.World`) the run is data-parallel:
    ``batch_size`` per rank, gradients averaged over the ranks, and only rank 0 echoes, shows progress and
    writes files (every rank returns the metrics). ``splits`` (the keys :func:`load_classification` returns)
    replaces the data set's own splits: a K-fold run passes each fold's.

    Raises:
        ConfigError, DataError: bad settings, missing data or checkpoint.
        NonFiniteError: the loss or a gradient became non-finite.
        KeyboardInterrupt: on Ctrl-C; the last epoch's checkpoint is on disk.
    """
    from tabulate import tabulate

    from glassnet import optim
    from glassnet.data import ArrayDataset, DataLoader
    from glassnet.fileio import atomic_write_json
    from glassnet.train import EarlyStopping, ModelCheckpoint, Trainer, make_optimizer

    out = Path(out)
    if config["model"] not in MODELS:
        raise ConfigError(f"model must be one of {sorted(MODELS)}, got {config['model']!r}")
    check_model_data(config["model"], config["data"])
    main = world is None or world.is_main
    if not main:
        echo, progress = (lambda *_: None), False
    if world is not None and not main:
        world.comm.Barrier()  # rank 0 downloads (if needed) before the others read the cache
    data = splits if splits is not None else load_classification(config["data"], config["data_dir"],
                                                                 config["val_fraction"])
    if world is not None and main:
        world.comm.Barrier()
    try:  # only now, with the data loaded: a run that cannot start leaves no empty folder behind
        if main:
            out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"--out: cannot create folder {out}: {e.strerror}") from None
    num_classes = int(max(data["y_train"].max(), data["y_test"].max())) + 1
    sizes = [data["x_train"].shape[1], *config["hidden"], num_classes]
    # one seed, two independent streams: the model (init, dropout masks) and the shuffling
    model_seed, loader_seed = np.random.SeedSequence(config["seed"]).spawn(2)
    model = build_model(config["model"], config["data"], sizes, config, np.random.default_rng(model_seed))
    optimizer = make_optimizer(config["optimizer"], model.parameters(), config["lr"])
    callbacks = [ModelCheckpoint(out, monitor="val_accuracy", config=config)] if main else []
    ddp = None
    if world is not None:
        from glassnet.distributed import DistributedDataParallel

        ddp = DistributedDataParallel(model, world)
        callbacks.append(ddp)
    if config["patience"]:
        callbacks.append(EarlyStopping("val_loss", patience=config["patience"]))
    scheduler = optim.CosineAnnealingLR(optimizer, T_max=config["epochs"]) if config["schedule"] == "cosine" else None
    trainer = Trainer(model, optimizer, loss="softmax_cross_entropy", metrics=["accuracy"], callbacks=callbacks,
                      scheduler=scheduler, grad_hook=ddp, epoch_hook=ddp.reduce_epoch if ddp is not None else None)
    train_set = ArrayDataset(data["x_train"], data["y_train"])
    if world is None:
        train_loader = DataLoader(train_set, batch_size=config["batch_size"], shuffle=True,
                                  rng=np.random.default_rng(loader_seed))
    else:
        from glassnet.distributed import DistributedLoader

        train_loader = DistributedLoader(train_set, batch_size=config["batch_size"], shuffle=True,
                                         rng=np.random.default_rng(loader_seed), world=world)
    n_train = len(data["y_train"])
    global_batch = config["batch_size"] * (1 if world is None else world.size)
    # R ranks drop an epoch's incomplete last global batch (DistributedLoader): say how much, once
    used = n_train if world is None else (n_train // global_batch) * global_batch
    if used < n_train and main:
        echo(f"note: {world.size} ranks x --batch-size {config['batch_size']} = global batch {global_batch}: each "
             f"epoch trains on {used} of the {n_train} training samples (a new random {used} every epoch; the "
             "incomplete last global batch is dropped)")
    val_loader = DataLoader(ArrayDataset(data["x_val"], data["y_val"]), batch_size=512)
    test_loader = DataLoader(ArrayDataset(data["x_test"], data["y_test"]), batch_size=512)
    if resume:
        ckpt = trainer.resume(out / CHECKPOINT)
        echo(f"resuming {out / CHECKPOINT} after epoch {ckpt.epoch} of {config['epochs']}")
    echo(f"{config['model']} {sizes} on {config['data']}: {len(data['y_train'])} train, {len(data['y_val'])} "
         f"validation, {len(data['y_test'])} test samples; {model.num_parameters()} parameters")
    trainer.fit(train_loader, config["epochs"], val_loader=val_loader, progress=progress)
    test = trainer.evaluate(test_loader)
    history = trainer.history.epochs
    rows = [[h["epoch"], h["loss"], h["accuracy"], h["val_loss"], h["val_accuracy"], None] for h in history]
    if rows:
        rows[-1][-1] = test["accuracy"]
    echo(tabulate(rows, headers=["epoch", "train loss", "train acc", "val loss", "val acc", "test acc"],
                  floatfmt=".4f", missingval=""))
    final = history[-1] if history else {}
    metrics = {
        "model": config["model"], "data": config["data"], "seed": config["seed"], "config": config,
        "sizes": sizes, "num_parameters": model.num_parameters(),
        "n_train": n_train, "n_val": len(data["y_val"]), "n_test": len(data["y_test"]),
        "train_samples_per_epoch": used,
        "epochs_completed": trainer.epoch, "steps": trainer.step,
        "stopped_early": bool(trainer.stop_training),
        "test_accuracy": test["accuracy"], "test_loss": test["loss"],
        "final": {k: final.get(k) for k in ("loss", "accuracy", "val_loss", "val_accuracy")},
        "best_val": trainer.history.best("val_accuracy", "max"),
        "history": history,
        "seconds": round(trainer.seconds, 3),
    }
    if main:
        from glassnet.lab import plotting  # matplotlib: only the rank that draws pays its import

        atomic_write_json(out / "metrics.json", metrics)
        if history:
            title = f"{config['model']} {sizes} on {config['data']} (seed {config['seed']})"
            fig = plotting.learning_curve(history, test_value=test["accuracy"], title=title)
            plotting.save_png(fig, out / "learning_curve.png")
        echo(f"test accuracy: {test['accuracy']:.2%} ({len(data['y_test'])} samples) after {trainer.epoch} "
             f"epochs, {trainer.seconds:.1f} s of training")
        written = [out / "metrics.json", out / "learning_curve.png", out / CHECKPOINT, out / "best.npz"]
        echo("wrote " + ", ".join(str(p) for p in written if p.exists()))
    if world is not None:
        world.comm.Barrier()  # every rank returns once rank 0's files are complete: a next run may read them
    return metrics


def _epilog() -> str:
    models = "\n".join(f"  {k:9s} {v}" for k, v in MODELS.items())
    data = "\n".join(f"  {k:9s} {v.description}\n{'':12s}defaults: "
                     + " ".join(f"--{o.replace('_', '-')} {x}" for o, x in {**_DEFAULTS, **v.defaults}.items())
                     for k, v in DATASETS.items())
    dialogue = "\n".join(f"  {k:17s} {v}" for k, v in DIALOGUE_MODELS.items())
    return (f"\b\nModels:\n{models}\n\n\b\nData sets:\n{data}\n\n\b\nDialogue models (--data sgd; options: "
            f"glassnet train hred --help):\n{dialogue}")


class _TrainCommand(click.Command):
    """``glassnet train MODEL``: a dialogue MODEL (``hred`` …) or ``--data sgd`` goes to its own command and options."""

    def make_context(self, info_name, args, parent=None, **extra):
        dialogue = bool(args) and args[0] in DIALOGUE_MODELS
        dialogue |= "--data=sgd" in args or any(a == "--data" and b == "sgd" for a, b in zip(args, args[1:]))
        if dialogue:
            return dialogue_train_command.make_context(info_name, args, parent=parent, **extra)
        return super().make_context(info_name, args, parent=parent, **extra)


# option defaults; a data set's own defaults (DATASETS[...].defaults) take precedence
_DEFAULTS: dict[str, Any] = {"epochs": 30, "batch_size": 64, "hidden": "256,128", "dropout": 0.0, "schedule": "none"}

# options whose value must match the checkpoint's when resuming (epochs may grow)
_FIXED_ON_RESUME = ("data", "data_dir", "batch_size", "lr", "optimizer", "hidden", "activation", "dropout", "seed",
                    "val_fraction", "patience", "schedule")


def check_resume_options(ctx: click.Context, model: str, config: dict[str, Any], saved: dict[str, Any],
                         keys: tuple[str, ...], shown: dict[str, Any] | None = None) -> None:
    """Refuse a ``--resume`` whose MODEL, or any of ``keys`` given on the command line, differs from ``saved``.

    ``shown``: the values to quote in the error (default ``config``'s).

    Raises:
        ConfigError: naming the first option that differs and both values.
    """
    if saved.get("model", model) != model:
        raise ConfigError(f"--resume: MODEL {model!r} differs from the checkpoint's {saved.get('model')!r}")
    for key in keys:
        explicit = ctx.get_parameter_source(key) == click.core.ParameterSource.COMMANDLINE
        if explicit and config[key] != saved.get(key):
            raise ConfigError(f"--resume: --{key.replace('_', '-')} {(shown or config)[key]!r} differs from the "
                              f"checkpoint's {saved.get(key)!r}")


def _check_resume(ctx: click.Context, out: Path, model: str, config: dict[str, Any], epochs: int | None,
                  world: Any) -> dict[str, Any]:
    """The run's config for ``--resume``: the checkpoint's, with ``--epochs`` if given.

    Raises:
        DataError: no checkpoint in ``out``.
        ConfigError: a setting given on the command line that differs from the checkpoint's, another world
            size, or fewer epochs than the checkpoint has completed.
    """
    from glassnet.train import load_checkpoint

    checkpoint = load_checkpoint(out / CHECKPOINT)
    saved = checkpoint.config
    check_resume_options(ctx, model, config, saved, _FIXED_ON_RESUME)
    ranks, saved_ranks = (world.size if world is not None else 1), saved.get("world_size", 1)
    if saved_ranks != ranks:  # the global batch, the data order and every rank's dropout stream depend on it
        raise ConfigError(f"--resume: the checkpoint was written by a run on {saved_ranks} rank(s), this run has "
                          f"{ranks}; resume it " + (f"under mpiexec -n {saved_ranks} with --distributed"
                                                    if saved_ranks > 1 else "in one process, without --distributed"))
    config = {**saved, "epochs": config["epochs"] if epochs is not None else saved["epochs"]}
    done = checkpoint.epoch
    if config["epochs"] < done:
        raise ConfigError(f"--resume: --epochs {config['epochs']} is fewer than the {done} epochs the "
                          f"checkpoint has already completed")
    if saved.get("schedule") == "cosine" and config["epochs"] != saved["epochs"]:
        # the schedule's period T_max is the run's --epochs: past it the rate would climb back up
        raise ConfigError(f"--resume: --epochs {config['epochs']} differs from the checkpoint's "
                          f"{saved['epochs']}, which a cosine schedule anneals over")
    return config


@cli.command("train", cls=_TrainCommand, epilog=_epilog())
@click.argument("model", metavar="MODEL", type=click.Choice(sorted(MODELS)))
@click.option("--data", "data", type=click.Choice(sorted(DATASETS)), required=True, help="Data set to train on.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Epochs [default: per data set, below].")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Samples per step [default: per data set, below].")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=1e-3, show_default=True,
              help="Learning rate.")
@click.option("--optimizer", type=click.Choice(["adam", "sgd", "rmsprop", "adagrad"]), default="adam",
              show_default=True)
@click.option("--hidden", default=None, help="Hidden layer widths, comma-separated [default: per data set, below].")
@click.option("--activation", type=click.Choice(["relu", "leaky_relu", "tanh", "sigmoid"]), default="relu",
              show_default=True)
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=None,
              help="Dropout probability after each hidden layer [default: per data set, below].")
@click.option("--schedule", type=click.Choice(["none", "cosine"]), default=None,
              help="Learning-rate schedule: constant, or cosine annealing to 0 over --epochs "
                   "[default: per data set, below].")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the initial weights, dropout and shuffling (the test split is fixed).")
@click.option("--val-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.1,
              show_default=True, help="Fraction of the training split used for validation.")
@click.option("--patience", type=click.IntRange(min=1), default=None,
              help="Stop early after this many epochs without a lower validation loss.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Folder with the mnist/cifar10 files [default: the download cache].")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Folder for checkpoint.npz, best.npz, metrics.json, learning_curve.png [default: runs/DATA-MODEL].")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its checkpoint.npz.")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="BLAS threads. The products of these MLPs are small: one thread is about as fast on idle "
                   "cores and several times faster on busy ones.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--distributed", is_flag=True,
              help="Data-parallel over the ranks of `mpiexec -n R` (needs glassnet[mpi]): --batch-size per rank, "
                   "rank 0 writes the files, --resume needs the same R; each epoch drops the incomplete last "
                   "global batch (R x --batch-size), as one process with drop_last would.")
@click.option("--folds", type=click.IntRange(min=2), default=None,
              help="K-fold cross-validation: K models, each trained on K-1 stratified folds of the training data "
                   "and validated on the other; prints each fold's scores and their soft-vote ensemble's test "
                   "accuracy; writes fold-k/, folds.json [default: runs/DATA-MODEL-Kfold].")
@click.pass_context
def train_command(ctx: click.Context, model, data, epochs, batch_size, lr, optimizer, hidden, activation, dropout,
                  schedule, seed, val_fraction, patience, data_dir, out, resume, threads, quiet, distributed,
                  folds):
    """Train MODEL on a data set; print a table; write metrics, a learning curve and checkpoints.

    The test split is a stratified 20% held out with a fixed seed; validation
    comes from the rest. Ctrl-C stops the run; --resume continues it from the
    last epoch's checkpoint with the same final numbers.
    """
    if data_dir is not None and not Path(data_dir).is_dir():
        raise ConfigError(f"--data-dir: no such directory: {data_dir}")
    out = Path(out) if out is not None else Path("runs") / (f"{data}-{model}" + (f"-{folds}fold" if folds else ""))
    given = {"epochs": epochs, "batch_size": batch_size, "hidden": hidden, "dropout": dropout, "schedule": schedule}
    chosen = {k: v if v is not None else DATASETS[data].defaults.get(k, _DEFAULTS[k]) for k, v in given.items()}
    config = {"model": model, "data": data, "data_dir": data_dir, "epochs": chosen["epochs"],
              "batch_size": chosen["batch_size"], "lr": lr, "optimizer": optimizer,
              "hidden": _parse_hidden(chosen["hidden"]), "activation": activation, "dropout": chosen["dropout"],
              "schedule": chosen["schedule"], "seed": seed, "val_fraction": val_fraction, "patience": patience}
    if folds is not None:
        from glassnet.cli.folds import check_fold_options

        typed = {p for p in ctx.params if ctx.get_parameter_source(p) == click.core.ParameterSource.COMMANDLINE}
        check_fold_options(typed)
    world = None
    if distributed:
        from glassnet.distributed import init

        world = init()
        config["world_size"] = world.size
    if resume and folds is None:  # a K-fold run checks its own folds.json
        # distributed: a check that fails on one rank (its own view of --out) fails on all, none waits forever
        args = (ctx, out, model, config, epochs, world)
        config = _check_resume(*args) if world is None else world.agree(_check_resume, *args)
    elif folds is None and (out / CHECKPOINT).exists() and (world is None or world.is_main):
        click.echo(f"note: starting a new run in {out} (pass --resume to continue the old one instead)", err=True)
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    threadpool_limits(threads, user_api="blas")
    start = time.perf_counter()
    try:
        # overflow in a diverging run is reported once, by the trainer's non-finite check naming the step
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if folds is not None:
                from glassnet.cli.folds import train_folds

                train_folds(config, out, folds, resume=resume, given=typed, progress=not quiet, echo=click.echo)
            elif world is None:
                run_training(config, out, resume=resume, progress=not quiet, echo=click.echo)
            else:
                with world:  # an error on one rank aborts them all (no rank waits forever)
                    run_training(config, out, resume=resume, progress=not quiet, echo=click.echo, world=world)
    except KeyboardInterrupt:
        kept = f"{out / CHECKPOINT} holds" if folds is None else f"{out}/fold-*/{CHECKPOINT} hold"
        click.echo(f"\ninterrupted: {kept} the last completed epoch; "
                   f"continue with the same command plus --resume", err=True)
        ctx.exit(130)
    if world is None or world.is_main:
        click.echo(f"done in {time.perf_counter() - start:.1f} s")
