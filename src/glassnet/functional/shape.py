"""Shape ops: reshape, transpose, getitem, concat, stack, split, flatten.

None of these changes a value; each only moves values around (or copies
them), so each backward moves the gradient back the same way: the inverse
reshape or permutation, a scatter for indexing, a split for a concatenation.
Forward results of reshape, transpose, basic indexing and split are NumPy
views of the input, as in NumPy and torch.
"""

from __future__ import annotations

import operator

import numpy as np

from glassnet.autograd import Function, Tensor, as_tensor
from glassnet.backend import get_array_module
from glassnet.errors import ConfigError, ShapeError
from glassnet.functional._axis import normalize_axis
from glassnet.functional.arithmetic import promote_to_float

__all__ = ["reshape", "transpose", "getitem", "concat", "stack", "split", "flatten"]


class IndexShapeError(ShapeError, IndexError):
    """An index is out of range or malformed for the tensor's shape.

    Also an ``IndexError``, so that Python's sequence protocol (``for row in x``,
    which indexes 0, 1, 2, … until an IndexError) stops at the end of a tensor.
    """


def _int_tuple(name: str, arg: str, value) -> tuple[int, ...]:
    items = value if isinstance(value, (tuple, list)) else (value,)
    try:
        return tuple(operator.index(s) for s in items)
    except TypeError:
        raise ConfigError(f"{name}: {arg} must be an int or a sequence of ints, got {value!r}") from None


# ----------------------------------------------------------------------------- reshape
class Reshape(Function):
    def __init__(self, shape: tuple[int, ...]):
        self.shape = shape

    def forward(self, x):
        self.x_shape = x.shape
        return x.reshape(self.shape)

    # reshape only renames positions: grad_x = reshape(grad_y, x.shape)
    def backward(self, grad_y):
        return grad_y.reshape(self.x_shape)


