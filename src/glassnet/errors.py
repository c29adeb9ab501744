"""glassnet's exception classes.

Every public entry point checks its inputs and raises one of these with the
argument's name, what was expected and what came, e.g.
``lstm: x must be (N, T, D) with D == 32, got (4, 7, 31)``.

Each subclasses the built-in exception a Python user would already catch
(``ValueError`` or ``TypeError``), so ``except ValueError`` keeps working.
"""

from __future__ import annotations

__all__ = ["GlassnetError", "ShapeError", "DTypeError", "ConfigError", "DataError", "GraphError", "NonFiniteError"]


class GlassnetError(Exception):
    """Base class of every error glassnet raises on purpose."""


class ShapeError(GlassnetError, ValueError):
    """An array or tensor has the wrong number of dimensions or the wrong sizes."""


class DTypeError(GlassnetError, TypeError):
    """An array has the wrong dtype, or one op mixes float32 and float64."""


class ConfigError(GlassnetError, ValueError):
    """A hyperparameter, option or configuration value is out of range or unknown."""


class DataError(GlassnetError, ValueError):
    """A data file or directory is missing, corrupt or fails its sha256 check."""


class GraphError(GlassnetError, RuntimeError):
    """The autograd graph was used wrongly (e.g. backward twice through a freed graph)."""


class NonFiniteError(GlassnetError, FloatingPointError):
    """A loss or gradient became NaN or infinite; the message names the step."""
