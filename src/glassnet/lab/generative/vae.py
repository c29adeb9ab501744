"""vae: a variational autoencoder on MNIST learns a distribution of digits; a larger latent fits better."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glassnet import functional as F
from glassnet import no_grad
from glassnet.lab import plotting
from glassnet.lab.base import Experiment, Outcome, verdict_from
from glassnet.lab.generative import TOPIC, fit, load_flat_mnist
from glassnet.zoo import VAE


def _neg_elbo(model, x, rng, batch_size: int = 500) -> float:
    """Mean test -ELBO (nats per image), one z sample per image, without a graph."""
    total = 0.0
    with no_grad():
        for lo in range(0, len(x), batch_size):
            total += float(model.loss(x[lo:lo + batch_size], rng).item()) * len(x[lo:lo + batch_size])
    return total / len(x)


def _grid(images: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``(rows·cols, 784)`` images as one ``(28·rows, 28·cols)`` picture."""
    return images.reshape(rows, cols, 28, 28).transpose(0, 2, 1, 3).reshape(rows * 28, cols * 28)


class VAEExperiment(Experiment):
    name = "vae"
    topic = TOPIC
    claim = (
        "A variational autoencoder learns a distribution (a mean and a variance per latent) instead of a point "
        "code: its ELBO bounds the data's log-likelihood, samples from the prior look like digits, and a larger "
        "latent space fits MNIST better than a 2-D one."
    )
    criterion = (
        "on the MNIST subset, 784-400-z VAEs trained identically: the test -ELBO (nats per image) at z = 20 is "
        "at most `target_neg_elbo` (110; PyTorch's reference example with this architecture reaches 106.7 on all "
        "60k images), the one at z = 10 is below that at z = 2, and for every z the importance-weighted NLL "
        "estimate (k = 100) is at most the -ELBO (the bound is a bound)"
    )

    @dataclass
    class Config:
        zs: tuple = field(default=(2, 10, 20), metadata={"help": "latent sizes z to train"})
        hidden: int = field(default=400, metadata={"help": "hidden units of encoder and decoder"})
        epochs: int = field(default=50, metadata={"help": "training epochs of each VAE (measured: 10 epochs end at "
                                                             "126.7 nats at z = 20 on the subset, 50 at 108.7)"})
        batch_size: int = field(default=128, metadata={"help": "images per step"})
        lr: float = field(default=1e-3, metadata={"help": "Adam learning rate"})
        n_train: int = field(default=0, metadata={"help": "training images used (0: all)"})
        n_test: int = field(default=0, metadata={"help": "test images used (0: all)"})
        iwae_k: int = field(default=100, metadata={"help": "importance samples of the NLL estimate"})
        iwae_images: int = field(default=500, metadata={"help": "test images the NLL estimate is taken on"})
        target_neg_elbo: float = field(default=110.0, metadata={"help": "the largest test -ELBO (nats) accepted "
                                                                        "at z = 20"})

    quick = {"zs": (2, 10), "hidden": 200, "epochs": 6, "batch_size": 64, "lr": 2e-3, "n_train": 2000,
             "n_test": 300, "iwae_k": 20, "iwae_images": 100}
    quick_criterion = ("the full rule without the 110-nat line (z in (2, 10) only), 200 hidden units, 6 epochs "
                       "(lr 2e-3) on 2000 images, the NLL estimate with k = 20 on 100 test images")
    data = ("mnist",)

    def run(self, config, ctx):
        data = load_flat_mnist(ctx.data_dir, config.n_train, config.n_test)
        x_train, x_test = data["x_train"], data["x_test"]
        # the interpolation's ends: the first test digit and the first one of another class
        ends = [0, int(np.flatnonzero(data["y_test"] != data["y_test"][0])[0])]
        rows, pictures = [], {}
        for z in config.zs:
            init_seq, train_seq, eval_seq = ctx.spawn_seeds(3)

            def train(z=z, init_seq=init_seq, train_seq=train_seq, eval_seq=eval_seq):
                model = VAE(784, config.hidden, z, rng=np.random.default_rng(init_seq))
                curve = fit(model, x_train, epochs=config.epochs, batch_size=config.batch_size, lr=config.lr,
                            rng=np.random.default_rng(train_seq), progress=ctx.progress, desc=f"z={z}")
                gen = np.random.default_rng(eval_seq)
                elbo = _neg_elbo(model, x_test, gen)
                nll = model.iwae_nll(x_test[:config.iwae_images], k=config.iwae_k, rng=gen)
                elbo_sub = _neg_elbo(model, x_test[:config.iwae_images], gen)
                with no_grad():
                    recon = F.sigmoid(model.decode(model.encode(x_test[:8])[0])).data
                    # decode the straight line between the two digits' posterior means μ(x_a), μ(x_b)
                    mu = model.encode(x_test[ends])[0].data  # (2, z)
                    t = np.linspace(0.0, 1.0, 10, dtype=np.float32)[:, None]
                    between = F.sigmoid(model.decode((1 - t) * mu[0] + t * mu[1])).data  # (10, 784)
                out = {"z": z, "curve": curve, "neg_elbo": elbo, "iwae_nll": nll, "neg_elbo_subset": elbo_sub,
                       "samples": model.sample(16, gen).round(3).tolist(), "recon": recon.round(3).tolist(),
                       "interpolation": between.round(3).tolist()}
                if z == 2:  # the 2-D latent manifold: decode a grid of Gaussian quantiles
                    from scipy.stats import norm

                    q = norm.ppf(np.linspace(0.05, 0.95, 10)).astype(np.float32)
                    grid = np.array([[a, b] for b in q[::-1] for a in q], dtype=np.float32)
                    with no_grad():
                        out["manifold"] = F.sigmoid(model.decode(grid)).data.round(3).tolist()
                return out

            done = ctx.unit(f"z={z}", train)
            pictures[z] = done
            rows.append({"z": z, "test -ELBO (nats)": done["neg_elbo"],
                         f"IWAE NLL, k={config.iwae_k} (nats)": done["iwae_nll"],
                         "-ELBO on the same images": done["neg_elbo_subset"],
                         "train -ELBO, last epoch": done["curve"][-1]})
            ctx.log(f"z={z}: test -ELBO {done['neg_elbo']:.1f} nats, IWAE NLL {done['iwae_nll']:.1f}")
        elbo = {r["z"]: r["test -ELBO (nats)"] for r in rows}
        bound_ok = all(p["iwae_nll"] <= p["neg_elbo_subset"] + 1e-6 for p in pictures.values())
        target_ok = 20 not in elbo or elbo[20] <= config.target_neg_elbo
        ok = bound_ok and target_ok and (2 not in elbo or 10 not in elbo or elbo[10] < elbo[2])
        self._plots(ctx, pictures, x_test)
        metrics = {f"z{r['z']}_neg_elbo": r["test -ELBO (nats)"] for r in rows}
        metrics.update({f"z{p['z']}_iwae_nll": p["iwae_nll"] for p in pictures.values()}, bound_holds=bound_ok,
                       target_met=target_ok)
        notes = [f"Trained on {len(x_train)} images (the shared 8k subset's training part), tested on "
                 f"{len(x_test)}, {config.epochs} epochs. PyTorch's example (784-400-20, all 60k images, 10 epochs) "
                 "reports 106.7 nats; on a tenth of the images the same 10 epochs end near 127 nats (a tenth of the "
                 "steps), so the full run trains longer.",
                 "IWAE (Burda et al. 2016) averages k importance weights p(x, z_i) / q(z_i | x) before the log; "
                 "it is a tighter bound than the ELBO (k = 1), so it sits below the -ELBO."]
        return Outcome(verdict_from(ok), metrics, rows, notes)

    @staticmethod
    def _plots(ctx, pictures, x_test):
        fig, axes = ctx.figure(1, 4, size=(17, 4.6), squeeze=False)
        top = max(pictures)
        axes[0][0].imshow(_grid(np.asarray(pictures[top]["samples"]), 4, 4), cmap="gray")
        axes[0][0].set_title(f"samples from the prior, z = {top}")
        recon = np.concatenate([x_test[:8], np.asarray(pictures[top]["recon"])])
        axes[0][1].imshow(_grid(recon, 2, 8), cmap="gray")
        axes[0][1].set_title(f"test digits (top) and reconstructions, z = {top}")
        if 2 in pictures and "manifold" in pictures[2]:
            axes[0][2].imshow(_grid(np.asarray(pictures[2]["manifold"]), 10, 10), cmap="gray")
            axes[0][2].set_title("z = 2: the decoded latent grid (Gaussian quantiles)")
        if "interpolation" in pictures[top]:
            axes[0][3].imshow(_grid(np.asarray(pictures[top]["interpolation"]), 2, 5), cmap="gray")
            axes[0][3].set_title(f"decoded (1 - t)·μ_a + t·μ_b, t = 0 … 1, z = {top}")
        for ax in axes[0]:
            ax.axis("off")
        ctx.savefig(fig, "samples")
        fig, ax = ctx.figure()
        for z, p in pictures.items():
            ax.plot(range(1, len(p["curve"]) + 1), p["curve"], marker="o", label=f"z = {z}")
        plotting.style(ax, title="training -ELBO", xlabel="epoch", ylabel="-ELBO (nats per image)")
        ctx.savefig(fig, "training_elbo")
