"""Checkpoint: a directory or Hub id opened once. Counted by watching the files opened: a command or pipeline
reads config.json once and opens the weights once, whatever it asks of the checkpoint on the way."""

import json
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

import bertkit
from bertkit import BertConfig, BertForMaskedLM, BertForSequenceClassification, Checkpoint, WordPieceTokenizer
from bertkit.checkpoint import files
from bertkit.cli import main
from bertkit.constants import SPECIAL_TOKENS
from bertkit.errors import CheckpointError, InvalidArgumentError
from bertkit.model import MODEL_CLASSES
from bertkit.serve.explorer import Explorer

REPO = "org/tiny-mlm"
COMMIT = "c" * 40
_opened: list[str] | None = None  # the paths opened while `reads` records, else None


def _audit(event: str, args: tuple) -> None:
    if _opened is not None and event == "open" and isinstance(args[0], str | Path):
        _opened.append(str(args[0]))


sys.addaudithook(_audit)  # an audit hook cannot be removed: it records only inside `reads`


@contextmanager
def reads(monkeypatch):
    """{"config": times config.json was opened, "weights": times a weight file was} inside the block."""
    global _opened
    counts = {"config": 0, "weights": 0}
    real_safe_open = files.safe_open

    def counted_safe_open(path, *args, **kwargs):
        counts["weights"] += 1
        return real_safe_open(path, *args, **kwargs)

    monkeypatch.setattr(files, "safe_open", counted_safe_open)
    _opened = []
    try:
        yield counts
    finally:
        counts["config"] = sum(Path(p).name == "config.json" for p in _opened)
        _opened = None
        monkeypatch.setattr(files, "safe_open", real_safe_open)


def tiny(cls, directory: Path, **config) -> Path:
    tokenizer = WordPieceTokenizer(list(SPECIAL_TOKENS) + list("abcdef"))
    torch.manual_seed(0)
    cls(BertConfig.preset("tiny", vocab_size=len(tokenizer), **config)).save_pretrained(directory, tokenizer)
    return directory


@pytest.fixture(scope="module")
def classifier(tmp_path_factory) -> Path:
    labels = {"id2label": {0: "neg", 1: "pos"}, "label2id": {"neg": 0, "pos": 1}}
    return tiny(BertForSequenceClassification, tmp_path_factory.mktemp("classifier"), num_labels=2, **labels)


@pytest.fixture(scope="module")
def masked_lm(tmp_path_factory) -> Path:
    return tiny(BertForMaskedLM, tmp_path_factory.mktemp("mlm"))


def test_predict_on_a_classifier_reads_config_and_weights_once(classifier, tmp_path, monkeypatch):
    data = tmp_path / "in.csv"
    data.write_text("text\nabc\nfed\n")
    with reads(monkeypatch) as counts:  # no --task: the head says it is a classifier
        assert (
            main(
                [
                    "predict",
                    "--model",
                    str(classifier),
                    "--input",
                    str(data),
                    "--output",
                    str(tmp_path / "out.jsonl"),
                ]
            )
            == 0
        )
    assert counts == {"config": 1, "weights": 1}


def test_text_scoring_on_a_masked_lm_reads_config_and_weights_once(masked_lm, monkeypatch):
    with reads(monkeypatch) as counts:
        scorer = bertkit.pipeline("text-scoring", model=masked_lm)
    assert counts == {"config": 1, "weights": 1}
    assert not scorer.causal and len(scorer("a b c")["token_log_probs"]) == 3


def test_a_checkpoint_is_read_once_for_every_loader_given_it(masked_lm, monkeypatch):
    with reads(monkeypatch) as counts, Checkpoint(masked_lm) as checkpoint:
        assert checkpoint.architecture == "BertForMaskedLM"
        fill = bertkit.pipeline("fill-mask", model=checkpoint)
        score = bertkit.pipeline("text-scoring", model=checkpoint)
        embed = bertkit.pipeline("sentence-embedding", model=checkpoint)
        model = MODEL_CLASSES[checkpoint.architecture].from_pretrained(checkpoint)
    assert counts == {"config": 1, "weights": 1}
    assert fill.model is not model and fill.model.config is not checkpoint.config  # each model its own
    text = "a [MASK] c"
    assert fill(text)[0]["token"] == bertkit.pipeline("fill-mask", model=masked_lm)(text)[0]["token"]
    assert score("a b c") == bertkit.pipeline("text-scoring", model=masked_lm)("a b c")
    assert embed("a b c").shape == (model.config.hidden_size,)


def test_a_checkpoint_describes_the_directory(classifier):
    with Checkpoint(classifier) as checkpoint:
        assert checkpoint.path == classifier and checkpoint.architecture == "BertForSequenceClassification"
        assert checkpoint.config.id2label == {0: "neg", 1: "pos"}
        assert checkpoint.task_settings is None  # not fine-tuned by bertkit
        assert "vocab.txt" in checkpoint.tokenizer_files
        assert checkpoint.tokenizer() is checkpoint.tokenizer()
        assert checkpoint.weights is checkpoint.weights  # opened once
        assert checkpoint.config_with(num_labels=3).id2label is None  # new labels replace the names
        assert checkpoint.config.num_labels == 2
    assert Checkpoint.of(checkpoint) is checkpoint


def test_bad_arguments_are_one_clear_error(classifier, tmp_path):
    checkpoint = Checkpoint(classifier)
    with pytest.raises(InvalidArgumentError, match="opened at its default revision"):
        Checkpoint.of(checkpoint, revision="v2")
    with pytest.raises(InvalidArgumentError, match="a checkpoint directory, a Hub id or a Checkpoint"):
        Checkpoint.of(3)
    with pytest.raises(CheckpointError, match="no config.json"):
        Checkpoint(tmp_path)
    (tmp_path / "config.json").write_text("[1]")
    with pytest.raises(bertkit.FileFormatError, match="config.json: a config must be a JSON object"):
        Checkpoint(tmp_path)


def test_hub_id_and_revision_for_every_loader(masked_lm, classifier, offline, lay_out, tmp_path, capsys):
    lay_out(offline, REPO, COMMIT, masked_lm, refs=("v1",))
    with pytest.raises(CheckpointError, match="not .fully. in the Hugging Face cache"):
        Checkpoint(REPO)  # no main
    checkpoint = Checkpoint(REPO, revision="v1")
    assert checkpoint.path.name == COMMIT and checkpoint.revision == "v1"
    explorer = Explorer(REPO, revision="v1")  # a Hub id from Python, as on the command line
    assert explorer.architecture == "BertForMaskedLM" and "fill-mask" in explorer.heads
    local = Explorer(masked_lm)
    assert explorer.fill_mask(["a [MASK] c"], 3) == local.fill_mask(["a [MASK] c"], 3)
    assert bertkit.pipeline("fill-mask", model=REPO, revision="v1")("a [MASK] c") == (
        bertkit.pipeline("fill-mask", model=masked_lm)("a [MASK] c")
    )
    lay_out(offline, "org/classifier", COMMIT, classifier, refs=("v1",))
    data = tmp_path / "in.csv"
    data.write_text("text,label\nabc,pos\nfed,neg\n")
    theirs = bertkit.evaluate("org/classifier", None, data, revision="v1")
    assert theirs == bertkit.evaluate(classifier, None, data)
    assert bertkit.predict("org/classifier", "classify", data, revision="v1") == (
        bertkit.predict(classifier, "classify", data)
    )
    assert (
        main(["evaluate", "--model", "org/classifier", "--revision", "v1", "--data", str(data), "--json"])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["examples"] == 2