def _resolve_shape(name: str, src: tuple[int, ...], shape) -> tuple[int, ...]:
    """``shape`` with its one ``-1`` filled in, checked against ``src``'s element count."""
    shape = _int_tuple(name, "shape", shape)
    size = int(np.prod(src, dtype=np.int64))
    where_unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(where_unknown) > 1 or any(s < -1 for s in shape):
        raise ShapeError(f"{name}: shape {shape} may hold one -1 and otherwise sizes >= 0")
    known = int(np.prod([s for s in shape if s != -1], dtype=np.int64))
    if where_unknown:
        if known == 0 or size % known:
            raise ShapeError(f"{name}: cannot reshape x of shape {src} ({size} elements) to {shape}")
        i = where_unknown[0]
        shape = shape[:i] + (size // known,) + shape[i + 1 :]
    elif known != size:
        raise ShapeError(f"{name}: cannot reshape x of shape {src} ({size} elements) to {shape} ({known} elements)")
    return shape


def reshape(x, shape) -> Tensor:
    """Give ``x`` a new shape with the same elements in the same (C) order.

    Formula: ``y.ravel() = x.ravel()``; backward ``grad_x = reshape(grad_y, x.shape)``.

    Shapes: ``x (*S)``; ``shape`` an int or a tuple of ints whose product is
    ``x.size``, one entry may be ``-1`` (inferred). ``y`` has ``shape``; it is
    ``x`` itself when the shape does not change. dtype: that of ``x``.

    Raises:
        ShapeError: if the element counts differ (the message names both
            shapes), or ``shape`` has more than one ``-1`` or a size below -1.
        ConfigError: if ``shape`` holds something other than ints.
    """
    x = as_tensor(x)
    shape = _resolve_shape("reshape", x.shape, shape)
    if shape == x.shape:
        return x
    return Reshape(shape).apply(x)


def flatten(x, start_axis: int = 1) -> Tensor:
    """Merge the axes from ``start_axis`` on into one: ``(N, C, H, W) -> (N, C·H·W)``.

    Formula: ``y = reshape(x, x.shape[:start_axis] + (prod(x.shape[start_axis:]),))``;
    backward: the inverse reshape.

    Shapes: ``x (*S)`` with at least ``start_axis + 1`` axes; ``start_axis``
    may be negative. dtype: that of ``x``.

    Raises:
        ShapeError: if ``start_axis`` is out of range for ``x``.
    """
    x = as_tensor(x)
    start = normalize_axis("flatten", start_axis, x.ndim, arg="start_axis")
    rest = int(np.prod(x.shape[start:], dtype=np.int64))
    return reshape(x, x.shape[:start] + (rest,))


# ----------------------------------------------------------------------------- transpose
class Transpose(Function):
    def __init__(self, axes: tuple[int, ...]):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    # y[..] = x[permuted ..]: the gradient goes back through the inverse permutation
    def backward(self, grad_y):
        return grad_y.transpose(tuple(np.argsort(self.axes)))


def transpose(x, axes=None) -> Tensor:
    """Permute the axes of ``x``: ``y.shape[i] = x.shape[axes[i]]``.

    Backward: ``grad_x = transpose(grad_y, argsort(axes))``.

    Shapes: ``x (*S)``; ``axes`` a permutation of ``range(x.ndim)`` (negative
    entries count from the end), default: reversed, so a matrix ``(N, D)``
    becomes ``(D, N)`` (also ``x.T``). dtype: that of ``x``.

    Raises:
        ShapeError: if ``axes`` is not a permutation of the axes of ``x``.
    """
    x = as_tensor(x)
    if axes is None:
        axes = tuple(range(x.ndim))[::-1]
    axes = _int_tuple("transpose", "axes", axes)
    norm = tuple(a % x.ndim if -x.ndim <= a < x.ndim else -1 for a in axes) if x.ndim else axes
    if sorted(norm) != list(range(x.ndim)):
        raise ShapeError(f"transpose: axes {axes} is not a permutation of the {x.ndim} axes of x of shape {x.shape}")
    return Transpose(norm).apply(x)


# ----------------------------------------------------------------------------- getitem
class GetItem(Function):
    def __init__(self, index: tuple, accumulate: bool):
        self.index, self.accumulate = index, accumulate

    def forward(self, x):
        self.x_shape = x.shape
        try:
            return x[self.index]
        except IndexError as e:
            raise IndexShapeError(f"getitem: {e} (x has shape {x.shape})") from None

    # y = x[index] picks elements, so grad_x is zero except at the picked ones,
    # where each pick adds its grad_y: an element picked twice gets both
    def backward(self, grad_y):
        grad_x = self.xp.zeros(self.x_shape, dtype=grad_y.dtype)
        if self.accumulate:
            self.xp.add.at(grad_x, self.index, grad_y)  # unbuffered: repeated indices add up
        else:
            grad_x[self.index] = grad_y  # basic and boolean indices pick each element at most once
        return grad_x


def _normalize_index(index, xp) -> tuple[tuple, bool]:
    """Index as a tuple with Tensors and lists turned into arrays; and whether it holds integer arrays."""
    items = index if isinstance(index, tuple) else (index,)
    out, has_int_array = [], False
    for it in items:
        if isinstance(it, Tensor):
            it = it.data
        elif isinstance(it, (list, tuple)):  # inside an index tuple NumPy reads a tuple as a list: x[:, (1, 1)]
            it = xp.asarray(it)
            if it.size == 0:  # x[[]] picks nothing (np.asarray([]) would be float)
                it = it.astype(np.intp)
        elif isinstance(it, np.ndarray):
            it = xp.asarray(it)  # a host index array goes to x's device (itself when x is on the host)
        if isinstance(it, (np.ndarray, xp.ndarray)) and it.dtype.kind in "iu":
            has_int_array = True
        out.append(it)
    return tuple(out), has_int_array


def getitem(x, index) -> Tensor:
    """Index ``x`` like a NumPy array: ``y = x[index]`` (also ``x[index]`` on a Tensor).

    Supports basic indexing (ints, slices, ``None``, ``Ellipsis``) and advanced
    indexing with integer arrays, lists or Tensors and boolean masks, mixed as
    NumPy allows. Backward scatters ``grad_y`` into zeros of ``x``'s shape;
    with integer-array indices it uses ``np.add.at``, so an element picked
    several times gets the sum of its gradients (plain assignment would keep
    only the last). Pure basic or boolean indices take the fast path of one
    assignment ``grad_x[index] = grad_y``, as they never pick twice.

    Shapes: ``x (*S)``; ``y`` as NumPy's ``x[index]``. dtype: that of ``x``.

    Raises:
        ShapeError: (also an ``IndexError``) if an index is out of bounds or
            malformed; the message includes NumPy's reason and ``x``'s shape.
    """
    x = as_tensor(x)
    index, has_int_array = _normalize_index(index, get_array_module(x.data))
    return GetItem(index, has_int_array).apply(x)


# ----------------------------------------------------------------------------- concat / stack / split
def _tensors(name: str, xs) -> list[Tensor]:
    if isinstance(xs, Tensor) or not isinstance(xs, (list, tuple)):
        raise ConfigError(f"{name}: xs must be a list or tuple of tensors, got {type(xs).__name__}")
    if not xs:
        raise ConfigError(f"{name}: xs must hold at least one tensor, got an empty sequence")
    return list(promote_to_float(*(as_tensor(x) for x in xs)))  # int parts take the float parts' dtype


class Concat(Function):
    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, *xs):
        self.bounds = np.cumsum([x.shape[self.axis] for x in xs])[:-1].tolist()
        return self.xp.concatenate(xs, axis=self.axis)

    # each input owns a block of y along axis: grad_x_k is the block of grad_y
    def backward(self, grad_y):
        return tuple(self.xp.split(grad_y, self.bounds, axis=self.axis))


