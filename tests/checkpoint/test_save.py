"""Saving: bertkit-saved files load into transformers with no missing or unexpected keys and the same outputs,
from the unwrapped model, and a failed save leaves the directory as it was."""

import dataclasses
import errno
import json
import logging
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import bertkit
from bertkit.checkpoint import save
from bertkit.tokenizer import WordPieceTokenizer


@pytest.mark.parametrize("config_name", ["tiny", "odd"])
def test_saved_checkpoint_loads_in_transformers(
    cls_name, config_name, tmp_path, config_for, inputs, same_outputs
):
    transformers = pytest.importorskip("transformers")
    cfg = config_for(config_name, cls_name)
    torch.manual_seed(1)
    ours = getattr(bertkit, cls_name)(cfg).eval()
    ours.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == "bert" and config["architectures"] == [cls_name]
    theirs, info = getattr(transformers, cls_name).from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    same_outputs(ours, theirs.eval(), cls_name, inputs(cfg, cls_name))
    again = getattr(bertkit, cls_name).from_pretrained(tmp_path)  # and back into bertkit, exactly
    for (name, a), (_, b) in zip(ours.state_dict().items(), again.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_tied_decoder_written_once_and_retied(tmp_path, configs):
    ours = bertkit.BertForPreTraining(configs["tiny"])
    ours.save_pretrained(tmp_path)
    stored = load_file(tmp_path / "model.safetensors")
    assert "cls.predictions.decoder.weight" not in stored and "cls.predictions.decoder.bias" not in stored
    loaded = bertkit.BertForPreTraining.from_pretrained(tmp_path)
    assert loaded.cls.predictions.decoder.weight is loaded.bert.embeddings.word_embeddings.weight
    assert torch.equal(loaded.cls.predictions.decoder.weight, ours.bert.embeddings.word_embeddings.weight)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.compile's imports warn about torch.jit
def test_saves_the_unwrapped_model(tmp_path, configs):
    model = bertkit.BertForMaskedLM(configs["tiny"])
    for wrapped in (torch.compile(model), torch.nn.DataParallel(model)):  # wrappers only; nothing is compiled
        save.save_pretrained(wrapped, tmp_path)
        assert not [
            k for k in load_file(tmp_path / "model.safetensors") if "module." in k or "_orig_mod" in k
        ]
        assert json.loads((tmp_path / "config.json").read_text())["architectures"] == ["BertForMaskedLM"]


def test_saves_tokenizer_beside_the_model(tmp_path, configs):
    transformers = pytest.importorskip("transformers")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "##s"]
    tokenizer = WordPieceTokenizer(vocab)
    cfg = dataclasses.replace(configs["tiny"], vocab_size=len(vocab))
    bertkit.BertForMaskedLM(cfg).save_pretrained(tmp_path, tokenizer=tokenizer)
    assert (tmp_path / "vocab.txt").read_text().split() == vocab
    assert WordPieceTokenizer.from_pretrained(tmp_path).tokenize("Hello worlds") == ["hello", "world", "##s"]
    assert transformers.BertTokenizer.from_pretrained(tmp_path).tokenize("Hello worlds") == [
        "hello",
        "world",
        "##s",
    ]
    bertkit.BertForMaskedLM.from_pretrained(tmp_path)


def test_sinusoidal_positions_are_saved_with_a_warning(tmp_path, caplog, configs):
    cfg = dataclasses.replace(configs["tiny"], position_embedding="sinusoidal")
    ours = bertkit.BertModel(cfg)
    with caplog.at_level(logging.WARNING, logger="bertkit"):
        ours.save_pretrained(tmp_path)
    assert "no Hugging Face equivalent" in caplog.text
    again = bertkit.BertModel.from_pretrained(tmp_path)
    assert again.config.position_embedding == "sinusoidal"
    ids = torch.tensor([[2, 5, 6, 3]])
    assert torch.equal(again(ids).last_hidden_state, ours.eval()(ids).last_hidden_state)

    # Said once per model: a run saves the same model at every checkpoint. Another model is told again.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bertkit"):
        ours.save_pretrained(tmp_path / "checkpoint-2")
        assert "no Hugging Face equivalent" not in caplog.text
        bertkit.BertModel(cfg).save_pretrained(tmp_path / "other")
    assert caplog.text.count("no Hugging Face equivalent") == 1


