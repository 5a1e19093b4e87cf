"""Fine-tuning through the one training loop, from the Python API: every task end to end (train, validate each
epoch, export, evaluate, predict), the schedule in epochs, heads created / kept / refused, and learning."""

import json

import pytest
import torch
from safetensors.torch import load_file

from bertkit import (
    BertForSequenceClassification,
    CheckpointError,
    FileFormatError,
    FinetuneConfig,
    InvalidArgumentError,
    evaluate,
    finetune,
    predict,
)
from bertkit.checkpoint.load import read_config
from bertkit.tasks import read_task_file
from bertkit.train.metrics import read_metrics

METRIC_KEYS = {
    "classify": {"accuracy", "macro_f1", "mcc"},
    "regress": {"pearson", "spearman", "mse"},
    "choice": {"accuracy"},
    "tag": {"precision", "recall", "f1", "accuracy"},
    "qa": {"exact", "f1"},
}
TRAINING_FIGURES = {
    "classify": {"loss", "accuracy"},
    "regress": {"loss"},
    "choice": {"loss", "accuracy"},
    "tag": {"loss", "accuracy"},
    "qa": {"loss"},
}


@pytest.mark.parametrize("task", list(METRIC_KEYS))
def test_every_task_trains_validates_exports_evaluates_and_predicts(task, files, settings, tmp_path):
    paths = files(task)
    run = tmp_path / "run"
    final = finetune(**settings(task, paths, run))
    assert final == run / "final"
    for name in ("config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"):
        assert (final / name).is_file(), name

    records = read_metrics(run)
    train = [r for r in records if r["split"] == "train"]
    validation = [r for r in records if r["split"] == "validation"]
    steps = train[-1]["step"]
    assert [r["step"] for r in train] == list(range(1, steps + 1))
    assert [r["epoch"] for r in validation] == [1.0, 2.0]
    assert validation[-1]["step"] == steps and steps % 2 == 0
    for r in train:
        assert TRAINING_FIGURES[task] <= set(r) and r["tokens_per_s"] > 0
    for r in validation:
        assert METRIC_KEYS[task] <= set(r)

    # evaluate: the same figures as the last validation, from the exported model
    valid = read_task_file(paths["validation"], task)
    metrics = evaluate(final, task, paths["validation"], max_length=32)
    assert METRIC_KEYS[task] | {"examples"} <= set(metrics)
    assert metrics["examples"] == len(valid)
    for key in METRIC_KEYS[task]:
        assert metrics[key] == pytest.approx(validation[-1][key], abs=1e-9, nan_ok=True), key

    # predict: one record per example, in input order, in the shapes
    out = tmp_path / "preds.jsonl"
    records = predict(final, task, paths["validation"], out, max_length=32)
    assert [json.loads(line) for line in out.read_text().splitlines()] == records
    assert len(records) == len(valid)
    config = read_config(final)
    for record, example in zip(records, valid.examples, strict=True):
        if task == "classify":
            assert set(record) == {"label", "score"} and record["label"] in ("neg", "pos")
            assert 0.5 <= record["score"] <= 1
        elif task == "regress":
            assert set(record) == {"score"} and isinstance(record["score"], float)
        elif task == "choice":
            assert set(record) == {"label", "scores"} and len(record["scores"]) == len(example.choices)
            assert record["label"] == max(range(4), key=record["scores"].__getitem__)
            assert sum(record["scores"]) == pytest.approx(1)
        elif task == "tag":
            assert record["tokens"] == example.tokens and len(record["tags"]) == len(example.tokens)
            assert set(record["tags"]) <= set(config.label2id)
        else:
            assert set(record) == {"id", "answer", "start", "score"} and record["id"] == example.id
            assert (
                example.context[record["start"] : record["start"] + len(record["answer"])] == record["answer"]
            )


def test_labels_are_stored_sorted_in_the_exported_config(files, settings, tmp_path):
    final = finetune(**settings("tag", files("tag"), tmp_path / "run", max_steps=1))
    config = json.loads((final / "config.json").read_text())
    assert config["id2label"] == {"0": "B-LOC", "1": "B-PER", "2": "I-PER", "3": "O"}
    assert config["label2id"] == {"B-LOC": 0, "B-PER": 1, "I-PER": 2, "O": 3}
    assert config["architectures"] == ["BertForTokenClassification"]
    regress = finetune(**settings("regress", files("regress"), tmp_path / "regress", max_steps=1))
    config = json.loads((regress / "config.json").read_text())
    assert config["problem_type"] == "regression" and len(config["id2label"]) == 1


