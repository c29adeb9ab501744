"""Define-by-run reverse-mode automatic differentiation.

A :class:`Tensor` wraps an array (NumPy, or CuPy on a GPU). Applying a
:class:`Function` to tensors runs its ``forward`` on their arrays and, when
gradients are wanted, links the outputs to the function (``creator``) and the
function to its inputs. ``loss.backward()`` then visits the functions from
the output back to the leaves in decreasing *generation* (the longest path
from a leaf), so a function's backward runs only once every gradient flowing
into its outputs has been summed: the multivariate chain rule
``dL/dx = sum_k dL/dy_k * dy_k/dx`` for a value ``x`` used by several ``y_k``.

Conventions (see docs/notation.md):

* gradients are plain arrays of the same shape and dtype as their tensor's data;
* only leaves (tensors made by the user with ``requires_grad=True``) keep
  ``.grad`` after backward, unless :meth:`Tensor.retain_grad` was called;
* gradients are accumulated into ``.grad`` and never written into an incoming
  gradient or into an array a Function saved;
* the graph is freed after ``backward()`` unless ``retain_graph=True``;
* there are no higher-order gradients: backward runs on arrays, not tensors.

Reference: the design follows DeZero (Saito, *Deep Learning from Scratch 3*)
and PyTorch's autograd semantics.
"""

from __future__ import annotations

import contextlib
import heapq
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from glassnet.backend import (
    FLOAT_DTYPES,
    array_module_for,
    get_array_module,
    get_default_dtype,
    to_device,
    to_numpy,
)
from glassnet.errors import DTypeError, GraphError, ShapeError

__all__ = ["Tensor", "Function", "backward", "no_grad", "enable_grad", "is_grad_enabled", "as_tensor", "as_array"]

_grad_enabled = True


def is_grad_enabled() -> bool:
    """True unless inside :func:`no_grad`."""
    return _grad_enabled


@contextlib.contextmanager
def _set_grad_enabled(mode: bool) -> Iterator[None]:
    global _grad_enabled
    previous = _grad_enabled
    _grad_enabled = mode
    try:
        yield
    finally:
        _grad_enabled = previous


def no_grad():
    """Context manager in which no graph is recorded (evaluation, optimizer updates).

    Example::

        with glassnet.no_grad():
            logits = model(x)
    """
    return _set_grad_enabled(False)


def enable_grad():
    """Context manager that turns graph recording back on inside :func:`no_grad`."""
    return _set_grad_enabled(True)


def as_array(x: Any, dtype=None):
    """Return ``x`` as an array; Python floats and float lists get the default dtype."""
    if isinstance(x, Tensor):
        return x.data
    xp = get_array_module(x)
    if isinstance(x, xp.ndarray):
        return x if dtype is None else x.astype(dtype, copy=False)
    if isinstance(x, np.generic):
        return np.asarray(x, dtype=dtype)
    arr = np.asarray(x, dtype=dtype)
    if dtype is None and arr.dtype.kind == "f":
        arr = arr.astype(get_default_dtype(), copy=False)
    return arr


