"""The one way glassnet draws: every experiment's plots and ``glassnet train``'s learning curve.

Figures are ``matplotlib.figure.Figure`` objects built without pyplot (no global
state, no GUI backend, nothing to close), written as PNG atomically. One style
for all of them:

* every axes gets a title, axis labels with units (``"training step"``,
  ``"MSE / Var(y)"``, ``"return G"``) and a legend when it has labelled lines;
* a quantity that spans more than two orders of magnitude is drawn on a log
  scale (:func:`style` with ``log="auto"``);
* a light grid, and the same DPI everywhere.

Typical use inside an experiment::

    fig, (ax_loss, ax_acc) = plotting.figure(1, 2)
    ax_loss.plot(steps, losses, label="LSTM")
    plotting.style(ax_loss, title="training loss", xlabel="step", ylabel="MSE", log="auto")
    ctx.savefig(fig, "loss")       # RunContext writes <out>/loss.png
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from glassnet.fileio import atomic_write_bytes

__all__ = ["DPI", "figure", "style", "spans_decades", "png_bytes", "save_png", "learning_curve"]

DPI = 110
_CELL = (5.0, 3.6)  # inches per subplot


def figure(nrows: int = 1, ncols: int = 1, *, size: tuple[float, float] | None = None, title: str | None = None,
           squeeze: bool = True, **subplot_kw: Any):
    """A new figure and its axes: ``fig, ax = figure()``; ``fig, (a, b) = figure(1, 2)``.

    Args:
        nrows, ncols: the grid of subplots.
        size: (width, height) in inches; default 5 x 3.6 per subplot.
        title: the figure's title (``suptitle``).
        squeeze: as matplotlib's ``subplots`` (a single axes is returned bare).
        subplot_kw: passed to ``Figure.subplots`` (``sharex``, ``gridspec_kw``, ...).

    Returns:
        ``(fig, axes)``: a ``matplotlib.figure.Figure`` (constrained layout) and an Axes or an array of them.
    """
    from matplotlib.figure import Figure

    size = size or (_CELL[0] * ncols, _CELL[1] * nrows)
    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=squeeze, **subplot_kw)
    if title:
        fig.suptitle(title)
    return fig, axes


def spans_decades(values: Iterable[float], decades: float = 2.0) -> bool:
    """True if the positive finite ``values`` span more than ``decades`` orders of magnitude (and none is <= 0)."""
    v = np.asarray([float(x) for x in values], dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size < 2 or (v <= 0).any():
        return False
    return bool(np.log10(v.max() / v.min()) > decades)


def _data_of(ax: Any, axis: str) -> list[float]:
    values: list[float] = []
    for line in ax.get_lines():
        values += list(np.asarray(line.get_ydata() if axis == "y" else line.get_xdata(), dtype=np.float64).ravel())
    for coll in ax.collections:
        offsets = np.asarray(coll.get_offsets())
        if offsets.ndim == 2 and offsets.shape[1] == 2:
            values += list(offsets[:, 1 if axis == "y" else 0])
    return values


def style(ax: Any, *, title: str, xlabel: str, ylabel: str, log: str | bool = False, logx: bool = False,
          legend: bool | None = None, legend_loc: str = "best") -> Any:
    """Give ``ax`` the house style: title, labelled axes, grid, legend, and a log scale where it helps.

    Args:
        title, xlabel, ylabel: required; labels should carry units (``"time (s)"``, ``"nats per image"``).
        log: True for a log y axis; ``"auto"`` for one when the plotted y values span more than two
            decades (all positive); False for linear.
        logx: a log x axis.
        legend: draw the legend (default: when some artist has a label not starting with ``_``).
        legend_loc: matplotlib's ``loc``.

    Returns:
        ``ax``.
    """
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if log == "auto":
        log = spans_decades(_data_of(ax, "y"))
    if log:
        ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    ax.grid(alpha=0.3, which="both" if log or logx else "major")
    handles, labels = ax.get_legend_handles_labels()
    if legend is None:
        legend = any(label and not label.startswith("_") for label in labels)
    if legend and handles:
        ax.legend(fontsize=8, loc=legend_loc)
    return ax


def png_bytes(fig: Any) -> bytes:
    """``fig`` rendered as PNG (``DPI`` dots per inch)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def save_png(fig: Any, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` as PNG, atomically (a crash never leaves half a file). Returns the path."""
    path = Path(path)
    atomic_write_bytes(path, png_bytes(fig))
    return path


def learning_curve(history: list[dict[str, Any]], *, loss_label: str = "cross-entropy loss",
                   metric: str = "accuracy", test_value: float | None = None, title: str = ""):
    """Loss and a metric against epoch, train and validation side by side (``glassnet train``'s plot).

    Args:
        history: records with ``epoch``, ``loss``, ``val_loss``, ``<metric>``, ``val_<metric>`` (the
            validation keys may be missing).
        loss_label: the loss axis's label.
        metric: the metric plotted on the right.
        test_value: drawn as a dashed line on the metric axes (the final test score), if given.
        title: the figure's title.

    Returns:
        The Figure.
    """
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_metric) = figure(1, 2, title=title or None)
    ax_loss.plot(epochs, [h["loss"] for h in history], marker=".", label="train")
    if history and "val_loss" in history[0]:
        ax_loss.plot(epochs, [h["val_loss"] for h in history], marker=".", label="validation")
    style(ax_loss, title="loss", xlabel="epoch", ylabel=loss_label, log="auto")
    if history and metric in history[0]:
        ax_metric.plot(epochs, [h[metric] for h in history], marker=".", label="train")
    if history and f"val_{metric}" in history[0]:
        ax_metric.plot(epochs, [h[f"val_{metric}"] for h in history], marker=".", label="validation")
    if test_value is not None:
        ax_metric.axhline(test_value, color="gray", linestyle="--", label=f"test (final) {test_value:.2%}")
    style(ax_metric, title=metric, xlabel="epoch", ylabel=metric)
    return fig


def pr_curves(curves: dict[Any, Any], *, names: dict[Any, str] | None = None, title: str = "precision-recall"):
    """Precision against recall, one step line per class, with each class's AP in the legend.

    Args:
        curves: class -> an object with ``recall`` and ``precision`` ``(D,)`` arrays (after each ranked
            detection) and ``ap`` (``glassnet.detection.PRCurve``, e.g. ``evaluate_detections(...).curves``).
        names: class -> label (default: the class itself).
        title: the axes' title.

    Returns:
        The Figure. Axes run over [0, 1.02]; a class with no detection is drawn as a single point at
        (0, 0) so that it still appears in the legend.
    """
    fig, ax = figure()
    for k, c in curves.items():
        recall = np.concatenate([[0.0], np.asarray(c.recall, dtype=float)])
        precision = np.concatenate([[1.0 if len(c.recall) else 0.0], np.asarray(c.precision, dtype=float)])
        label = f"{(names or {}).get(k, k)} (AP {c.ap:.3f})"
        ax.step(recall, precision, where="post", label=label)
    style(ax, title=title, xlabel="recall", ylabel="precision")
    ax.set_xlim(0.0, 1.02)
    ax.set_ylim(0.0, 1.02)
    return fig