def test_classification_learns_the_task(files, settings, tmp_path):
    # A random tiny BERT needs ~40 steps to leave the 50% plateau on this sentiment toy.
    final = finetune(
        **settings("classify", files("classify"), tmp_path / "run", epochs=10, lr=3e-3, save_every=100)
    )
    validation = [r for r in read_metrics(tmp_path / "run") if r["split"] == "validation"]
    assert validation[0]["accuracy"] <= 0.75 and validation[-1]["accuracy"] == 1.0
    assert evaluate(final, "classify", files("classify")["validation"])["accuracy"] == 1.0


def test_epochs_set_the_schedule_and_max_steps_overrides_them(files, settings, tmp_path):
    paths = files("classify", n_train=20)  # 20 examples, batches of 8: 3 steps an epoch (the last one padded)
    finetune(**settings("classify", paths, tmp_path / "epochs", epochs=3, warmup_ratio=0.25, save_every=100))
    records = read_metrics(tmp_path / "epochs")
    train = [r for r in records if r["split"] == "train"]
    assert [r["step"] for r in records if r["split"] == "validation"] == [3, 6, 9]
    assert len(train) == 9
    # warm-up: ceil(0.25 x 9) = 3 steps climbing to lr, then linear decay to zero after step 9
    assert [r["lr"] for r in train[:5]] == pytest.approx([1e-3 / 3, 2e-3 / 3, 1e-3, 1e-3, 1e-3 * 5 / 6])
    checkpoints = sorted(p.name for p in (tmp_path / "epochs" / "checkpoints").iterdir())
    assert checkpoints == ["step-3", "step-6", "step-9"][-3:]  # every epoch end (keep=3)

    finetune(**settings("classify", paths, tmp_path / "steps", max_steps=4, warmup_steps=0, save_every=100))
    records = read_metrics(tmp_path / "steps")
    assert [r["step"] for r in records if r["split"] == "train"] == [1, 2, 3, 4]
    assert [(r["step"], r["epoch"]) for r in records if r["split"] == "validation"] == [(3, 1.0), (4, 1.33)]


def test_grad_accum_makes_an_epoch_fewer_optimizer_steps(files, settings, tmp_path):
    paths = files("classify", n_train=20)
    finetune(
        **settings("classify", paths, tmp_path / "run", batch_size=4, grad_accum=2, epochs=1, save_every=100)
    )
    assert [r["step"] for r in read_metrics(tmp_path / "run") if r["split"] == "train"] == [1, 2, 3]


def test_a_fine_tuned_run_fine_tunes_further_and_a_head_of_another_task_is_refused(files, settings, tmp_path):
    paths = files("classify")
    first = finetune(**settings("classify", paths, tmp_path / "first", max_steps=2))
    second = finetune(**settings("classify", paths, tmp_path / "second", model=str(first), max_steps=2))
    assert read_config(second).id2label == {0: "neg", 1: "pos"}

    tag_paths = files("tag")
    with pytest.raises(
        CheckpointError, match=r"holds a `classify` head, not a `tag` one; pass `reinit_head`"
    ):
        finetune(**settings("tag", tag_paths, tmp_path / "tag", model=str(first)))
    final = finetune(
        **settings("tag", tag_paths, tmp_path / "tag", model=str(first), reinit_head=True, max_steps=1)
    )
    assert read_config(final).num_labels == 4

    # The same task with other labels is refused too: the classifier's rows mean other things.
    other = tmp_path / "other.csv"
    other.write_text("text,label\nthe movie,a\nit was,b\nnice,c\n")
    with pytest.raises(
        CheckpointError, match=r"labels \['neg', 'pos'\], the training file has \['a', 'b', 'c'\]"
    ):
        finetune(**settings("classify", {**paths, "train": other}, tmp_path / "other", model=str(first)))


def test_evaluate_and_predict_need_the_tasks_head(files, settings, pretrained, tmp_path):
    paths = files("classify")
    with pytest.raises(CheckpointError, match="holds no task head, not a `classify` one; fine-tune it first"):
        evaluate(pretrained, "classify", paths["validation"])
    final = finetune(**settings("classify", paths, tmp_path / "run", max_steps=1))
    with pytest.raises(CheckpointError, match="holds a `classify` head, not a `regress` one"):
        predict(final, "regress", paths["validation"])


def test_a_validation_label_never_seen_in_training_names_file_line_and_label(files, settings, tmp_path):
    paths = files("classify")
    bad = tmp_path / "dev.csv"
    bad.write_text("text,label\nthe movie,pos\nit was,meh\n")
    with pytest.raises(
        FileFormatError, match=r"dev.csv, line 3: label 'meh' never appears in the training data"
    ):
        finetune(**settings("classify", {**paths, "validation": bad}, tmp_path / "run"))