def as_tensor(x: Any, like: Tensor | None = None) -> Tensor:
    """Return ``x`` as a Tensor; a Python number takes the dtype of ``like`` when given."""
    if isinstance(x, Tensor):
        return x
    if like is not None and np.isscalar(x):
        xp = get_array_module(like.data)
        dtype = like.data.dtype if like.data.dtype.kind == "f" else None
        return Tensor(xp.asarray(x, dtype=dtype))
    return Tensor(as_array(x))


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    Args:
        data: array-like. NumPy/CuPy arrays keep their dtype; Python floats and
            lists of floats become the default dtype (float32).
        requires_grad: whether backward should compute ``dL/d(this)``.
        name: optional label, shown in ``repr`` and in gradcheck reports.

    Attributes:
        data: the array.
        grad: ``None`` or an array of ``data``'s shape and dtype, filled by
            :meth:`backward` (leaves only, unless :meth:`retain_grad`).
        creator: the :class:`Function` that produced this tensor, or None for a leaf.
        generation: 0 for leaves; 1 + the creator's generation otherwise.
    """

    __slots__ = ("data", "grad", "requires_grad", "creator", "generation", "name", "_retain", "_hooks", "__weakref__")
    # Make ``ndarray op Tensor`` defer to Tensor's reflected operators.
    __array_priority__ = 1000.0

    def __init__(self, data: Any, requires_grad: bool = False, name: str | None = None):
        if isinstance(data, Tensor):
            data = data.data
        self.data = as_array(data)
        if requires_grad and self.data.dtype.kind != "f":
            raise DTypeError(f"Tensor: requires_grad needs a float array, got dtype {self.data.dtype}")
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.creator: Function | None = None
        self.generation = 0
        self.name = name
        self._retain = False
        self._hooks: list[Callable] | None = None

    # ----------------------------------------------------------------- array facts
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self):
        return self.data.dtype

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        body = repr(self.data).replace("\n", "\n" + " " * 7)
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self.name:
            extra += f", name={self.name!r}"
        return f"Tensor({body}{extra})"

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array on the host, detached from the graph.

        A copy only when the data lives on a GPU; on the CPU it is ``data`` itself,
        so writing into it changes the tensor (as ``torch.Tensor.numpy``).
        Unlike torch, a tensor that requires grad is not refused.
        """
        return to_numpy(self.data)

    def item(self) -> float:
        """The value of a one-element tensor as a Python number (float, int or bool, after the dtype).

        Raises:
            ShapeError: if the tensor does not have exactly one element.
        """
        if self.data.size != 1:
            raise ShapeError(f"item: tensor must have exactly one element, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        """The data as (nested) Python lists of Python numbers, as ``ndarray.tolist``; a 0-d tensor gives a number.

        Not differentiable (the values leave the graph), as ``torch.Tensor.tolist``; data on a GPU is
        copied to the host first (the explicit path, :func:`glassnet.backend.to_numpy`).
        """
        return to_numpy(self.data).tolist()

    def to(self, device: Any) -> Tensor:
        """This tensor on ``device`` (``"cpu"``, ``"cuda"`` or a registered array module); ``self`` if already there.

        As ``torch.Tensor.to``: a differentiable copy, so the gradient flows back to the
        original (``dL/dx = to(dL/dy, x's device)``); a leaf that requires grad gives a
        non-leaf. Use :meth:`detach` first for a new leaf.

        Raises:
            ConfigError: for an unknown device, or 'cuda' when CuPy is not installed.
        """
        xp = array_module_for(device)
        if get_array_module(self.data) is xp:
            return self
        return _ToDevice(xp).apply(self)

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data, cut from the graph (requires_grad=False)."""
        return Tensor(self.data)

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` on this non-leaf tensor after backward (for inspecting dL/dh)."""
        self._retain = True
        return self

    def register_hook(self, hook: Callable[[Any], None]) -> None:
        """Call ``hook(grad)`` during backward with this tensor's gradient.

        For a non-leaf the hook sees the total ``dL/d(this)`` once; for a leaf
        it sees each contribution as it is accumulated into ``.grad``.
        """
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``grad = None``)."""
        self.grad = None

    # ----------------------------------------------------------------- backward
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Compute ``dL/dx`` for every leaf ``x`` this tensor depends on.

        Args:
            grad: the upstream gradient ``dL/d(this)``, same shape as this
                tensor. Defaults to 1 for a one-element tensor (a loss).
            retain_graph: keep the graph (and the arrays functions saved) so that
                backward can run through it again.

        Raises:
            GraphError: if this tensor does not require grad, if ``grad`` is
                omitted for a non-scalar tensor, or if the graph was freed by an
                earlier backward.
            ShapeError: if ``grad`` has the wrong shape.
        """
        if not self.requires_grad:
            raise GraphError("backward: tensor does not require grad (no input had requires_grad=True)")
        xp = get_array_module(self.data)
        if grad is None:
            if self.data.size != 1:
                raise GraphError(
                    f"backward: grad can be omitted only for a one-element tensor, got shape {self.shape}"
                )
            grad = xp.ones_like(self.data)
        else:
            grad = as_array(grad, dtype=self.data.dtype)
            if grad.shape != self.shape:
                raise ShapeError(f"backward: grad must have shape {self.shape}, got {grad.shape}")
        _run_backward([(self, grad)], retain_graph)

    # Operators (``__add__``, ``__matmul__``, ``__getitem__`` …) and methods
    # (``sum``, ``reshape``, ``exp`` …) are installed by glassnet.functional,
    # which owns every differentiable op.


def _accumulate_leaf(t: Tensor, g) -> None:
    # A backward may hand the same array to several inputs (add returns grad_y
    # twice), so the first assignment copies before any later ``+=``.
    if t.grad is None:
        t.grad = g.copy()
    else:
        t.grad += g


def backward(tensors, grads, retain_graph: bool = False) -> None:
    """Backpropagate from several outputs at once: ``sum_k <grads[k], tensors[k]>``.

    Args:
        tensors: sequence of Tensors that require grad.
        grads: sequence of arrays, ``grads[k]`` of ``tensors[k].shape``.
        retain_graph: keep the graph for another backward.

    Raises:
        GraphError: if a tensor does not require grad or lengths differ.
        ShapeError: if a gradient's shape differs from its tensor's.
    """
    tensors, grads = list(tensors), list(grads)
    if len(tensors) != len(grads):
        raise GraphError(f"backward: got {len(tensors)} tensors but {len(grads)} gradients")
    roots = []
    for i, (t, g) in enumerate(zip(tensors, grads)):
        if not t.requires_grad:
            raise GraphError(f"backward: tensors[{i}] does not require grad")
        g = as_array(g, dtype=t.data.dtype)
        if g.shape != t.shape:
            raise ShapeError(f"backward: grads[{i}] must have shape {t.shape}, got {g.shape}")
        roots.append((t, g))
    _run_backward(roots, retain_graph)


def _run_backward(roots: list[tuple[Tensor, Any]], retain_graph: bool) -> None:
    # id(tensor) -> (tensor, summed gradient); holding the tensor keeps its id
    # valid after the function that consumed it has released its inputs.
    grads: dict[int, tuple[Tensor, Any]] = {}
    heap: list[tuple[int, int, Function]] = []
    seen: set[int] = set()
    counter = 0

    def push(f: Function) -> None:
        nonlocal counter
        if id(f) not in seen:
            seen.add(id(f))
            # max-heap on generation; counter breaks ties deterministically
            heapq.heappush(heap, (-f.generation, counter, f))
            counter += 1

    for root, grad in roots:
        if root.creator is None:
            _accumulate_leaf(root, grad)
            _run_hooks(root, grad)
            continue
        prev = grads.get(id(root))
        grads[id(root)] = (root, grad if prev is None else prev[1] + grad)
        push(root.creator)
    while heap:
        _, _, f = heapq.heappop(heap)
        if f.inputs is None:
            raise GraphError(
                f"backward: the graph through {type(f).__name__} was freed by an earlier backward; "
                "call backward(retain_graph=True) the first time"
            )
        outs = [ref() for ref in f.outputs]
        gys = []
        for o, (shape, dtype) in zip(outs, f.output_meta):
            entry = None if o is None else grads.pop(id(o), None)
            if entry is None:
                # an output nobody used: its gradient is zero
                g = f.xp.zeros(shape, dtype=dtype)
            else:
                g = entry[1]
                if o._retain:
                    _accumulate_leaf(o, g)
                _run_hooks(o, g)
            gys.append(g)
        gxs = f.backward(*gys)
        if not isinstance(gxs, tuple):
            gxs = (gxs,)
        if len(gxs) != len(f.inputs):
            raise GraphError(
                f"{type(f).__name__}.backward returned {len(gxs)} gradients for {len(f.inputs)} inputs"
            )
        for x, gx in zip(f.inputs, gxs):
            if gx is None or not x.requires_grad:
                continue
            if gx.shape != x.data.shape or gx.dtype != x.data.dtype:
                raise GraphError(
                    f"{type(f).__name__}.backward: gradient {gx.shape} {gx.dtype} does not match "
                    f"input {x.data.shape} {x.data.dtype}"
                )
            if x.creator is None:
                _accumulate_leaf(x, gx)
                _run_hooks(x, gx)
            else:
                k = id(x)
                prev = grads.get(k)
                # never add in place: gx or prev may be another input's array
                grads[k] = (x, gx if prev is None else prev[1] + gx)
                push(x.creator)
        if not retain_graph:
            f.release()


def _run_hooks(t: Tensor, g) -> None:
    if t._hooks:
        for hook in t._hooks:
            hook(g)


class Function:
    """One differentiable operation on arrays: ``forward`` and ``backward``.

    Subclasses implement::

        def forward(self, *xs):          # arrays in -> array or tuple of arrays
        def backward(self, *grad_ys):    # dL/dy for each output -> dL/dx for each input

    and keep only what backward needs, through :meth:`save_for_backward`
    (available as ``self.saved``) or plain attributes for non-array settings.
    ``self.needs_input_grad`` tells backward which inputs want a gradient; it
    may return ``None`` for the others. Non-tensor settings (axis, p, …) go to
    ``__init__``. Call an instance with :meth:`apply`::

        y = Exp().apply(x)

    Raises (from ``apply``):
        DTypeError: if float inputs mix float32 and float64.
    """

    inputs: list[Tensor] | None
    saved: tuple = ()
    needs_input_grad: tuple[bool, ...] = ()

    def save_for_backward(self, *arrays) -> None:
        self.saved = arrays

    def apply(self, *inputs: Any):
        tensors = [x if isinstance(x, Tensor) else Tensor(x) for x in inputs]
        xs = [t.data for t in tensors]
        _check_float_dtypes(type(self).__name__, xs)
        self.xp = get_array_module(*xs)
        self.needs_input_grad = tuple(t.requires_grad for t in tensors)
        needs = _grad_enabled and any(self.needs_input_grad)
        self.training_graph = needs
        ys = self.forward(*xs)
        single = not isinstance(ys, tuple)
        if single:
            ys = (ys,)
        outputs = tuple(Tensor(y, requires_grad=needs) for y in ys)
        if needs:
            self.generation = max(t.generation for t in tensors)
            self.inputs = tensors
            self.outputs = [weakref.ref(o) for o in outputs]
            self.output_meta = [(y.shape, y.dtype) for y in ys]
            for o in outputs:
                o.creator = self
                o.generation = self.generation + 1
        else:
            self.saved = ()
            self.inputs = None
        return outputs[0] if single else outputs

    def release(self) -> None:
        """Drop saved arrays and input links after backward (frees memory)."""
        self.saved = ()
        self.inputs = None

    def forward(self, *xs):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, *grad_ys):  # pragma: no cover - abstract
        raise NotImplementedError


def _check_float_dtypes(name: str, xs) -> None:
    kinds = {x.dtype for x in xs if x.dtype.kind == "f"}
    if len(kinds) > 1:
        got = ", ".join(str(x.dtype) for x in xs)
        raise DTypeError(f"{name.lower()}: inputs mix float dtypes ({got}); cast one of them with .astype")
    for d in kinds:
        if d not in FLOAT_DTYPES:
            raise DTypeError(f"{name.lower()}: float inputs must be float32 or float64, got {d}")


class _ToDevice(Function):
    """``y = x`` copied to another device; ``dL/dx = dL/dy`` copied back (:meth:`Tensor.to`)."""

    def __init__(self, target):
        self.target = target

    def forward(self, x):
        return to_device(x, self.target)

    def backward(self, grad_y):
        # dL/dx = dL/dy, on x's device
        return to_device(grad_y, self.xp)
