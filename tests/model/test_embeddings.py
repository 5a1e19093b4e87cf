import math

import pytest
import torch

from bertkit import BertConfig, BertModel, InvalidArgumentError
from bertkit.model.embeddings import BertEmbeddings, sinusoidal_table


def test_sinusoidal_table_is_the_transformer_formula():
    table = sinusoidal_table(50, 16)
    pos, i = 7, 3
    assert table[pos, 2 * i].item() == pytest.approx(math.sin(pos / 10000 ** (2 * i / 16)), abs=1e-6)
    assert table[pos, 2 * i + 1].item() == pytest.approx(math.cos(pos / 10000 ** (2 * i / 16)), abs=1e-6)


def test_sinusoidal_positions_are_a_buffer_not_a_weight():
    cfg = BertConfig.preset(
        "tiny", vocab_size=50, position_embedding="sinusoidal", max_position_embeddings=40
    )
    emb = BertEmbeddings(cfg)
    assert not any("position" in name for name in emb.state_dict())  # recomputed, never saved
    assert torch.equal(emb.sinusoid, sinusoidal_table(40, cfg.hidden_size))
    out = emb.eval()(torch.randint(0, 50, (2, 40)))
    assert out.shape == (2, 40, cfg.hidden_size)


def test_missing_segment_ids_mean_segment_zero():
    cfg = BertConfig.preset("tiny", vocab_size=50)
    emb = BertEmbeddings(cfg).eval()
    ids = torch.randint(0, 50, (3, 9))
    assert torch.equal(emb(ids), emb(ids, torch.zeros_like(ids)))


def test_pad_embedding_gets_no_gradient():
    cfg = BertConfig.preset("tiny", vocab_size=50)
    emb = BertEmbeddings(cfg)
    emb(torch.tensor([[2, 0, 0, 5]])).sum().backward()
    assert emb.word_embeddings.weight.grad[cfg.pad_token_id].abs().max() == 0


@pytest.mark.parametrize("bad", [50, 1000, -1])
def test_token_ids_outside_vocabulary(bad):
    model = BertModel(BertConfig.preset("tiny", vocab_size=50))
    ids = torch.tensor([[1, 2, bad]])
    with pytest.raises(InvalidArgumentError, match=f"token id {bad}, outside the vocabulary \\[0, 50\\)"):
        model(ids)


def test_sequence_longer_than_positions():
    model = BertModel(BertConfig.preset("tiny", vocab_size=50, max_position_embeddings=8))
    with pytest.raises(
        InvalidArgumentError, match="sequence length 9, longer than max_position_embeddings \\(8\\)"
    ):
        model(torch.ones(1, 9, dtype=torch.long))


def test_input_shape_errors():
    model = BertModel(BertConfig.preset("tiny", vocab_size=50))
    with pytest.raises(InvalidArgumentError, match="shape \\(batch, seq_len\\)"):
        model(torch.ones(5, dtype=torch.long))
    with pytest.raises(InvalidArgumentError, match="attention_mask has shape"):
        model(torch.ones(2, 5, dtype=torch.long), attention_mask=torch.ones(2, 4))
