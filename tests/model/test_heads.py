"""The task heads: parity with transformers (same weights, same outputs and losses, fp32, max abs diff <= 1e-5)."""

import dataclasses

import pytest
import torch

import bertkit
from bertkit import BertConfig, InvalidArgumentError
from bertkit.model.pooling import mean_pool

transformers = pytest.importorskip("transformers")


@pytest.mark.parametrize("name", ["tiny", "odd", "relu"])
@torch.no_grad()
def test_pretraining_parity(name, twins, pair_batch, close):
    ours, theirs, cfg = twins(name, "BertForPreTraining")
    assert list(ours.state_dict()) == list(theirs.state_dict())  # same names, same order
    ids, mask, types = pair_batch(cfg)
    labels = torch.full_like(ids, -100)
    labels[:, 1::4] = ids[:, 1::4]
    nsp = torch.tensor([0, 1, 1, 0])
    ref = theirs(
        input_ids=ids,
        attention_mask=mask,
        token_type_ids=types,
        labels=labels,
        next_sentence_label=nsp,
        output_hidden_states=True,
    )
    out = ours(ids, attention_mask=mask, token_type_ids=types, labels=labels, next_sentence_label=nsp)
    close(out.last_hidden_state, ref.hidden_states[-1])
    close(out.mlm_logits, ref.prediction_logits[labels != -100])  # only masked positions are scored
    close(out.nsp_logits, ref.seq_relationship_logits)
    close(out.loss, ref.loss)
    full = ours(ids, attention_mask=mask, token_type_ids=types)  # no labels: every position
    close(full.mlm_logits, ref.prediction_logits)
    assert full.loss is None


@torch.no_grad()
def test_masked_lm_and_nsp_parity(twins, pair_batch, close, inputs, same_outputs):
    ours, theirs, cfg = twins("tiny", "BertForMaskedLM")
    ids, mask, types = pair_batch(cfg)
    labels = torch.where(torch.rand(ids.shape, generator=torch.Generator().manual_seed(1)) < 0.3, ids, -100)
    ref = theirs(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=labels)
    out = ours(ids, mask, types, labels=labels)
    close(out.mlm_logits, ref.logits[labels != -100])
    close(out.loss, ref.loss)
    assert ours.bert.pooler is None

    cls_name = "BertForNextSentencePrediction"
    ours, theirs, cfg = twins("odd", cls_name)
    same_outputs(ours, theirs, cls_name, inputs(cfg, cls_name), labels=torch.tensor([1, 0, 0, 1]))


@pytest.mark.parametrize(
    ("problem", "num_labels", "labels"),
    [
        (None, 3, torch.tensor([0, 2, 1, 2])),
        (None, 1, torch.tensor([0.5, -1.0, 2.0, 0.0])),  # one label: regression
        ("multi_label_classification", 3, torch.tensor([[1, 0, 1], [0, 0, 0], [1, 1, 1], [0, 1, 0]]).float()),
        ("regression", 2, torch.randn(4, 2)),
    ],
)
@torch.no_grad()
def test_sequence_classification_parity(problem, num_labels, labels, twins, inputs, same_outputs):
    cls_name = "BertForSequenceClassification"
    ours, theirs, cfg = twins("odd", cls_name, num_labels=num_labels, problem_type=problem)
    same_outputs(ours, theirs, cls_name, inputs(cfg, cls_name), labels=labels)


@torch.no_grad()
def test_multiple_choice_parity(twins, inputs, same_outputs):
    cls_name = "BertForMultipleChoice"
    ours, theirs, cfg = twins("tiny", cls_name)
    batch = inputs(cfg, cls_name, batch_size=6)  # 2 questions, 3 choices each
    out = same_outputs(ours, theirs, cls_name, batch, labels=torch.tensor([2, 0]))
    assert out.logits.shape == (2, 3)
    with pytest.raises(InvalidArgumentError, match="num_choices"):
        ours(batch["input_ids"][0])


@torch.no_grad()
def test_token_classification_parity(twins, inputs, same_outputs):
    cls_name = "BertForTokenClassification"
    ours, theirs, cfg = twins("relu", cls_name, num_labels=5)
    batch = inputs(cfg, cls_name)
    labels = torch.randint(0, 5, batch["input_ids"].shape).masked_fill(batch["attention_mask"] == 0, -100)
    same_outputs(ours, theirs, cls_name, batch, labels=labels)


@torch.no_grad()
def test_question_answering_parity_with_out_of_range_positions(twins, inputs, same_outputs):
    cls_name = "BertForQuestionAnswering"
    ours, theirs, cfg = twins("tiny", cls_name)
    # 50: the answer was truncated away, clamped and ignored as in transformers.
    start = torch.tensor([3, 0, 50, 5])
    end = torch.tensor([[4], [2], [60], [7]])
    same_outputs(ours, theirs, cls_name, inputs(cfg, cls_name), start_positions=start, end_positions=end)


