"""Deployment formats: a checkpoint's encoder or head exported to ONNX, and exported directories run through
onnxruntime.

    graphs.py   what each task's graph takes and returns, under optimum's names; what cannot be exported
    onnx.py     export_model: checkpoint directory -> ONNX directory (model.onnx, config, tokenizer), int8
    runtime.py  OnnxModel: an exported directory called as the bertkit model it came from (the pipelines')

Sits above the model (it traces bertkit's networks) and below the pipelines (which run OnnxModel).
"""

from bertkit.export.onnx import ExportReport, export_model, format_export
from bertkit.export.runtime import OnnxModel, is_onnx_export

__all__ = ["ExportReport", "OnnxModel", "export_model", "format_export", "is_onnx_export"]
