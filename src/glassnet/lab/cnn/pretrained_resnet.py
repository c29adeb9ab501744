"""pretrained-resnet: the published CIFAR-10 ResNets, loaded from torch files, classify the CIFAR-10 subset."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glassnet import no_grad
from glassnet.data.datasets import load_cifar10
from glassnet.data.datasets.cifar10 import CIFAR10_CLASSES
from glassnet.lab import plotting
from glassnet.lab.base import Experiment, Outcome, verdict_from
from glassnet.lab.cnn import TOPIC
from glassnet.zoo.pretrained import normalize_cifar, pretrained_cifar_resnet

# accuracy of the same weights on the same 8000 images, measured with torch (shared/data/README.md)
TORCH_ACCURACY = {"resnet20": 0.810, "resnet56": 0.831}


class PretrainedResNet(Experiment):
    name = "pretrained-resnet"
    topic = TOPIC
    claim = (
        "Weights trained in PyTorch run unchanged in glassnet: the published CIFAR-10 ResNet-20 and ResNet-56 "
        "(He et al. 2016, option-A shortcuts) classify real CIFAR-10 images at the accuracy they have in torch, "
        "and the deeper one is the more accurate."
    )
    criterion = (
        "on the 8000-image CIFAR-10 subset (decoded from JPEG), each model's accuracy is within 0.5 points of "
        "torch's on the same images (81.0% and 83.1%), and ResNet-56 > ResNet-20"
    )

    @dataclass
    class Config:
        models: tuple = field(default=("resnet20", "resnet56"), metadata={"help": "resnet20 and/or resnet56"})
        images: int = field(default=8000, metadata={"help": "images scored (the first ones of the subset)"})
        batch_size: int = field(default=200, metadata={"help": "images per forward pass"})
        examples: int = field(default=16, metadata={"help": "misclassified images shown"})

    quick = {"models": ("resnet20",), "images": 400}
    quick_criterion = ("ResNet-20 on the first 400 images: accuracy within 5 points of torch's 81.0% on all 8000 "
                       "(400 images carry about 2 points of sampling error)")
    data = ("cifar10", "pretrained")

    def run(self, config, ctx):
        x_raw, y = load_cifar10(ctx.data_dir, batch=_batch(ctx.data_dir), download=ctx.data_dir is None)
        x_raw, y = x_raw[:config.images], y[:config.images]
        x = normalize_cifar(x_raw)
        rows, preds, metrics = [], {}, {}
        for name in config.models:
            model = pretrained_cifar_resnet(name, root=ctx.data_dir, download=ctx.data_dir is None)
            with no_grad():
                logits = np.concatenate([model(x[i:i + config.batch_size]).data
                                         for i in ctx.progress(range(0, len(x), config.batch_size), desc=name)])
            pred = logits.argmax(axis=1)
            preds[name] = pred
            acc = float((pred == y).mean())
            metrics[f"{name}_accuracy"] = acc
            rows.append({"model": name, "parameters": model.num_parameters(), "images": len(y), "accuracy": acc,
                         "torch (8000 images)": TORCH_ACCURACY[name], "difference": acc - TORCH_ACCURACY[name]})
            ctx.log(f"{name}: accuracy {acc:.4f}")
        tolerance = 0.005 if config.images >= 8000 else 0.05
        ok = all(abs(metrics[f"{m}_accuracy"] - TORCH_ACCURACY[m]) <= tolerance for m in config.models)
        if {"resnet20", "resnet56"} <= set(config.models):
            ok = ok and metrics["resnet56_accuracy"] > metrics["resnet20_accuracy"]
        best = config.models[-1]
        per_class = [{"class": c, **{m: float((preds[m][y == k] == k).mean()) for m in config.models}}
                     for k, c in enumerate(CIFAR10_CLASSES)]
        self._plots(ctx, preds[best], y, x_raw, best, config.examples)
        notes = [f"Per-class accuracy of {best}: " + ", ".join(f"{r['class']} {r[best]:.2f}" for r in per_class),
                 "The published figures (91.73% and 93.39%) are on the original PNG test set; these images were "
                 "decoded from JPEG copies, which costs about ten points, the same in torch."]
        return Outcome(verdict_from(ok), metrics, rows, notes)

    @staticmethod
    def _plots(ctx, pred, y, x_raw, name, examples):
        k = len(CIFAR10_CLASSES)
        confusion = np.zeros((k, k), dtype=np.int64)
        np.add.at(confusion, (y, pred), 1)
        fig, ax = ctx.figure(size=(6.5, 5.5))
        image = ax.imshow(confusion / confusion.sum(axis=1, keepdims=True), cmap="Blues", vmin=0, vmax=1)
        fig.colorbar(image, ax=ax, label="share of the true class")
        ax.set_xticks(range(k), CIFAR10_CLASSES, rotation=60, fontsize=7)
        ax.set_yticks(range(k), CIFAR10_CLASSES, fontsize=7)
        plotting.style(ax, title=f"{name}: confusion matrix", xlabel="predicted class", ylabel="true class")
        ax.grid(False)
        ctx.savefig(fig, "confusion_matrix")
        wrong = np.flatnonzero(pred != y)[:examples]
        if len(wrong):
            cols = 8
            fig, axes = ctx.figure((len(wrong) + cols - 1) // cols, cols, size=(12, 1.8 * ((len(wrong) + cols - 1)
                                                                                          // cols)), squeeze=False)
            for ax in axes.ravel():
                ax.axis("off")
            for ax, i in zip(axes.ravel(), wrong):
                ax.imshow(x_raw[i].transpose(1, 2, 0))
                ax.set_title(f"{CIFAR10_CLASSES[y[i]]} -> {CIFAR10_CLASSES[pred[i]]}", fontsize=7)
            fig.suptitle(f"{name}: misclassified images (true -> predicted)")
            ctx.savefig(fig, "misclassified")


def _batch(data_dir) -> str:
    """The shared 8000-image subset where the data home holds it (TORCH_ACCURACY is measured on it), else
    the official test batch (downloaded if missing)."""
    from glassnet.data.download import data_home

    home = data_home(data_dir)
    return "cifar10_8k_batch" if any((home / d / "cifar10_8k_batch").is_file() for d in ("", "cifar10")) \
        else "test_batch"
