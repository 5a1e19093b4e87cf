"""A checkpoint written out in another form: any BERT directory as a clean one (convert), its encoder or head
as ONNX, and exported directories run through onnxruntime.

    convert.py  convert_checkpoint: any BERT directory -> config.json + one model.safetensors (`bertkit convert`)
    graphs.py   what each task's graph takes and returns, under optimum's names; what cannot be exported
    onnx.py     export_model: checkpoint directory -> ONNX directory (model.onnx, config, tokenizer), int8
    runtime.py  OnnxModel: an exported directory called as the bertkit model it came from (the pipelines')

Sits above the model (it builds and traces bertkit's networks) and below the pipelines (which run OnnxModel).
"""

from bertkit.export.convert import ConversionReport, convert_checkpoint, format_conversion
from bertkit.export.onnx import ExportReport, export_model, format_export
from bertkit.export.runtime import OnnxModel, is_onnx_export

__all__ = [
    "ConversionReport",
    "ExportReport",
    "OnnxModel",
    "convert_checkpoint",
    "export_model",
    "format_conversion",
    "format_export",
    "is_onnx_export",
]
