"""Loading: transformers-saved files load into bertkit with the same outputs; names and shapes are checked, new
heads initialised as BERT does, each mismatch reported in one line."""

import dataclasses
import json
import logging

import pytest
import torch

import bertkit
from bertkit import CheckpointError, FileFormatError, InvalidArgumentError
from bertkit.checkpoint.files import WeightReader
from bertkit.checkpoint.load import load_weights


@pytest.mark.parametrize("layout", ["safetensors", "sharded", "bin", "legacy"])
def test_transformers_checkpoint_loads_with_same_outputs(
    cls_name, layout, tmp_path, caplog, config_for, hf_model, save_hf, inputs, same_outputs
):
    cfg = config_for("odd" if layout in ("bin", "sharded") else "tiny", cls_name)
    theirs = hf_model(cls_name, cfg)
    save_hf(theirs, tmp_path, layout)
    with caplog.at_level(logging.WARNING, logger="bertkit"):
        ours = getattr(bertkit, cls_name).from_pretrained(tmp_path)
    assert not caplog.records  # every tensor used, nothing newly initialised
    assert not ours.training
    same_outputs(ours, theirs, cls_name, inputs(cfg, cls_name))


def test_encoder_checkpoint_into_classifier_initialises_head_with_one_log_line(
    tmp_path, caplog, configs, hf_model, inputs, close
):
    cfg = configs["tiny"]
    encoder = hf_model("BertModel", cfg)
    encoder.save_pretrained(tmp_path)  # keys without the `bert.` prefix
    with caplog.at_level(logging.INFO, logger="bertkit"):
        ours = bertkit.BertForSequenceClassification.from_pretrained(tmp_path, num_labels=3)
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert "newly initialised" in message and "classifier.weight, classifier.bias" in message
    assert ours.classifier.weight.shape == (3, cfg.hidden_size)
    assert 0.01 < ours.classifier.weight.std().item() < 0.04  # BERT's N(0, 0.02), not zeros or garbage
    assert torch.equal(ours.classifier.bias, torch.zeros(3))
    batch = inputs(cfg, "BertModel")
    with torch.no_grad():
        close(ours.bert(**batch).last_hidden_state, encoder(**batch).last_hidden_state)


def test_fresh_mlm_head_gets_berts_initialisation_and_stays_tied(tmp_path, configs, hf_model):
    hf_model("BertModel", configs["tiny"]).save_pretrained(tmp_path)
    ours = bertkit.BertForMaskedLM.from_pretrained(tmp_path)
    head = ours.cls.predictions
    assert torch.equal(head.transform.LayerNorm.weight, torch.ones(128))
    assert torch.equal(head.transform.LayerNorm.bias, torch.zeros(128))
    assert torch.equal(head.bias, torch.zeros(120)) and torch.equal(
        head.transform.dense.bias, torch.zeros(128)
    )
    assert 0.01 < head.transform.dense.weight.std().item() < 0.04
    assert (
        head.decoder.weight is ours.bert.embeddings.word_embeddings.weight and head.decoder.bias is head.bias
    )


def test_heads_a_model_does_not_have_are_reported_not_warned_about(
    tmp_path, caplog, configs, hf_model, inputs, close
):
    cfg = configs["tiny"]
    theirs = hf_model("BertForPreTraining", cfg)
    theirs.save_pretrained(tmp_path)
    with caplog.at_level(logging.INFO, logger="bertkit"):
        ours = bertkit.BertModel.from_pretrained(tmp_path)
        bertkit.BertForMaskedLM.from_pretrained(tmp_path)  # the NSP head and the pooler left out, by choice
    assert [r.levelno for r in caplog.records] == [logging.INFO, logging.INFO]
    message = caplog.records[0].getMessage()
    assert (
        "no place for" in message
        and "cls.seq_relationship.weight" in message
        and "cls.predictions.bias" in message
    )
    assert "cls.seq_relationship.weight" in caplog.records[1].getMessage()
    batch = inputs(cfg, "BertModel")
    with torch.no_grad():
        close(ours(**batch).pooler_output, theirs.bert(**batch).pooler_output)


def test_unused_encoder_weights_are_a_warning(tmp_path, caplog, configs, hf_model):
    theirs = hf_model("BertModel", configs["tiny"])
    theirs.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(config | {"num_hidden_layers": 1}))
    with caplog.at_level(logging.INFO, logger="bertkit"):
        bertkit.BertModel.from_pretrained(tmp_path)
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert (
        "not used" in caplog.records[0].getMessage() and "encoder.layer.1." in caplog.records[0].getMessage()
    )


@pytest.mark.parametrize("layout", ["safetensors", "bin"])
def test_training_a_loaded_model_never_writes_to_the_checkpoint(layout, tmp_path, configs, hf_model, save_hf):
    save_hf(hf_model("BertForMaskedLM", configs["tiny"]), tmp_path, layout)
    weights = tmp_path / ("model.safetensors" if layout == "safetensors" else "pytorch_model.bin")
    before = weights.read_bytes()
    # The parameters adopt the tensors read from the file.
    model = bertkit.BertForMaskedLM.from_pretrained(tmp_path)
    original = model.bert.embeddings.word_embeddings.weight.clone()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    assert weights.read_bytes() == before
    reloaded = bertkit.BertForMaskedLM.from_pretrained(tmp_path)
    assert torch.equal(reloaded.bert.embeddings.word_embeddings.weight, original)