def concat(xs, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis: ``y = [x_0 | x_1 | …]`` along ``axis``.

    Backward: ``grad_x_k`` is the slice of ``grad_y`` that ``x_k`` filled.

    Shapes: every ``x_k`` has the same shape except along ``axis``:
    ``(*A, D_k, *B)`` -> ``y (*A, Σ D_k, *B)``. dtype: the inputs' (float32
    and float64 may not be mixed).

    Raises:
        ConfigError: if ``xs`` is not a non-empty list or tuple.
        ShapeError: if ``axis`` is out of range, or the shapes differ off ``axis``
            (the message names the offending input and both shapes).
        DTypeError: if float32 meets float64.
    """
    ts = _tensors("concat", xs)
    ref = ts[0].shape
    if not ref:
        raise ShapeError("concat: xs[0] is 0-dimensional; concatenate needs at least one axis (use stack)")
    a = normalize_axis("concat", axis, len(ref))
    for k, t in enumerate(ts[1:], 1):
        if len(t.shape) != len(ref) or any(s != r for i, (s, r) in enumerate(zip(t.shape, ref)) if i != a):
            raise ShapeError(
                f"concat: xs[{k}] has shape {t.shape}, expected the shape of xs[0] {ref} except on axis {a}"
            )
    return Concat(a).apply(*ts)


class Stack(Function):
    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, *xs):
        return self.xp.stack(xs, axis=self.axis)

    # x_k became index k along the new axis: grad_x_k = grad_y[..., k, ...]
    def backward(self, grad_y):
        lead = (slice(None),) * self.axis
        return tuple(grad_y[lead + (k,)] for k in range(grad_y.shape[self.axis]))


def stack(xs, axis: int = 0) -> Tensor:
    """Join same-shaped tensors along a new axis: ``y[..., k, ...] = x_k``.

    Backward: ``grad_x_k = grad_y[..., k, ...]`` (index ``k`` on ``axis``).

    Shapes: every ``x_k`` is ``(*A, *B)`` -> ``y (*A, K, *B)`` with the new axis
    of size ``K = len(xs)`` at position ``axis`` (``-1`` appends it).
    dtype: the inputs'.

    Raises:
        ConfigError: if ``xs`` is not a non-empty list or tuple.
        ShapeError: if the shapes differ, or ``axis`` is out of range
            ``[-ndim - 1, ndim]``.
        DTypeError: if float32 meets float64.
    """
    ts = _tensors("stack", xs)
    ref = ts[0].shape
    a = normalize_axis("stack", axis, len(ref) + 1)
    for k, t in enumerate(ts[1:], 1):
        if t.shape != ref:
            raise ShapeError(f"stack: xs[{k}] has shape {t.shape}, expected the shape of xs[0] {ref}")
    return Stack(a).apply(*ts)


class Split(Function):
    def __init__(self, bounds: list[int], axis: int):
        self.bounds, self.axis = bounds, axis

    def forward(self, x):
        return tuple(self.xp.split(x, self.bounds, axis=self.axis))

    # the inverse of concat: grad_x = concat(grad_y_0, grad_y_1, …) (zeros for unused pieces)
    def backward(self, *grad_ys):
        return self.xp.concatenate(grad_ys, axis=self.axis)


def split(x, indices_or_sections, axis: int = 0) -> tuple[Tensor, ...]:
    """Cut ``x`` along ``axis`` into pieces, like ``numpy.split``; returns a tuple of Tensors.

    ``indices_or_sections`` is either an int ``K`` (``K`` equal pieces; ``K``
    must divide the axis) or a non-decreasing sequence of cut points
    ``[i_1, i_2, …]`` giving ``x[:i_1], x[i_1:i_2], …, x[i_last:]`` along ``axis``.
    One Function with several outputs; backward concatenates the pieces'
    gradients (zeros for pieces that were not used).

    Shapes: ``x (*A, D, *B)`` -> pieces ``(*A, D_k, *B)`` with ``Σ D_k = D``.
    dtype: that of ``x``. Deviation: torch's ``split`` takes piece *sizes*;
    this follows NumPy (``torch.tensor_split`` with indices is the match).

    Raises:
        ShapeError: if ``axis`` is out of range, ``K`` does not divide the axis,
            or a cut point lies outside ``[0, D]``.
        ConfigError: if ``K < 1``, the cut points decrease or are not ints.
    """
    x = as_tensor(x)
    if x.ndim == 0:
        raise ShapeError("split: x is 0-dimensional; it needs at least one axis to split")
    a = normalize_axis("split", axis, x.ndim)
    d = x.shape[a]
    if isinstance(indices_or_sections, (list, tuple)):
        bounds = list(_int_tuple("split", "indices_or_sections", indices_or_sections))
        if any(b < 0 or b > d for b in bounds):
            raise ShapeError(f"split: cut points {bounds} must lie in [0, {d}] for axis {a} of x of shape {x.shape}")
        if any(b1 > b2 for b1, b2 in zip(bounds, bounds[1:])):
            raise ConfigError(f"split: cut points must not decrease, got {bounds}")
    else:
        (k,) = _int_tuple("split", "indices_or_sections", indices_or_sections)
        if k < 1:
            raise ConfigError(f"split: number of sections must be >= 1, got {k}")
        if d % k:
            raise ShapeError(
                f"split: axis {a} of x of shape {x.shape} (size {d}) cannot be split into {k} equal sections"
            )
        bounds = [d // k * i for i in range(1, k)]
    return Split(bounds, a).apply(x)
