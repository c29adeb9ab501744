"""autoencoder-vs-pca: a linear autoencoder finds PCA's subspace; a nonlinear one reconstructs better."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from glassnet import no_grad
from glassnet.lab import plotting
from glassnet.lab.base import Experiment, Outcome, verdict_from
from glassnet.lab.generative import TOPIC, fit, load_flat_mnist
from glassnet.zoo import Autoencoder


def _mse(model, x) -> float:
    with no_grad():
        return float(((model(x).data.astype(np.float64) - x) ** 2).mean())


class AutoencoderVsPCA(Experiment):
    name = "autoencoder-vs-pca"
    topic = TOPIC
    claim = (
        "An autoencoder reduces dimension like PCA: a linear autoencoder with a k-unit code learns PCA's "
        "k-dimensional principal subspace, and a nonlinear one reconstructs better than PCA at the same k."
    )
    criterion = (
        "on MNIST (the shared subset, centred by the training mean), for every code size k: the largest principal "
        "angle between the linear "
        "autoencoder's decoder columns and scikit-learn PCA's top-k components is at most `max_angle` degrees and "
        "its test reconstruction MSE is within 1% of PCA's; the ReLU autoencoder's test MSE is below PCA's"
    )

    @dataclass
    class Config:
        ks: tuple = field(default=(2, 8), metadata={"help": "code sizes k to compare"})
        hidden: int = field(default=256, metadata={"help": "hidden width of the nonlinear autoencoder (784-h-k-h-784)"})
        linear_epochs: int = field(default=40, metadata={"help": "epochs of the linear autoencoder"})
        linear_lr: float = field(default=1e-2, metadata={"help": "Adam lr of the linear AE (falls 3x)"})
        epochs: int = field(default=8, metadata={"help": "epochs of the nonlinear autoencoder"})
        lr: float = field(default=1e-3, metadata={"help": "Adam learning rate of the nonlinear autoencoder"})
        batch_size: int = field(default=128, metadata={"help": "images per step"})
        max_angle: float = field(default=10.0, metadata={"help": "largest principal angle allowed, degrees"})
        n_train: int = field(default=0, metadata={"help": "training images used (0: all)"})
        n_test: int = field(default=0, metadata={"help": "test images used (0: all)"})

    quick = {"ks": (2,), "hidden": 128, "linear_epochs": 40, "epochs": 4, "batch_size": 64, "n_train": 2000,
             "n_test": 1000}
    quick_criterion = ("the full rule at k = 2 only, 2000 training images, linear autoencoder 40 epochs, "
                       "ReLU autoencoder (784-128-2) 4 epochs")
    data = ("mnist",)

    def run(self, config, ctx):
        from scipy.linalg import subspace_angles
        from sklearn.decomposition import PCA

        data = load_flat_mnist(ctx.data_dir, config.n_train, config.n_test)
        # centred by the training mean, as PCA centres: the autoencoders need not spend steps on the mean
        mean = data["x_train"].mean(axis=0)
        x, xt, yt = data["x_train"] - mean, data["x_test"] - mean, data["y_test"]
        rows, codes = [], {}
        for k in config.ks:
            lin_seq, lin_batch, ae_seq, ae_batch = ctx.spawn_seeds(4)

            def measure(k=k, lin_seq=lin_seq, lin_batch=lin_batch, ae_seq=ae_seq, ae_batch=ae_batch):
                pca = PCA(k, random_state=0).fit(x)
                pca_mse = float(((pca.inverse_transform(pca.transform(xt)) - xt) ** 2).mean())
                lin = Autoencoder([784, k], activation=None, rng=np.random.default_rng(lin_seq))
                fit(lin, x, epochs=config.linear_epochs, batch_size=config.batch_size, lr=config.linear_lr,
                    lr_end=config.linear_lr / 3, rng=np.random.default_rng(lin_batch), progress=ctx.progress,
                    desc=f"linear k={k}")
                # the decoder's k columns span the linear autoencoder's reconstruction subspace
                basis = lin.decoder[0].W.data.T.astype(np.float64)  # (784, k)
                angles = np.degrees(subspace_angles(basis, pca.components_.T))
                ae = Autoencoder([784, config.hidden, k], activation="relu", rng=np.random.default_rng(ae_seq))
                fit(ae, x, epochs=config.epochs, batch_size=config.batch_size, lr=config.lr,
                    rng=np.random.default_rng(ae_batch), progress=ctx.progress, desc=f"relu k={k}")
                out = {"pca_mse": pca_mse, "linear_mse": _mse(lin, xt), "relu_mse": _mse(ae, xt),
                       "max_angle": float(angles.max()), "mean_angle": float(angles.mean())}
                if k == 2:
                    with no_grad():
                        out["codes"] = {"PCA": pca.transform(xt).tolist(),
                                        "linear autoencoder": lin.encode(xt).data.tolist(),
                                        "ReLU autoencoder": ae.encode(xt).data.tolist()}
                return out

            done = ctx.unit(f"k={k}", measure)
            if "codes" in done:
                codes = done.pop("codes")
            rows.append({"k": k, "PCA MSE": done["pca_mse"], "linear AE MSE": done["linear_mse"],
                         "linear / PCA": done["linear_mse"] / done["pca_mse"], "ReLU AE MSE": done["relu_mse"],
                         "ReLU / PCA": done["relu_mse"] / done["pca_mse"],
                         "largest angle (deg)": done["max_angle"], "mean angle (deg)": done["mean_angle"]})
            ctx.log(f"k={k}: {rows[-1]}")
        ok = all(r["largest angle (deg)"] <= config.max_angle and r["linear / PCA"] <= 1.01 and r["ReLU / PCA"] < 1
                 for r in rows)
        self._plots(ctx, rows, codes, yt)
        metrics = {}
        for r in rows:
            k = r["k"]
            metrics.update({f"k{k}_pca_mse": r["PCA MSE"], f"k{k}_linear_mse": r["linear AE MSE"],
                            f"k{k}_relu_mse": r["ReLU AE MSE"], f"k{k}_max_angle_deg": r["largest angle (deg)"],
                            f"k{k}_linear_over_pca": r["linear / PCA"], f"k{k}_relu_over_pca": r["ReLU / PCA"]})
        notes = ["MSE: mean squared error per pixel on the test images (pixels in [0, 1]). Angles: principal angles "
                 "(scipy.linalg.subspace_angles) between the linear decoder's columns and PCA's components; a linear "
                 "autoencoder learns the subspace, not the components themselves (any basis of it is as good).",
                 "Gradient training reaches the small-eigenvalue directions last, so the largest angle falls slowly "
                 "with epochs while the MSE is already close to PCA's."]
        return Outcome(verdict_from(ok), metrics, rows, notes)

    @staticmethod
    def _plots(ctx, rows, codes, y):
        fig, ax = ctx.figure()
        ks = [r["k"] for r in rows]
        for key, marker in (("PCA MSE", "s"), ("linear AE MSE", "o"), ("ReLU AE MSE", "^")):
            ax.plot(ks, [r[key] for r in rows], marker=marker, label=key.replace(" MSE", ""))
        plotting.style(ax, title="MNIST test reconstruction error", xlabel="code size k",
                       ylabel="MSE per pixel")
        ctx.savefig(fig, "reconstruction_mse")
        if codes:
            fig, axes = ctx.figure(1, 3, size=(15, 4.4))
            for ax, (label, code) in zip(axes, codes.items()):
                c = np.asarray(code)
                sc = ax.scatter(c[:, 0], c[:, 1], c=y[:len(c)], cmap="tab10", s=4, vmin=-0.5, vmax=9.5)
                plotting.style(ax, title=f"{label}: 2-D code of test digits", xlabel="code 1", ylabel="code 2")
            fig.colorbar(sc, ax=axes, ticks=range(10), label="digit")
            ctx.savefig(fig, "codes_2d")
