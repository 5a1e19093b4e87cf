"""Shared helpers for model tests: a transformers twin of a bertkit config, and a batch with pairs and padding."""

import pytest
import torch

from bertkit import BertConfig

transformers = pytest.importorskip("transformers")


@pytest.fixture
def hf_config():
    return _hf_config


@pytest.fixture
def pair_batch():
    return _pair_batch


def _hf_config(cfg: BertConfig, **overrides):
    """The transformers BertConfig describing the same network."""
    fields = {k: v for k, v in cfg.to_dict().items() if k not in ("position_embedding", "causal")}
    return transformers.BertConfig(**(fields | overrides))


def _pair_batch(cfg: BertConfig, batch_size: int = 4, seq_len: int = 12, seed: int = 0):
    """Sentence pairs of different lengths, right-padded: ids, attention mask, segment ids."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, cfg.vocab_size, (batch_size, seq_len), generator=g)
    mask = torch.ones(batch_size, seq_len, dtype=torch.long)
    types = torch.zeros(batch_size, seq_len, dtype=torch.long)
    for i in range(batch_size):
        length = seq_len - (i * 3) % (seq_len - 3)  # full length first, then shorter ones
        split = max(1, length // 2 - i % 2)
        mask[i, length:] = 0
        ids[i, length:] = cfg.pad_token_id
        types[i, split:length] = 1
    return ids, mask, types