def test_loading_into_an_existing_model_keeps_its_parameter_storage(tmp_path, configs, hf_model):
    theirs = hf_model("BertForPreTraining", configs["tiny"])
    theirs.save_pretrained(tmp_path)
    ours = bertkit.BertForPreTraining(configs["tiny"])
    pointers = [p.data_ptr() for p in ours.parameters()]  # what an optimizer or a compiled graph holds
    with WeightReader(tmp_path) as reader:
        info = load_weights(ours, reader, source=tmp_path)
    assert not info.newly_initialised and not info.unused
    assert [p.data_ptr() for p in ours.parameters()] == pointers
    for name, tensor in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[name], tensor), name


def test_stored_label_names_give_way_to_a_new_num_labels(tmp_path, configs):
    bertkit.BertModel(configs["tiny"]).save_pretrained(tmp_path)  # config.json stores 2 label names
    model = bertkit.BertForSequenceClassification.from_pretrained(tmp_path, num_labels=4)
    assert model.config.num_labels == 4 and model.classifier.out_features == 4
    model.save_pretrained(tmp_path)
    with pytest.raises(
        CheckpointError,
        match=r"classifier\.weight has shape \(4, 128\), but "
        r"BertForSequenceClassification built from the config .* of shape \(3, 128\)",
    ):
        bertkit.BertForSequenceClassification.from_pretrained(tmp_path, num_labels=3)
    named = dataclasses.replace(configs["tiny"], id2label={0: "neg", 1: "pos"})
    bertkit.BertForSequenceClassification(named).save_pretrained(tmp_path)
    model = bertkit.BertForSequenceClassification.from_pretrained(tmp_path, num_labels=2)
    assert model.config.id2label == {0: "neg", 1: "pos"}  # same count: the names stay
    with pytest.raises(InvalidArgumentError, match="no_such_field"):
        bertkit.BertModel.from_pretrained(tmp_path, no_such_field=1)


def test_loads_straight_into_bfloat16(tmp_path, configs, hf_model):
    theirs = hf_model("BertModel", configs["tiny"])
    theirs.save_pretrained(tmp_path)
    ours = bertkit.BertModel.from_pretrained(tmp_path, dtype=torch.bfloat16)
    assert all(p.dtype == torch.bfloat16 for p in ours.parameters())
    assert torch.equal(ours.pooler.dense.weight, theirs.pooler.dense.weight.to(torch.bfloat16))


def test_building_changes_no_process_wide_state(tmp_path, configs, monkeypatch):
    """The model is built on the meta device and given empty memory: the default dtype is never set and
    torch.nn.init is left alone (another thread building a model meanwhile would see neither change)."""
    sinusoidal = dataclasses.replace(configs["tiny"], position_embedding="sinusoidal")
    torch.manual_seed(0)
    saved = bertkit.BertForMaskedLM(sinusoidal).eval()
    saved.save_pretrained(tmp_path)
    init = dict(vars(torch.nn.init))
    set_default = []
    monkeypatch.setattr(torch, "set_default_dtype", set_default.append)
    rng = torch.get_rng_state()
    for dtype in (None, torch.bfloat16):
        loaded = bertkit.BertForMaskedLM.from_pretrained(tmp_path, dtype=dtype)
        reference = saved.to(dtype or torch.float32)
        assert torch.equal(loaded.bert.embeddings.sinusoid, reference.bert.embeddings.sinusoid)  # recomputed
        assert loaded.cls.predictions.decoder.weight is loaded.bert.embeddings.word_embeddings.weight
        ids = torch.tensor([[2, 5, 6, 7, 3]])
        assert torch.equal(loaded(ids).mlm_logits, reference(ids).mlm_logits)
    assert (
        set_default == [] and dict(vars(torch.nn.init)) == init and torch.get_default_dtype() == torch.float32
    )
    assert torch.equal(torch.get_rng_state(), rng)  # building draws no random numbers


# --- config and shapes that do not fit ----------------------------------------------------------


def test_missing_config_and_missing_directory(tmp_path, configs, hf_model):
    hf_model("BertModel", configs["tiny"]).save_pretrained(tmp_path)
    (tmp_path / "config.json").unlink()
    with pytest.raises(CheckpointError, match="no config.json"):
        bertkit.BertModel.from_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match="no such checkpoint directory"):
        bertkit.BertModel.from_pretrained(tmp_path / "nope")
    with pytest.raises(CheckpointError, match="model.safetensors: is a file; pass the checkpoint directory"):
        bertkit.BertModel.from_pretrained(tmp_path / "model.safetensors")


def test_non_bert_config(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2", "n_layer": 2}))
    with pytest.raises(FileFormatError, match=r"config\.json: .*model_type is 'gpt2'"):
        bertkit.BertModel.from_pretrained(tmp_path)


def test_shapes_that_disagree_with_the_config_name_key_and_both_shapes(tmp_path, configs, hf_model):
    hf_model("BertForPreTraining", configs["tiny"]).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(config | {"vocab_size": 130}))
    with pytest.raises(
        CheckpointError,
        match=r"model\.safetensors: bert\.embeddings\.word_embeddings\.weight has "
        r"shape \(120, 128\), but BertForPreTraining built from the config \(.*config\.json and any "
        r"overrides\) has bert\.embeddings\.word_embeddings\.weight of shape \(130, 128\) \(and 1 more\)",
    ):
        bertkit.BertForPreTraining.from_pretrained(tmp_path)


def test_fewer_layers_than_the_config_is_an_error_not_a_fresh_encoder(tmp_path, configs, hf_model):
    hf_model("BertModel", configs["tiny"]).save_pretrained(tmp_path)
    with pytest.raises(
        CheckpointError, match=r"no encoder\.layer\.2\..*num_hidden_layers \(3, from config\.json"
    ):
        bertkit.BertModel.from_pretrained(tmp_path, num_hidden_layers=3)
