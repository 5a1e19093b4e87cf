"""Parity with transformers: same weights (state_dict copied across), same outputs, fp32, max abs diff <= 1e-5."""

import dataclasses

import pytest
import torch

import bertkit
from bertkit import BertConfig, InvalidArgumentError

transformers = pytest.importorskip("transformers")

TOL = 1e-5
CONFIGS = {
    "tiny": BertConfig.preset("tiny", vocab_size=120, max_position_embeddings=32),
    "odd": BertConfig(vocab_size=97, hidden_size=48, num_hidden_layers=3, num_attention_heads=3,
                      intermediate_size=50, hidden_act="gelu_new", max_position_embeddings=20, type_vocab_size=3),
    "relu": BertConfig(vocab_size=64, hidden_size=40, num_hidden_layers=1, num_attention_heads=5,
                       intermediate_size=24, hidden_act="relu", max_position_embeddings=16, layer_norm_eps=1e-6),
}


@pytest.fixture
def twins(hf_config):
    return lambda name, cls_name, **overrides: _twins(hf_config, name, cls_name, **overrides)


def _twins(hf_config, name: str, cls_name: str, **overrides):
    """(ours, theirs) in eval mode with identical weights, for a class name both libraries share."""
    cfg = dataclasses.replace(CONFIGS[name], **overrides)
    torch.manual_seed(0)
    theirs = getattr(transformers, cls_name)(hf_config(cfg)).eval()
    ours = getattr(bertkit, cls_name)(cfg).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    return ours, theirs, cfg


def close(a: torch.Tensor, b: torch.Tensor) -> None:
    assert a.shape == b.shape
    assert (a - b).abs().max().item() <= TOL


@pytest.mark.parametrize("name", list(CONFIGS))
@torch.no_grad()
def test_pretraining_parity(name, twins, pair_batch):
    ours, theirs, cfg = twins(name, "BertForPreTraining")
    assert list(ours.state_dict()) == list(theirs.state_dict())  # same names, same order
    ids, mask, types = pair_batch(cfg)
    labels = torch.full_like(ids, -100)
    labels[:, 1::4] = ids[:, 1::4]
    nsp = torch.tensor([0, 1, 1, 0])
    ref = theirs(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=labels,
                 next_sentence_label=nsp, output_hidden_states=True)
    out = ours(ids, attention_mask=mask, token_type_ids=types, labels=labels, next_sentence_label=nsp)
    close(out.last_hidden_state, ref.hidden_states[-1])
    close(out.mlm_logits, ref.prediction_logits[labels != -100])  # only masked positions are scored
    close(out.nsp_logits, ref.seq_relationship_logits)
    close(out.loss, ref.loss)
    full = ours(ids, attention_mask=mask, token_type_ids=types)  # no labels: every position
    close(full.mlm_logits, ref.prediction_logits)
    assert full.loss is None


@pytest.mark.parametrize(("name", "causal"), [("tiny", False), ("odd", False), ("tiny", True)])
@torch.no_grad()
def test_bare_model_parity(name, causal, twins, pair_batch):
    ours, theirs, cfg = twins(name, "BertModel", causal=causal)  # causal: transformers' is_decoder
    ids, mask, types = pair_batch(cfg, batch_size=5)
    ref = theirs(input_ids=ids, attention_mask=mask, token_type_ids=types)
    out = ours(ids, mask, types)
    close(out.last_hidden_state, ref.last_hidden_state)
    close(out.pooler_output, ref.pooler_output)
    # No mask and no segment ids: all tokens, segment 0, as in transformers.
    close(ours(ids).last_hidden_state, theirs(input_ids=ids).last_hidden_state)


@torch.no_grad()
def test_masked_lm_and_nsp_parity(twins, pair_batch):
    ours, theirs, cfg = twins("tiny", "BertForMaskedLM")
    ids, mask, types = pair_batch(cfg)
    labels = torch.where(torch.rand(ids.shape, generator=torch.Generator().manual_seed(1)) < 0.3, ids, -100)
    ref = theirs(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=labels)
    out = ours(ids, mask, types, labels=labels)
    close(out.mlm_logits, ref.logits[labels != -100])
    close(out.loss, ref.loss)
    assert ours.bert.pooler is None

    ours, theirs, cfg = twins("odd", "BertForNextSentencePrediction")
    ids, mask, types = pair_batch(cfg)
    nsp = torch.tensor([1, 0, 0, 1])
    ref = theirs(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=nsp)
    out = ours(ids, mask, types, labels=nsp)
    close(out.nsp_logits, ref.logits)
    close(out.loss, ref.loss)


