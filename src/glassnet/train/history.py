"""``History``: one record per epoch, as Keras's ``model.fit`` returns it."""

from __future__ import annotations

from typing import Any

__all__ = ["History"]


class History:
    """The per-epoch values of a run: ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``lr`` …

    Attributes:
        epochs: one dict per completed epoch, each with ``"epoch"`` (1-based).

    Example::

        h = model.fit(x, y, epochs=10)
        h.history["val_accuracy"][-1]     # Keras style: name -> list over epochs
        h.last["loss"]                     # the latest epoch's record
    """

    def __init__(self, epochs: list[dict[str, Any]] | None = None) -> None:
        self.epochs: list[dict[str, Any]] = [dict(e) for e in epochs or []]

    def append(self, record: dict[str, Any]) -> None:
        """Add the record of the next epoch."""
        self.epochs.append(dict(record))

    @property
    def history(self) -> dict[str, list[Any]]:
        """Each quantity as a list over epochs (None where an epoch lacks it)."""
        keys: list[str] = []
        for e in self.epochs:
            keys.extend(k for k in e if k not in keys and k != "epoch")
        return {k: [e.get(k) for e in self.epochs] for k in keys}

    @property
    def last(self) -> dict[str, Any]:
        """The latest epoch's record ({} before the first epoch)."""
        return dict(self.epochs[-1]) if self.epochs else {}

    def best(self, key: str, mode: str = "max") -> dict[str, Any]:
        """The record of the epoch with the highest (``mode="max"``) or lowest ``key``; {} if none has it."""
        rows = [e for e in self.epochs if e.get(key) is not None]
        if not rows:
            return {}
        pick = max if mode == "max" else min
        return dict(pick(rows, key=lambda e: e[key]))

    def __len__(self) -> int:
        return len(self.epochs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (stored in checkpoints and metrics.json)."""
        return {"epochs": [dict(e) for e in self.epochs]}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> History:
        """Inverse of :meth:`to_dict`."""
        return cls(state.get("epochs", []))

    def __repr__(self) -> str:
        return f"History({len(self)} epochs, last={self.last})"