def test_config_checks_and_toml(files, settings, tmp_path):
    paths = files("classify")
    with pytest.raises(InvalidArgumentError, match="`task` must be one of"):
        FinetuneConfig(**settings("sort", paths, tmp_path / "run"))
    with pytest.raises(InvalidArgumentError, match="`model` is required"):
        FinetuneConfig(**settings("classify", paths, tmp_path / "run", model=""))
    with pytest.raises(InvalidArgumentError, match="`warmup_ratio` must be between 0 and 1"):
        FinetuneConfig(**settings("classify", paths, tmp_path / "run", warmup_ratio=1.5))
    toml = tmp_path / "run.toml"
    toml.write_text(
        "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings("classify", paths, tmp_path / "run").items())
    )
    final = finetune(toml, max_steps=1)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["max_steps"] == 1
    assert final.is_dir()


def test_bf16_autocast_on_cpu_trains_and_validates(files, settings, tmp_path):
    final = finetune(**settings("tag", files("tag"), tmp_path / "run", bf16=True, max_steps=2))
    assert (
        json.loads((final / "config.json").read_text())["dtype"] == "float32"
    )  # autocast: weights stay fp32
    assert [r["split"] for r in read_metrics(tmp_path / "run")][-1] == "validation"


def test_squad_v2_trains_on_unanswerable_questions_and_reports_the_breakdown(settings, squad_file, tmp_path):
    paths = {
        split: squad_file(tmp_path / f"{split}.json", n, v2=True, seed=n)
        for split, n in (("train", 16), ("validation", 6))
    }
    final = finetune(**settings("qa", paths, tmp_path / "run", max_steps=3))
    metrics = evaluate(final, "qa", paths["validation"], max_length=32)
    assert {"exact", "f1", "has_answer_f1", "no_answer_f1", "best_f1", "best_f1_thresh"} <= set(metrics)
    assert metrics["examples"] == 18 and metrics["no_answer_examples"] == 6
    validation = [r for r in read_metrics(tmp_path / "run") if r["split"] == "validation"]
    assert validation[-1]["has_answer_f1"] == pytest.approx(metrics["has_answer_f1"])
    for record in predict(final, "qa", paths["validation"], max_length=32):
        assert (record["start"] is None) == (record["answer"] == "")


def test_mean_pooling_fine_tunes_predicts_and_its_head_is_kept_or_refused(
    files, settings, tokenizer, tmp_path
):
    paths = files("classify")
    final = finetune(**settings("classify", paths, tmp_path / "mean", pooling="mean", max_steps=2))
    assert read_config(final).classifier_pooling == "mean"
    assert "mean_classifier.weight" in load_file(final / "model.safetensors")
    assert evaluate(final, "classify", paths["validation"])["examples"] == 12
    # predict (which asks for cls_only) gives the argmax of the model's own forward pass over every token.
    records = predict(final, "classify", paths["validation"], tmp_path / "preds.jsonl")
    model = BertForSequenceClassification.from_pretrained(final)
    texts = [e.text for e in read_task_file(paths["validation"], "classify").examples]
    with torch.no_grad():
        logits = model(**tokenizer(texts, padding=True, return_tensors="pt")).logits
    assert [r["label"] for r in records] == [model.config.id2label[int(i)] for i in logits.argmax(-1)]

    # No `pooling`: the checkpoint's own head is trained further; the other pooling needs `reinit_head`.
    again = finetune(**settings("classify", paths, tmp_path / "again", model=str(final), max_steps=1))
    assert read_config(again).classifier_pooling == "mean"
    other = settings("classify", paths, tmp_path / "cls", model=str(final), pooling="cls", max_steps=1)
    with pytest.raises(CheckpointError, match=r"head on `mean` pooling, not `cls`.*; pass `reinit_head`"):
        finetune(**other)
    replaced = finetune(**other, reinit_head=True)
    assert read_config(replaced).classifier_pooling == "cls"
    assert {"classifier.weight", "bert.pooler.dense.weight"} <= set(load_file(replaced / "model.safetensors"))

    with pytest.raises(InvalidArgumentError, match="`pooling` must be one of cls, mean, got 'max'"):
        FinetuneConfig(**settings("classify", paths, tmp_path / "x", pooling="max"))
    with pytest.raises(InvalidArgumentError, match="`pooling` is for the classify, regress, choice heads"):
        FinetuneConfig(**settings("tag", files("tag"), tmp_path / "x", pooling="mean"))


def test_multiple_choice_fine_tunes_on_mean_pooling(files, settings, tmp_path):
    paths = files("choice")
    final = finetune(**settings("choice", paths, tmp_path / "run", pooling="mean", max_steps=2))
    assert read_config(final).classifier_pooling == "mean"
    assert evaluate(final, "choice", paths["validation"])["examples"] == 12
