"""Models of the course, built from ``glassnet.nn`` layers."""

from glassnet.zoo.mlp import MLP

__all__ = ["MLP"]
