"""The words picture: each word's vector is what the docs say it is (contextual: sentence-transformers' encode
of the word; input: its WordPieces' rows, averaged), the cosine matrix is the direct computation, a word the
vocabulary lacks is split and said so, and bad word lists are clear errors."""

import numpy as np
import pytest
import torch

from bertkit import BertModel, InvalidArgumentError
from bertkit.cli import main
from bertkit.pipelines import load_for_inference
from bertkit.viz import draw_embeddings, embeddings_picture, word_vectors

TUTORIAL = ["cherry", "digital", "information"]


@pytest.fixture(scope="module")
def tiny(mlm_dir):
    return load_for_inference(mlm_dir, BertModel)


def test_input_vectors_average_the_wordpiece_rows(tiny):
    model, tokenizer = tiny
    found = word_vectors(model, tokenizer, ["moon", "playing", "月"], vectors="input")
    table = model.embeddings.word_embeddings.weight.detach()
    vocab = tokenizer.vocab
    expected = [table[vocab["moon"]], (table[vocab["play"]] + table[vocab["##ing"]]) / 2, table[vocab["月"]]]
    np.testing.assert_allclose(found.vectors, torch.stack(expected).numpy(), atol=1e-6)
    assert found.pieces == [["moon"], ["play", "##ing"], ["月"]]


def test_contextual_vectors_are_each_word_alone_mean_pooled(tiny):
    model, tokenizer = tiny
    words = [
        "moon",
        "playing",
        "床前明月光",
    ]  # different lengths: padded together, pooled without the padding
    found = word_vectors(model, tokenizer, words)
    for word, vector in zip(words, found.vectors, strict=True):
        with torch.no_grad():
            alone = model(torch.tensor([tokenizer.encode(word).ids])).last_hidden_state[0].mean(0)
        np.testing.assert_allclose(vector, alone.numpy(), atol=1e-5)


def test_cosine_matrix_is_the_direct_computation(tiny):
    found = word_vectors(*tiny, ["moon", "bright", "cherry", "月"])
    v = torch.from_numpy(found.vectors).double()
    direct = torch.nn.functional.cosine_similarity(v[:, None], v[None], dim=-1)
    np.testing.assert_allclose(found.cosine(), direct.numpy(), atol=1e-6)


def test_words_outside_the_vocabulary_are_split_and_noted(tiny, mlm_dir, tmp_path, png_size, capsys):
    found = word_vectors(*tiny, ["moon", "playings", "zebra"])
    assert found.pieces[1:] == [["play", "##ing", "##s"], ["[UNK]"]]
    assert found.notes == [
        "'playings' is not in the vocabulary; split into play ##ing ##s",
        "'zebra' is not in the vocabulary, nor are pieces that make it up: read as [UNK]",
    ]
    png_size(draw_embeddings(found, tmp_path / "split.png"))
    out = tmp_path / "cli.png"
    assert main(["show", "embeddings", "--model", str(mlm_dir), "moon", "zebra", "--out", str(out)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "'zebra' is not in the vocabulary, nor are pieces that make it up: read as [UNK]",
        str(out),
    ]
    png_size(out)


def test_bad_word_lists(tiny):
    with pytest.raises(InvalidArgumentError, match="`words` must be a list of at least one word"):
        word_vectors(*tiny, [])
    with pytest.raises(InvalidArgumentError, match="`words` must be a list"):
        word_vectors(*tiny, "moon")
    with pytest.raises(InvalidArgumentError, match=r"`words` item 1 \(' '\) has no tokens"):
        word_vectors(*tiny, ["moon", " "])
    with pytest.raises(InvalidArgumentError, match="`words` item 0 must be a string, got int"):
        word_vectors(*tiny, [3])
    with pytest.raises(
        InvalidArgumentError, match="`vectors` must be one of contextual, input, got 'output'"
    ):
        word_vectors(*tiny, ["moon"], vectors="output")


def test_one_word_and_chinese_pictures(mlm_dir, tmp_path, png_size):
    png_size(embeddings_picture(mlm_dir, ["月"], tmp_path / "one.png"))
    png_size(embeddings_picture(mlm_dir, list("床前明月光"), tmp_path / "zh.png", vectors="input"))


def test_minilm_tutorial_words_equal_sentence_transformers(minilm_dir, tmp_path, png_size):
    sentence_transformers = pytest.importorskip("sentence_transformers")
    found = word_vectors(*load_for_inference(minilm_dir, BertModel), TUTORIAL)
    reference = sentence_transformers.SentenceTransformer(str(minilm_dir), device="cpu").encode(TUTORIAL)
    unit = found.vectors / np.linalg.norm(found.vectors, axis=1, keepdims=True)
    assert (np.sum(unit * reference, axis=1) >= 0.99999).all()  # reference is normalised
    np.testing.assert_allclose(found.cosine(), reference @ reference.T, atol=1e-5)
    cos = found.cosine()
    assert cos[1, 2] > max(cos[0, 1], cos[0, 2])  # digital and information are the closest pair
    png_size(embeddings_picture(minilm_dir, TUTORIAL, tmp_path / "tutorial.png"))
