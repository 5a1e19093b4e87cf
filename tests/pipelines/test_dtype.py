"""Inference precision: `dtype` float32 / bfloat16 / int8 / auto for the pipelines, the one-liners, the CLI
and the explorer, asserted on the real dtypes of the weights and activations, with the real MiniLM weights.
bf16 here may be emulated (no AMX on the CI CPU): slow, so the inputs are few and short."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from bertkit import BertConfig, BertForMaskedLM, InvalidArgumentError, pipeline, precision
from bertkit.cli import main
from bertkit.pipelines import fill_mask, load_causal_lm, load_for_inference, recite
from bertkit.precision import Int8Linear

from ..conftest import learn_by_heart, poem_tokenizer
from .conftest import MINILM

TEXTS = ["A day for firm decisions!  Or is it?", "The fortune cookie says: you will write tests.", "Hello"]


@pytest.fixture(scope="module")
def reference():
    return pipeline("sentence-embedding", MINILM, dtype="float32")(TEXTS)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def linear_output_dtypes(model: nn.Module) -> set[torch.dtype]:
    """Records the dtype of every linear layer's output on the next forward pass."""
    seen: set[torch.dtype] = set()
    for module in model.modules():
        if isinstance(module, nn.Linear | Int8Linear):
            module.register_forward_hook(lambda m, i, out: seen.add(out.dtype))
    return seen


def test_the_default_is_float32(reference):
    encoder = pipeline("sentence-embedding", MINILM)
    assert {p.dtype for p in encoder.model.parameters()} == {torch.float32}
    np.testing.assert_array_equal(encoder(TEXTS), reference)


def test_bfloat16_runs_in_bf16_and_keeps_the_vectors(reference):
    encoder = pipeline("sentence-embedding", MINILM, dtype="bfloat16")
    assert {p.dtype for p in encoder.model.parameters()} == {torch.bfloat16}
    seen = linear_output_dtypes(encoder.model)
    vectors = encoder(TEXTS)
    assert seen == {torch.bfloat16} and vectors.dtype == np.float32  # pooled in fp32, returned as fp32
    assert cosines(vectors, reference).min() >= 0.999


def test_int8_quantizes_every_linear_layer_and_keeps_the_vectors(reference):
    encoder = pipeline("sentence-embedding", MINILM, dtype="int8")
    layers = [m for m in encoder.model.modules() if isinstance(m, nn.Linear | Int8Linear)]
    assert layers and all(type(m) is Int8Linear for m in layers)
    assert layers[0].weight().dtype == torch.qint8
    assert encoder.model.embeddings.word_embeddings.weight.dtype == torch.float32
    # A bound that a broken quantization misses by far; docs/benchmarks.md has the measured mean and spread.
    assert cosines(encoder(TEXTS), reference).min() >= 0.97


def test_auto_follows_the_hardware(monkeypatch):
    monkeypatch.setattr(precision, "_warned", set())
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"amx_bf16"}))
    assert pipeline("feature-extraction", MINILM, dtype="auto").model.pooler is None
    assert (
        next(pipeline("feature-extraction", MINILM, dtype="auto").model.parameters()).dtype == torch.bfloat16
    )
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx2"}))
    assert (
        next(pipeline("feature-extraction", MINILM, dtype="auto").model.parameters()).dtype == torch.float32
    )


def test_feature_extraction_in_bf16_returns_float32(reference):
    vectors = pipeline("feature-extraction", MINILM, dtype="bfloat16")(TEXTS[2])
    assert vectors.dtype == np.float32 and vectors.shape[0] == 3  # [CLS] hello [SEP]


def test_a_loaded_model_is_converted_only_when_asked(checkpoints):
    model, tokenizer = load_for_inference(checkpoints("fill-mask"))
    pipeline("fill-mask", model=model, tokenizer=tokenizer)
    assert type(model.cls.predictions.decoder) is nn.Linear
    filler = pipeline("fill-mask", model=model, tokenizer=tokenizer, dtype="int8")
    assert type(model.cls.predictions.decoder) is Int8Linear  # the tied decoder too, in place
    assert filler("Paris is the [MASK] of France.")[0]["token_str"]