@pytest.mark.parametrize(("problem", "num_labels", "labels"), [
    (None, 3, torch.tensor([0, 2, 1, 2])),
    (None, 1, torch.tensor([0.5, -1.0, 2.0, 0.0])),  # one label: regression
    ("multi_label_classification", 3, torch.tensor([[1, 0, 1], [0, 0, 0], [1, 1, 1], [0, 1, 0]]).float()),
    ("regression", 2, torch.randn(4, 2)),
])
@torch.no_grad()
def test_sequence_classification_parity(problem, num_labels, labels, twins, pair_batch):
    ours, theirs, cfg = twins("odd", "BertForSequenceClassification", num_labels=num_labels, problem_type=problem)
    ids, mask, types = pair_batch(cfg)
    ref = theirs(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=labels)
    out = ours(ids, mask, types, labels=labels)
    close(out.logits, ref.logits)
    close(out.loss, ref.loss)


@torch.no_grad()
def test_multiple_choice_parity(twins, pair_batch):
    ours, theirs, cfg = twins("tiny", "BertForMultipleChoice")
    ids, mask, types = pair_batch(cfg, batch_size=6)
    ids, mask, types = (t.view(2, 3, -1) for t in (ids, mask, types))  # 2 questions, 3 choices each
    labels = torch.tensor([2, 0])
    ref = theirs(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=labels)
    out = ours(ids, mask, types, labels=labels)
    assert out.logits.shape == (2, 3)
    close(out.logits, ref.logits)
    close(out.loss, ref.loss)
    with pytest.raises(InvalidArgumentError, match="num_choices"):
        ours(ids[0])


@torch.no_grad()
def test_token_classification_parity(twins, pair_batch):
    ours, theirs, cfg = twins("relu", "BertForTokenClassification", num_labels=5)
    ids, mask, types = pair_batch(cfg)
    labels = torch.randint(0, 5, ids.shape).masked_fill(mask == 0, -100)
    ref = theirs(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=labels)
    out = ours(ids, mask, types, labels=labels)
    close(out.logits, ref.logits)
    close(out.loss, ref.loss)


@torch.no_grad()
def test_question_answering_parity_with_out_of_range_positions(twins, pair_batch):
    ours, theirs, cfg = twins("tiny", "BertForQuestionAnswering")
    ids, mask, types = pair_batch(cfg)
    start = torch.tensor([3, 0, 50, 5])  # 50: the answer was truncated away, clamped and ignored as in transformers
    end = torch.tensor([[4], [2], [60], [7]])
    ref = theirs(input_ids=ids, attention_mask=mask, token_type_ids=types, start_positions=start, end_positions=end)
    out = ours(ids, mask, types, start_positions=start, end_positions=end)
    close(out.start_logits, ref.start_logits)
    close(out.end_logits, ref.end_logits)
    close(out.loss, ref.loss)


def test_state_dict_keys_match_every_class(hf_config):
    cfg = CONFIGS["tiny"]
    for name in ("BertModel", "BertForPreTraining", "BertForMaskedLM", "BertForNextSentencePrediction",
                 "BertForSequenceClassification", "BertForMultipleChoice", "BertForTokenClassification",
                 "BertForQuestionAnswering"):
        ours = getattr(bertkit, name)(cfg).state_dict()
        theirs = getattr(transformers, name)(hf_config(cfg)).state_dict()
        assert {k: tuple(v.shape) for k, v in ours.items()} == {k: tuple(v.shape) for k, v in theirs.items()}, name


def test_decoder_tied_to_word_embeddings(twins):
    model = bertkit.BertForPreTraining(CONFIGS["tiny"])
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    assert model.cls.predictions.decoder.bias is model.cls.predictions.bias
    ours, theirs, _ = twins("tiny", "BertForMaskedLM")
    assert ours.cls.predictions.decoder.weight is ours.bert.embeddings.word_embeddings.weight  # still tied after load


def test_initialisation_follows_bert():
    cfg = BertConfig.preset("mini", vocab_size=2000)
    model = bertkit.BertForPreTraining(cfg)
    q = model.bert.encoder.layer[0].attention.self.query
    assert abs(q.weight.std().item() - 0.02) < 0.002 and q.bias.abs().max() == 0
    assert model.bert.embeddings.word_embeddings.weight[cfg.pad_token_id].abs().max() == 0
    ln = model.bert.encoder.layer[0].output.LayerNorm
    assert (ln.weight == 1).all() and (ln.bias == 0).all()
    assert model.cls.predictions.bias.abs().max() == 0


def test_question_answering_needs_two_labels():
    with pytest.raises(InvalidArgumentError, match="num_labels=2"):
        bertkit.BertForQuestionAnswering(BertConfig.preset("tiny", num_labels=3))


def test_labels_shape_checked():
    model = bertkit.BertForMaskedLM(CONFIGS["tiny"])
    ids = torch.randint(0, 100, (2, 8))
    with pytest.raises(InvalidArgumentError, match="labels has shape"):
        model(ids, labels=ids[:, :4])
