"""depth-plain: more layers do not by themselves raise accuracy (deep plain MLPs on MNIST)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glassnet.lab import plotting
from glassnet.lab.base import Experiment, Outcome, verdict_from
from glassnet.lab.cnn import TOPIC
from glassnet.lab.images import ImageMLP, TrainingConfig, load_images, train_classifier


class DepthPlain(Experiment):
    name = "depth-plain"
    topic = TOPIC
    claim = (
        "Adding layers does not by itself raise accuracy: with the same training budget a plain network's test "
        "accuracy stops rising with depth and then falls (the problem residual connections address)."
    )
    criterion = (
        "on MNIST (the shared subset), ReLU MLPs of `width` units per hidden layer, trained identically (SGD with "
        "momentum, same epochs and batches): the best test accuracy is reached below the largest depth, and the "
        "deepest network is at least 1 point below the best"
    )

    @dataclass
    class Config(TrainingConfig):
        depths: tuple = field(default=(1, 2, 3, 5, 8, 12, 16), metadata={"help": "hidden layers to try"})
        width: int = field(default=1000, metadata={"help": "units per hidden layer (the notes: 1000)"})
        epochs: int = field(default=3, metadata={"help": "training epochs of every network"})
        lr: float = field(default=0.01, metadata={"help": "SGD learning rate"})
        momentum: float = field(default=0.9, metadata={"help": "SGD momentum"})

    quick = {"depths": (1, 3, 12), "width": 128, "epochs": 2, "n_train": 1500, "n_test": 500}
    quick_criterion = "the full rule at depths 1, 3 and 12, width 128, 1500 training images, 2 epochs"
    data = ("mnist",)

    def run(self, config, ctx):
        data = load_images("mnist", ctx.data_dir, config.n_train, config.n_test)
        rows = []
        for depth in config.depths:
            init_seq, batch_seq = ctx.spawn_seeds(2)

            def train(depth=depth, init_seq=init_seq, batch_seq=batch_seq):
                model = ImageMLP([784] + [config.width] * depth + [10], rng=np.random.default_rng(init_seq))
                history = train_classifier(model, data, epochs=config.epochs, batch_size=config.batch_size,
                                           lr=config.lr, rng=np.random.default_rng(batch_seq), progress=ctx.progress,
                                           desc=f"depth {depth}", optimizer="sgd", momentum=config.momentum,
                                           evaluate_every=config.epochs)
                return {"params": model.num_parameters(), "history": history}

            done = ctx.unit(f"depth={depth}", train)
            last = done["history"][-1]
            rows.append({"hidden layers": depth, "parameters": done["params"], "test accuracy": last["test_accuracy"],
                         "train loss": last["train_loss"]})
            ctx.log(f"depth {depth}: test accuracy {last['test_accuracy']:.4f}")
        accs = [r["test accuracy"] for r in rows]
        best = int(np.argmax(accs))
        ok = best < len(rows) - 1 and accs[-1] <= accs[best] - 0.01
        fig, ax = ctx.figure()
        ax.plot([r["hidden layers"] for r in rows], accs, marker="o", label=f"{config.width} units per layer")
        plotting.style(ax, title="MNIST: plain MLPs of growing depth, same budget", xlabel="hidden layers",
                       ylabel="test accuracy (share right)")
        ctx.savefig(fig, "accuracy_vs_depth")
        metrics = {f"depth{r['hidden layers']}_accuracy": r["test accuracy"] for r in rows}
        metrics.update(best_depth=rows[best]["hidden layers"], deepest_minus_best=accs[-1] - accs[best])
        notes = [f"Best depth {rows[best]['hidden layers']} ({accs[best]:.4f}); the deepest, "
                 f"{rows[-1]['hidden layers']} layers, {accs[-1]:.4f}. Deeper plain stacks are harder to optimise: "
                 "the gradient passes through every layer's Jacobian (see resnet-degradation for the cure)."]
        return Outcome(verdict_from(ok), metrics, rows, notes)
