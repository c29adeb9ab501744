"""What the FrozenLake experiments (value-iteration, q-learning) share: the value map with greedy arrows."""

from __future__ import annotations

import numpy as np

from glassnet.lab import plotting

_ARROWS = {0: (-1, 0), 1: (0, 1), 2: (1, 0), 3: (0, -1)}


def plot_value_map(ax, desc: np.ndarray, V: np.ndarray, policy: np.ndarray, title: str) -> None:
    """Draw a FrozenLake value heatmap with the greedy action of every non-terminal cell as an arrow.

    Args:
        ax: a matplotlib Axes.
        desc: the env's map, (rows, cols) of bytes ``S F H G``.
        V: (S,) values, S = rows * cols (the colour bar: "value V(s)").
        policy: (S,) int actions.
        title: the axes' title (styled with :func:`glassnet.lab.plotting.style`).
    """
    rows, cols = desc.shape
    grid = V.reshape(rows, cols)
    im = ax.imshow(grid, cmap="viridis", vmin=0.0, vmax=max(1e-9, float(V.max())))
    ax.figure.colorbar(im, ax=ax, fraction=0.046, label="value V(s)")
    for r in range(rows):
        for c in range(cols):
            cell = desc[r, c].decode()
            if cell in "HG":
                ax.text(c, r, cell, ha="center", va="center", color="white" if cell == "H" else "black", fontsize=9)
                continue
            dx, dy = _ARROWS[int(policy[r * cols + c])]
            ax.arrow(c - 0.25 * dx, r - 0.25 * dy, 0.3 * dx, 0.3 * dy, head_width=0.15, color="white", lw=1)
            if rows <= 4:
                ax.text(c, r + 0.35, f"{grid[r, c]:.3f}", ha="center", va="center", color="white", fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])
    plotting.style(ax, title=title, xlabel="column (start top left, goal bottom right)",
                   ylabel="row", legend=False)
    ax.grid(False)  # a heatmap: grid lines would cross the cells
    ax.title.set_fontsize(9)