def test_save_replaces_weights_of_another_layout(tmp_path, configs, hf_model, save_hf):
    save_hf(hf_model("BertModel", configs["tiny"]), tmp_path, "bin")
    bertkit.BertModel(configs["tiny"]).save_pretrained(tmp_path)
    assert not (tmp_path / "pytorch_model.bin").exists() and (tmp_path / "model.safetensors").is_file()


def test_a_failed_save_leaves_the_previous_weights(tmp_path, monkeypatch, configs, hf_model, save_hf):
    save_hf(hf_model("BertModel", configs["tiny"]), tmp_path, "bin")
    before = sorted(p.name for p in tmp_path.iterdir())

    def disk_full(tensors, path, metadata=None):
        Path(path).write_bytes(b"half a file")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(save, "save_file", disk_full)
    with pytest.raises(OSError, match="No space left"):
        bertkit.BertModel(configs["tiny"]).save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no half file, the old weights still there
    bertkit.BertModel.from_pretrained(tmp_path)


@pytest.mark.parametrize("cls_name", ["BertForSequenceClassification", "BertForMultipleChoice"])
def test_a_mean_pooled_head_round_trips_and_transformers_reports_it_missing(
    cls_name, tmp_path, caplog, configs, inputs
):
    transformers = pytest.importorskip("transformers")
    cfg = dataclasses.replace(configs["tiny"], classifier_pooling="mean")
    torch.manual_seed(1)
    ours = getattr(bertkit, cls_name)(cfg).eval()
    with caplog.at_level(logging.WARNING, logger="bertkit"):
        ours.save_pretrained(tmp_path)
    assert "classifier_pooling 'mean'" in caplog.text and "transformers would initialise" in caplog.text
    assert json.loads((tmp_path / "config.json").read_text())["classifier_pooling"] == "mean"
    stored = set(load_file(tmp_path / "model.safetensors"))
    assert {"mean_classifier.weight", "mean_classifier.bias"} <= stored
    assert not any(k.startswith(("bert.pooler.", "classifier.")) for k in stored)
    again = getattr(bertkit, cls_name).from_pretrained(tmp_path)
    assert again.config.classifier_pooling == "mean"
    for (name, a), (_, b) in zip(ours.state_dict().items(), again.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    batch = inputs(cfg, cls_name)
    with torch.no_grad():
        assert torch.equal(again(**batch).logits, ours(**batch).logits)
    # transformers' class has the pooler and `classifier`: both newly initialised, its "train me" warning,
    # rather than a trained classifier silently applied to a random pooler.
    _, info = getattr(transformers, cls_name).from_pretrained(tmp_path, output_loading_info=True)
    assert {"classifier.weight", "classifier.bias", "bert.pooler.dense.weight"} <= set(info["missing_keys"])
    assert not info["mismatched_keys"]


def test_a_cls_pooled_heads_files_are_hugging_faces(tmp_path, configs, hf_model):
    """The default head writes what it wrote before there was a choice: transformers' tensor names and the
    config.json keys of every BertConfig field but classifier_pooling."""
    cls_name = "BertForSequenceClassification"
    bertkit.BertForSequenceClassification(configs["tiny"]).save_pretrained(tmp_path)
    assert set(load_file(tmp_path / "model.safetensors")) == set(
        hf_model(cls_name, configs["tiny"]).state_dict()
    )
    fields = {f.name for f in dataclasses.fields(bertkit.BertConfig)} - {"extra", "classifier_pooling"}
    written = set(json.loads((tmp_path / "config.json").read_text()))
    assert written == fields | {"model_type", "id2label", "label2id", "architectures", "dtype"}
