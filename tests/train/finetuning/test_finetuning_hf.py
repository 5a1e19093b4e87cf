"""Hugging Face round trips: transformers' Auto classes load RUN/final and give our logits (fp32, 1e-5), and a
transformers fine-tuned checkpoint loads into ours the same way, evaluates, predicts and trains further."""

import logging

import pytest
import torch
import transformers

from bertkit import evaluate, finetune, predict
from bertkit.tasks import collate, encode, read_task_file
from bertkit.tasks.models import load_for_task
from bertkit.tokenizer import WordPieceTokenizer

AUTO_CLASSES = {
    "classify": transformers.AutoModelForSequenceClassification,
    "regress": transformers.AutoModelForSequenceClassification,
    "choice": transformers.AutoModelForMultipleChoice,
    "tag": transformers.AutoModelForTokenClassification,
    "qa": transformers.AutoModelForQuestionAnswering,
}
HF_CLASSES = {
    "classify": transformers.BertForSequenceClassification,
    "choice": transformers.BertForMultipleChoice,
    "tag": transformers.BertForTokenClassification,
    "qa": transformers.BertForQuestionAnswering,
}
LABELS = {"classify": ["neg", "pos"], "tag": ["B-LOC", "B-PER", "I-PER", "O"]}


def batch_of(directory, task, path, labels=None):
    """The file's first 6 features, collated, with our tokenizer of `directory`."""
    tokenizer = WordPieceTokenizer.from_pretrained(directory)
    data = read_task_file(path, task)
    labels = labels or LABELS.get(task)
    label2id = {name: i for i, name in enumerate(labels)} if labels else None
    features = encode(data, tokenizer, max_length=32, label2id=label2id)
    batch = collate(features.inputs[:6], tokenizer.pad_token_id)
    return {k: batch[k] for k in ("input_ids", "token_type_ids", "attention_mask")}, data


def head_outputs(out, task):
    return [out.start_logits, out.end_logits] if task == "qa" else [out.logits]


def assert_same_outputs(ours, theirs, task, batch):
    with torch.no_grad():
        mine, reference = head_outputs(ours(**batch), task), head_outputs(theirs(**batch), task)
    for a, b in zip(mine, reference, strict=True):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5)


@pytest.mark.parametrize("task", list(AUTO_CLASSES))
def test_transformers_loads_the_fine_tuned_model_with_its_labels_and_tokenizer(
    task, files, settings, tmp_path
):
    paths = files(task)
    final = finetune(**settings(task, paths, tmp_path / "run", max_steps=2))
    theirs = AUTO_CLASSES[task].from_pretrained(final).eval()
    ours = load_for_task(final, task)
    batch, data = batch_of(final, task, paths["validation"])
    assert_same_outputs(ours, theirs, task, batch)
    if task in LABELS:
        assert theirs.config.id2label == dict(enumerate(LABELS[task]))
        assert theirs.config.label2id == {name: i for i, name in enumerate(LABELS[task])}
    if task == "regress":
        assert theirs.config.num_labels == 1 and theirs.config.problem_type == "regression"

    hf_tokenizer = transformers.AutoTokenizer.from_pretrained(final)
    if task == "classify":
        texts = [e.text for e in data.examples[:6]]
        expected = hf_tokenizer(texts, padding=True, return_tensors="pt")
        assert torch.equal(expected["input_ids"], batch["input_ids"])


@pytest.mark.parametrize("task", list(HF_CLASSES))
def test_a_transformers_fine_tuned_checkpoint_evaluates_predicts_and_trains_further(
    task, files, settings, tokenizer, tmp_path, caplog
):
    paths = files(task)
    labels = LABELS.get(task)
    config = transformers.BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        **(
            {"id2label": dict(enumerate(labels)), "label2id": {n: i for i, n in enumerate(labels)}}
            if labels
            else {}
        ),
    )
    torch.manual_seed(0)
    theirs = HF_CLASSES[task](config).eval()
    checkpoint = tmp_path / "hf"
    theirs.save_pretrained(checkpoint)
    tokenizer.save_pretrained(checkpoint)

    ours = load_for_task(checkpoint, task)
    batch, data = batch_of(checkpoint, task, paths["validation"])
    assert_same_outputs(ours, theirs, task, batch)

    metrics = evaluate(checkpoint, task, paths["validation"], max_length=32)
    assert metrics["examples"] == len(data)
    records = predict(checkpoint, task, paths["validation"], max_length=32)
    if task == "classify":  # the labels and probabilities transformers gives
        with torch.no_grad():
            probabilities = theirs(**batch).logits.softmax(-1)
        for record, p in zip(records, probabilities, strict=False):
            assert record == {
                "label": labels[int(p.argmax())],
                "score": pytest.approx(float(p.max()), abs=1e-6),
            }

    with caplog.at_level(logging.WARNING):
        final = finetune(**settings(task, paths, tmp_path / "run", model=str(checkpoint), max_steps=1))
    assert "newly initialised" not in caplog.text  # the checkpoint's head is the one trained further
    assert AUTO_CLASSES[task].from_pretrained(final).config.architectures == [HF_CLASSES[task].__name__]


def test_a_checkpoint_with_generated_label_names_reads_integer_labels_as_ids(tokenizer, tmp_path):
    """transformers names unnamed labels LABEL_0, LABEL_1; a GLUE file's labels 0 and 1 are those ids."""
    config = transformers.BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
    )
    torch.manual_seed(0)
    theirs = transformers.BertForSequenceClassification(config).eval()
    theirs.save_pretrained(tmp_path / "hf")
    tokenizer.save_pretrained(tmp_path / "hf")
    data = tmp_path / "dev.tsv"
    data.write_text("sentence\tlabel\nthe movie was good\t1\nit was bad\t0\nvery nice\t1\n")
    records = predict(tmp_path / "hf", "classify", data)
    batch, _ = batch_of(tmp_path / "hf", "classify", data, labels=["0", "1"])
    with torch.no_grad():
        expected = theirs(**batch).logits.argmax(-1).tolist()
    assert [r["label"] for r in records] == [str(i) for i in expected]
    assert (
        evaluate(tmp_path / "hf", "classify", data)["accuracy"]
        == sum(str(e) == y for e, y in zip(expected, "101", strict=True)) / 3
    )