def test_state_dict_keys_match_every_class(hf_config, configs):
    cfg = configs["tiny"]
    for name in (
        "BertModel",
        "BertForPreTraining",
        "BertForMaskedLM",
        "BertForNextSentencePrediction",
        "BertForSequenceClassification",
        "BertForMultipleChoice",
        "BertForTokenClassification",
        "BertForQuestionAnswering",
    ):
        ours = getattr(bertkit, name)(cfg).state_dict()
        theirs = getattr(transformers, name)(hf_config(cfg)).state_dict()
        assert {k: tuple(v.shape) for k, v in ours.items()} == {
            k: tuple(v.shape) for k, v in theirs.items()
        }, name


def test_decoder_tied_to_word_embeddings(twins, configs):
    model = bertkit.BertForPreTraining(configs["tiny"])
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    assert model.cls.predictions.decoder.bias is model.cls.predictions.bias
    ours, theirs, _ = twins("tiny", "BertForMaskedLM")
    # Still tied after load_state_dict.
    assert ours.cls.predictions.decoder.weight is ours.bert.embeddings.word_embeddings.weight


def test_question_answering_needs_two_labels():
    with pytest.raises(InvalidArgumentError, match="num_labels=2"):
        bertkit.BertForQuestionAnswering(BertConfig.preset("tiny", num_labels=3))


def test_labels_shape_checked(configs):
    model = bertkit.BertForMaskedLM(configs["tiny"])
    ids = torch.randint(0, 100, (2, 8))
    with pytest.raises(InvalidArgumentError, match="labels has shape"):
        model(ids, labels=ids[:, :4])


@pytest.mark.parametrize("cls_name", ["BertForSequenceClassification", "BertForMultipleChoice"])
@torch.no_grad()
def test_cls_only_gives_the_pooled_heads_logits_and_loss(cls_name, twins, inputs, close):
    ours, theirs, cfg = twins("odd", cls_name)  # odd: 3 layers, 3 heads, 5 labels
    batch = inputs(cfg, cls_name, batch_size=6)  # padded pairs; multiple choice: 2 questions of 3 choices
    labels = torch.tensor([2, 0]) if cls_name == "BertForMultipleChoice" else torch.tensor([0, 4, 1, 3, 2, 0])
    ref = theirs(**batch, labels=labels)
    out = ours(**batch, labels=labels, cls_only=True)
    close(out.logits, ref.logits)
    close(out.loss, ref.loss)
    assert out.last_hidden_state.shape == (6, 1, cfg.hidden_size)  # each sequence's [CLS] alone


@pytest.mark.parametrize("cls_name", ["BertForSequenceClassification", "BertForMultipleChoice"])
@torch.no_grad()
def test_mean_pooling_classifies_the_mean_of_the_real_tokens(cls_name, configs, inputs, close):
    cfg = dataclasses.replace(configs["odd"], classifier_pooling="mean")
    model = getattr(bertkit, cls_name)(cfg).eval()
    assert model.bert.pooler is None and not hasattr(model, "classifier")
    batch = inputs(cfg, cls_name, batch_size=6)  # padded pairs; multiple choice: 2 questions of 3 choices
    out = model(**batch)
    flat = {k: v.reshape(6, -1) for k, v in batch.items()}
    hidden = model.bert(**flat).last_hidden_state
    expected = model.mean_classifier(mean_pool(hidden, flat["attention_mask"]))
    assert torch.equal(out.logits, expected.view(out.logits.shape))
    assert out.logits.shape == ((2, 3) if cls_name == "BertForMultipleChoice" else (6, 5))
    # cls_only is for the pooler's [CLS]: the mean ignores it and reads every position.
    assert torch.equal(model(**batch, cls_only=True).logits, out.logits)
    # More padding changes nothing: padding positions are left out of the mean.
    padded = {k: torch.nn.functional.pad(v, (0, 5)) for k, v in batch.items()}
    close(model(**padded).logits, out.logits)
    labels = torch.tensor([2, 0]) if cls_name == "BertForMultipleChoice" else torch.tensor([0, 4, 1, 3, 2, 0])
    loss = model(**batch, labels=labels).loss
    close(loss, torch.nn.functional.cross_entropy(out.logits.view(-1, out.logits.shape[-1]), labels))


def test_cls_pooling_is_hugging_faces_head(configs):
    """The default: the pooler and `classifier`, transformers' names (the parity tests above run it)."""
    model = bertkit.BertForSequenceClassification(configs["tiny"])
    assert model.bert.pooler is not None and not hasattr(model, "mean_classifier")
    assert {"classifier.weight", "bert.pooler.dense.weight"} <= set(model.state_dict())
