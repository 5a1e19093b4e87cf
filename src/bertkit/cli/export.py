"""`bertkit export`: a checkpoint for deployment, as an ONNX graph that onnxruntime, optimum and
sentence-transformers load."""

import argparse

from bertkit.cli.flags import add_model_flag


def add_export(sub) -> None:
    p = sub.add_parser(
        "export",
        help="write a checkpoint's encoder or head as ONNX (model.onnx + config + tokenizer)",
        description="Exports the checkpoint's head (feature extraction, sequence or token classification, "
        "question answering, masked LM, multiple choice) as an ONNX graph, opset 17, with dynamic batch and "
        "sequence axes, beside its config.json and tokenizer files: the layout optimum's ORTModelFor... "
        "classes and sentence-transformers' backend='onnx' load, and `bertkit.pipeline(task, model=OUT)` runs "
        "through onnxruntime. Needs the onnx extra: pip install 'bertkit[onnx]'. See docs/export.md.",
    )
    add_model_flag(p, "with its tokenizer", dtype=False)
    p.add_argument("--out", required=True, help="the directory to write (new, empty, or an earlier export)")
    p.add_argument("--format", default="onnx", help="the format to write: onnx (the only one)")
    p.add_argument(
        "--task",
        help="the graph to export: default the checkpoint's head; feature-extraction exports the encoder of "
        "any checkpoint",
    )
    p.add_argument("--quantize", help="int8: onnxruntime's dynamic quantization (default: fp32)")
    p.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> None:
    from bertkit.export import export_model, format_export

    report = export_model(args.model, args.out, format=args.format, task=args.task, quantize=args.quantize)
    print(format_export(report))


COMMANDS = [add_export]
