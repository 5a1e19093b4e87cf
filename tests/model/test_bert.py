"""BertModel and the base class: parity with transformers' BertModel (outputs and attention probabilities), and
BERT's initialisation."""

import dataclasses

import pytest
import torch

import bertkit
import bertkit.model.cache
from bertkit import BertConfig


@pytest.mark.parametrize(("name", "causal"), [("tiny", False), ("odd", False), ("tiny", True)])
@torch.no_grad()
def test_bare_model_parity(name, causal, twins, pair_batch, close):
    ours, theirs, cfg = twins(name, "BertModel", causal=causal)  # causal: transformers' is_decoder
    ids, mask, types = pair_batch(cfg, batch_size=5)
    ref = theirs(input_ids=ids, attention_mask=mask, token_type_ids=types)
    out = ours(ids, mask, types)
    close(out.last_hidden_state, ref.last_hidden_state)
    close(out.pooler_output, ref.pooler_output)
    assert out.attentions is None  # only when asked for
    # No mask and no segment ids: all tokens, segment 0, as in transformers.
    close(ours(ids).last_hidden_state, theirs(input_ids=ids).last_hidden_state)


@pytest.mark.parametrize(
    ("name", "causal", "padded"),
    [("tiny", False, True), ("odd", False, True), ("tiny", True, True), ("tiny", True, False)],
)
@torch.no_grad()
def test_attention_probabilities_match_transformers_eager(name, causal, padded, twins, pair_batch, close):
    ours, theirs, cfg = twins(name, "BertModel", causal=causal)
    theirs.set_attn_implementation("eager")  # the written-out softmax, whose probabilities it returns
    ids, mask, types = pair_batch(cfg, batch_size=5)
    mask = mask if padded else None
    ref = theirs(input_ids=ids, attention_mask=mask, token_type_ids=types, output_attentions=True)
    out = ours(ids, mask, types, output_attentions=True)
    assert len(out.attentions) == cfg.num_hidden_layers
    for mine, reference in zip(out.attentions, ref.attentions, strict=True):
        assert mine.shape == (5, cfg.num_attention_heads, 12, 12)
        close(mine, reference)
    close(out.last_hidden_state, ref.last_hidden_state)
    fused = ours(ids, mask, types)  # the written-out path gives the fused path's outputs
    close(out.last_hidden_state, fused.last_hidden_state, tol=1e-6)
    close(out.pooler_output, fused.pooler_output, tol=1e-6)


def test_initialisation_follows_bert():
    cfg = BertConfig.preset("mini", vocab_size=2000)
    model = bertkit.BertForPreTraining(cfg)
    q = model.bert.encoder.layer[0].attention.self.query
    assert abs(q.weight.std().item() - 0.02) < 0.002 and q.bias.abs().max() == 0
    assert model.bert.embeddings.word_embeddings.weight[cfg.pad_token_id].abs().max() == 0
    ln = model.bert.encoder.layer[0].output.LayerNorm
    assert (ln.weight == 1).all() and (ln.bias == 0).all()
    assert model.cls.predictions.bias.abs().max() == 0


@pytest.mark.parametrize(("name", "causal"), [("tiny", False), ("odd", False), ("tiny", True)])
@pytest.mark.parametrize("padded", [True, False])
@torch.no_grad()
def test_cls_only_gives_the_full_models_cls_vector(name, causal, padded, twins, pair_batch, close):
    ours, theirs, cfg = twins(name, "BertModel", causal=causal)
    theirs.set_attn_implementation("eager")
    ids, mask, types = pair_batch(cfg, batch_size=5)
    mask = mask if padded else None
    ref = theirs(input_ids=ids, attention_mask=mask, token_type_ids=types, output_attentions=True)
    out = ours(ids, mask, types, cls_only=True)
    close(out.last_hidden_state, ref.last_hidden_state[:, :1])
    close(out.pooler_output, ref.pooler_output)
    probs = ours(ids, mask, types, output_attentions=True, cls_only=True).attentions
    if causal:  # [CLS] sees itself alone: the model runs on it alone
        assert [p.shape for p in probs] == [(5, cfg.num_attention_heads, 1, 1)] * cfg.num_hidden_layers
    else:  # every layer but the last in full, the last for [CLS]'s queries
        for mine, reference in zip(probs[:-1], ref.attentions[:-1], strict=True):
            close(mine, reference)
        close(probs[-1], ref.attentions[-1][:, :, :1])


def test_cls_only_gradients_and_checkpointing(configs):
    torch.manual_seed(0)
    model = bertkit.BertModel(configs["tiny"]).eval()  # no dropout: both passes are the same function
    ids = torch.randint(1, 100, (3, 9))

    def grads(**options):
        model.zero_grad()
        model(ids, **options).pooler_output.square().sum().backward()
        return [p.grad.clone() for p in model.parameters()]

    full = grads()
    for checkpointing in (False, True):
        model.set_gradient_checkpointing(checkpointing)
        model.encoder.training = checkpointing  # the encoder checkpoints only in training mode
        assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(full, grads(cls_only=True), strict=True))


def test_cls_only_takes_no_cache(configs):
    model = bertkit.BertModel(dataclasses.replace(configs["tiny"], causal=True))
    cache = bertkit.model.cache.KVCache(model.config, batch_size=1, max_length=8)
    with pytest.raises(bertkit.InvalidArgumentError, match="`cls_only` .* no `cache`"):
        model(torch.tensor([[2, 5, 7]]), cache=cache, cls_only=True)
