"""Export trained models to other runtimes: :func:`export_onnx` (ONNX, optional extra ``glassnet[onnx]``).

``glassnet.export`` sits beside ``glassnet.lab`` in the layering: it imports ``nn`` and ``zoo`` (to know the zoo's
models) and nothing imports it. ``onnx`` is imported only when :func:`export_onnx` runs.
"""

from glassnet.export.onnx import OPSET, export_onnx

__all__ = ["export_onnx", "OPSET"]
