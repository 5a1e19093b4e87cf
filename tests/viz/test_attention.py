"""The attention picture: the weights are the model's own (and transformers'), a causal model's are a lower
triangle, and the PNG is written; bad layers, heads, texts and file names are clear errors."""

import numpy as np
import pytest
import torch

from bertkit import BertForMaskedLM, BertLMHeadModel, BertModel, InvalidArgumentError
from bertkit.cli import main
from bertkit.pipelines import load_for_inference
from bertkit.viz import attention_picture, attention_weights, draw_attention

from .conftest import TEXT


def test_weights_are_the_models_output_attentions(mlm_dir):
    model, tokenizer = load_for_inference(mlm_dir)  # a BertForMaskedLM: its encoder is used
    tokens, weights = attention_weights(model, tokenizer, TEXT)
    encoding = tokenizer.encode(TEXT)
    assert tokens == encoding.tokens and tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
    T = len(tokens)
    assert weights.shape == (2, 4, T, T) and weights.dtype == np.float32
    with torch.no_grad():
        out = model.bert(torch.tensor([encoding.ids]), output_attentions=True)
    np.testing.assert_array_equal(weights, torch.stack(out.attentions)[:, 0].numpy())
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)


def test_weights_equal_transformers_output_attentions(mlm_dir):
    transformers = pytest.importorskip("transformers")
    theirs = transformers.BertModel.from_pretrained(mlm_dir, attn_implementation="eager").eval()
    model, tokenizer = load_for_inference(mlm_dir, BertModel)
    tokens, weights = attention_weights(model, tokenizer, TEXT)
    with torch.no_grad():
        ref = theirs(torch.tensor([tokenizer.encode(TEXT).ids]), output_attentions=True).attentions
    np.testing.assert_allclose(weights, torch.stack(ref)[:, 0].numpy(), atol=1e-5)


def test_causal_model_attends_only_to_the_past(causal_dir):
    model, tokenizer = load_for_inference(causal_dir, BertLMHeadModel)
    _, weights = attention_weights(model, tokenizer, TEXT)
    assert model.config.causal
    T = weights.shape[-1]
    future = np.triu(np.ones((T, T), dtype=bool), k=1)
    assert (weights[..., future] == 0).all() and (weights[..., ~future] > 0).all()
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    ("layer", "head", "panels"), [(None, None, 8), (1, None, 4), (None, 3, 2), (0, 2, 1)]
)
def test_pictures_are_written(mlm_dir, tmp_path, png_size, layer, head, panels):
    out = attention_picture(mlm_dir, TEXT, tmp_path / "sub" / "attention.png", layer=layer, head=head)
    assert out == tmp_path / "sub" / "attention.png"
    width, height = png_size(out)
    if panels == 8:  # a row per layer, a column per head
        assert width > height


def test_causal_picture(causal_dir, tmp_path, png_size):
    png_size(attention_picture(causal_dir, TEXT, tmp_path / "lm.png"))


def test_layer_and_head_out_of_range(mlm_dir, tmp_path):
    with pytest.raises(InvalidArgumentError, match=r"`layer` must be in 0\.\.1 \(the model has 2 layers"):
        attention_picture(mlm_dir, TEXT, tmp_path / "a.png", layer=2)
    with pytest.raises(InvalidArgumentError, match=r"`head` must be in 0\.\.3 \(the model has 4 heads"):
        attention_picture(mlm_dir, TEXT, tmp_path / "a.png", head=-1)
    assert not (tmp_path / "a.png").exists()


def test_text_longer_than_the_positions(mlm_dir):
    model, tokenizer = load_for_inference(mlm_dir, BertForMaskedLM)
    with pytest.raises(InvalidArgumentError, match="`text` is 52 tokens long .* 40 positions"):
        attention_weights(model, tokenizer, "月" * 50)


def test_draw_checks_shapes_and_file_names(tmp_path):
    weights = np.full((1, 1, 3, 3), 1 / 3, dtype=np.float32)
    with pytest.raises(InvalidArgumentError, match="expected \\(layers, heads, 2, 2\\)"):
        draw_attention(["[CLS]", "[SEP]"], weights, tmp_path / "a.png")
    with pytest.raises(InvalidArgumentError, match="cannot write a picture as .txt"):
        draw_attention(["[CLS]", "x", "[SEP]"], weights, tmp_path / "a.txt")
    assert (
        draw_attention(["[CLS]", "x", "[SEP]"], weights, tmp_path / "a.svg").read_text().startswith("<?xml")
    )


def test_cli(mlm_dir, tmp_path, capsys, png_size):
    out = tmp_path / "attention.png"
    assert main(["show", "attention", "--model", str(mlm_dir), TEXT, "--layer", "0", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    png_size(out)
    assert main(["show", "attention", "--model", str(mlm_dir), TEXT, "--head", "9", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bertkit: error:") and "head" in err and "must be in 0..3" in err