@pytest.fixture(scope="module")
def cloze_dir(tmp_path_factory, poem):
    """A tiny masked LM that has learnt `poem`: trained on every copy of it with one character masked. A
    random head's top tokens are near ties that any rounding reorders; a trained one's are not."""
    tokenizer = poem_tokenizer()
    ids = torch.tensor(tokenizer.encode(poem).ids)
    copies = ids.repeat(len(ids) - 2, 1)
    positions = torch.arange(1, len(ids) - 1)
    copies[torch.arange(len(positions)), positions] = tokenizer.mask_token_id
    labels = torch.full_like(copies, -100)
    labels[torch.arange(len(positions)), positions] = ids[positions]
    torch.manual_seed(0)
    model = BertForMaskedLM(BertConfig.preset("tiny", vocab_size=len(tokenizer), max_position_embeddings=40))
    return learn_by_heart(model, tokenizer, copies, labels, 60, tmp_path_factory.mktemp("cloze"))


def test_fill_mask_top_tokens_are_kept(cloze_dir, poem):
    texts = [poem[:i] + "[MASK]" + poem[i + 1 :] for i in range(len(poem))]
    for dtype in ("float32", "bfloat16", "int8"):
        model, tokenizer = load_for_inference(cloze_dir, dtype=dtype)
        got = [fill_mask(model, tokenizer, text, top_k=1)[0][0]["token_str"] for text in texts]
        assert got == list(poem), dtype  # every character first, as in float32


def test_recitation_is_unchanged(poet_dir, poem):
    for dtype in ("float32", "bfloat16", "int8"):
        assert recite(*load_causal_lm(poet_dir, dtype), poem[:2]) == poem, dtype


def test_cli_dtype(poet_dir, poem, capsys, tmp_path):
    assert main(["recite", "--model", str(poet_dir), "--dtype", "int8", "--json", poem[:2]]) == 0
    assert json.loads(capsys.readouterr().out)["text"] == poem
    lines = tmp_path / "lines.txt"
    lines.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    out = tmp_path / "v.npy"
    args = ["embed", "--model", str(MINILM), "--input", str(lines), "--output", str(out), "--quiet"]
    assert main([*args, "--dtype", "int8"]) == 0 and np.load(out).shape == (3, 384)
    assert main(["similarity", "--model", str(MINILM), "--dtype", "fp16", "a", "b"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "bertkit: error: --dtype must be one of auto, float32, bfloat16, int8, got 'fp16'"
    )


def test_a_bad_dtype_is_one_clear_error():
    with pytest.raises(InvalidArgumentError, match="`dtype` must be one of"):
        pipeline("sentence-embedding", MINILM, dtype="half")


def test_the_explorer_loads_both_models_in_the_dtype(checkpoints, poet_dir, poem):
    from bertkit.serve.explorer import Explorer

    explorer = Explorer(checkpoints("fill-mask"), poet_dir, dtype="int8")
    assert type(explorer.model.cls.predictions.decoder) is Int8Linear
    assert any(type(m) is Int8Linear for m in explorer.lm.modules())
    assert explorer.recite([poem[:2]]) == [poem]
    weights = explorer.attention(["hello world"], layer=0, head=0)[0]["weights"]
    assert len(weights) == 4 and abs(sum(weights[0]) - 1) < 1e-3  # [CLS] hello world [SEP]


def test_int8_scales_each_token_on_its_own(monkeypatch):
    """A token of small values beside one of large values keeps its precision (one scale per input would
    leave it a few levels); inputs keep 8 bits only where the CPU sums int8 products in int32."""
    torch.manual_seed(0)
    linear = nn.Linear(64, 32)
    linear.qconfig = torch.ao.quantization.per_channel_dynamic_qconfig
    x = torch.randn(2, 64)
    x[0] *= 1000.0
    layer = Int8Linear.from_float(linear)  # as this CPU needs
    want, got = linear(x), layer(x)
    assert torch.allclose(got[1], want[1], atol=0.05), (got[1] - want[1]).abs().max()
    assert torch.allclose(got[0], want[0], rtol=0.05, atol=50.0)
    assert torch.allclose(layer(x[1:]), want[1:], atol=0.05)  # one token, a generation step's input
    for flags, reduce_range in (({"avx2"}, True), ({"avx2", "avx512_vnni"}, False), ({"amx_int8"}, False)):
        monkeypatch.setattr(precision, "cpu_flags", lambda flags=flags: frozenset(flags))
        assert Int8Linear.from_float(linear).reduce_range is reduce_range
