"""``Parameter``: a tensor that a :class:`~glassnet.nn.Module` trains."""

from __future__ import annotations

from typing import Any

from glassnet.autograd import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A leaf :class:`~glassnet.autograd.Tensor` with ``requires_grad=True``.

    Assigning a Parameter to a Module attribute registers it, so that
    ``module.parameters()`` finds it and an optimizer updates it. The array is
    used as given (no copy), as ``torch.nn.Parameter`` does.

    Args:
        data: a float array (or a Tensor, whose array is taken).
        name: optional label for ``repr`` and error messages.

    Raises:
        DTypeError: if ``data`` is not a float array.
    """

    __slots__ = ()

    def __init__(self, data: Any, name: str | None = None):
        super().__init__(data, requires_grad=True, name=name)

    def __repr__(self) -> str:
        return "Parameter" + super().__repr__()[len("Tensor"):]
