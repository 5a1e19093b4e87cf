"""sentence-embedding and feature-extraction: equal to sentence-transformers' encode and transformers'
feature-extraction pipeline on the real all-MiniLM-L6-v2; embed_file and similarity; a loaded model's pooling."""

import json
import shutil

import numpy as np
import pytest
import torch

from bertkit import (
    BertModel,
    CheckpointError,
    FileFormatError,
    InvalidArgumentError,
    WordPieceTokenizer,
    pipeline,
)
from bertkit.pipelines import embed_file, read_pooling, similarity
from bertkit.pipelines.embed import SentencePooling

from .conftest import MINILM, transformers

sentence_transformers = pytest.importorskip("sentence_transformers")

SENTENCES = [
    "A man is playing a guitar on the street.",
    "Short one.",
    "Le café est très bon, naïve façade 床前明月光 🙂",
    "The quick brown fox jumps over the lazy dog, again and again, until the dog finally wakes up. " * 12,
    "x",
]


def copy_of_minilm(directory):
    """MiniLM's files, the weights linked rather than copied."""
    shutil.copytree(MINILM, directory, ignore=shutil.ignore_patterns("*.safetensors"))
    (directory / "model.safetensors").symlink_to(MINILM / "model.safetensors")
    return directory


def cosines(a, b) -> np.ndarray:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)


@pytest.fixture(scope="module")
def encoder():
    return pipeline("sentence-embedding", model=MINILM, batch_size=2)


def test_minilm_equals_sentence_transformers(encoder):
    assert read_pooling(MINILM).__dict__ == {"mode": "mean", "normalize": True, "max_seq_length": 256}
    reference = sentence_transformers.SentenceTransformer(str(MINILM), device="cpu")
    expected = reference.encode(SENTENCES, batch_size=3)
    ours = encoder(SENTENCES)
    assert isinstance(ours, np.ndarray) and ours.shape == expected.shape == (5, 384)
    assert cosines(ours, expected).min() >= 0.99999
    np.testing.assert_allclose(ours, expected, atol=1e-5)  # normalised, as the Normalize module says
    one = encoder(SENTENCES[0], convert_to="torch")
    assert isinstance(one, torch.Tensor) and one.shape == (384,)
    assert cosines(one.numpy(), expected[0]) >= 0.99999


@pytest.mark.parametrize("mode", ["cls", "max", "mean_sqrt_len"])
def test_other_poolings_equal_sentence_transformers(tmp_path, mode):
    """A copy of MiniLM whose Pooling module asks for another pooling and has no Normalize module."""
    directory = copy_of_minilm(tmp_path / "st")
    flags = {"cls": "cls_token", "max": "max_tokens", "mean_sqrt_len": "mean_sqrt_len_tokens"}
    config = json.loads((directory / "1_Pooling/config.json").read_text())
    config["pooling_mode_mean_tokens"] = False
    config[f"pooling_mode_{flags[mode]}"] = True
    (directory / "1_Pooling/config.json").write_text(json.dumps(config))
    modules = json.loads((directory / "modules.json").read_text())[:2]
    (directory / "modules.json").write_text(json.dumps(modules))
    assert read_pooling(directory).__dict__ == {"mode": mode, "normalize": False, "max_seq_length": 256}
    expected = sentence_transformers.SentenceTransformer(str(directory), device="cpu").encode(SENTENCES)
    ours = pipeline("sentence-embedding", model=directory)(SENTENCES)
    assert cosines(ours, expected).min() >= 0.99999
    np.testing.assert_allclose(ours, expected, atol=1e-4, rtol=1e-5)


def test_unsupported_modules(tmp_path):
    directory = copy_of_minilm(tmp_path / "st")
    (directory / "modules.json").write_text(
        json.dumps([{"path": "2_Dense", "type": "sentence_transformers.models.Dense"}])
    )
    with pytest.raises(CheckpointError, match="module 'sentence_transformers.models.Dense' is not supported"):
        read_pooling(directory)


def test_feature_extraction_equals_transformers():
    ours = pipeline("feature-extraction", model=MINILM)
    theirs = transformers.pipeline("feature-extraction", model=str(MINILM), device="cpu")
    for text, vectors in zip(SENTENCES[:3], ours(SENTENCES[:3]), strict=True):
        expected = np.array(theirs(text))[0]
        assert vectors.shape == expected.shape
        np.testing.assert_allclose(vectors, expected, atol=1e-4)


def test_similarity_and_empty_inputs(encoder):
    matrix = similarity(encoder, ["cherry", "digital", "information"])
    assert matrix.shape == (3, 3) and np.allclose(np.diag(matrix), 1.0, atol=1e-5)
    assert np.allclose(matrix, matrix.T, atol=1e-6)
    assert matrix[1, 2] > matrix[0, 1]  # digital is nearer information than cherry (the tutorial's point)
    with pytest.raises(InvalidArgumentError, match="the list of inputs is empty"):
        encoder([])
    with pytest.raises(InvalidArgumentError, match="text 1 is empty"):
        encoder(["fine", ""])


def test_embed_file_streams_in_chunks(encoder, tmp_path):
    lines = tmp_path / "lines.txt"
    lines.write_text("\n".join(SENTENCES[:3] + ["one more", "and the last line"]) + "\n", encoding="utf-8")
    out = tmp_path / "emb.npy"
    assert embed_file(encoder, lines, out, chunk_size=2, progress=False) == (5, 384)
    matrix = np.load(out)
    np.testing.assert_allclose(matrix[:3], encoder(SENTENCES[:3]), atol=1e-6)
    lines.write_text("first\n\nthird\n", encoding="utf-8")
    with pytest.raises(FileFormatError, match="lines.txt, line 2: empty line"):
        embed_file(encoder, lines, tmp_path / "bad.npy", progress=False)
    assert not (tmp_path / "bad.npy").exists()


def test_a_loaded_model_pools_as_told(encoder):
    """A model in memory has no sentence-transformers files: `pooling` says how it pools, else a plain BERT's
    default (mean, not normalised, cut at the model's positions)."""
    model, tokenizer = BertModel.from_pretrained(MINILM), WordPieceTokenizer.from_pretrained(MINILM)
    told = pipeline("sentence-embedding", model=model, tokenizer=tokenizer, pooling=read_pooling(MINILM))
    assert told.model is model
    np.testing.assert_allclose(told(SENTENCES), encoder(SENTENCES), atol=1e-6)
    plain = pipeline("sentence-embedding", model=model, tokenizer=tokenizer)
    assert plain.pooling == SentencePooling("mean", normalize=False) and plain.max_length == 512
    np.testing.assert_allclose(plain(SENTENCES[:3]), encoder(SENTENCES[:3], normalize=False), atol=1e-6)
    with pytest.raises(InvalidArgumentError, match="`pooling` must be a SentencePooling"):
        pipeline("sentence-embedding", model=model, tokenizer=tokenizer, pooling="mean")
    with pytest.raises(InvalidArgumentError, match="`pooling` mode must be one of mean, cls, max"):
        SentencePooling("sum")
