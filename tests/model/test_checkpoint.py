"""Hugging Face checkpoints in and out: transformers-saved files load into bertkit with the same outputs, bertkit-saved
files load into transformers with no missing or unexpected keys, and bad checkpoints fail with one clear error."""

import dataclasses
import datetime
import errno
import json
import logging
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import bertkit
from bertkit import BertConfig, CheckpointError, FileFormatError, InvalidArgumentError
from bertkit.cli import main
from bertkit.model.checkpoint import WeightReader, checkpoint_info, convert_checkpoint, load_weights

transformers = pytest.importorskip("transformers")

TOL = 1e-5
CONFIGS = {
    "tiny": BertConfig.preset("tiny", vocab_size=120, max_position_embeddings=32),
    "odd": BertConfig(vocab_size=97, hidden_size=48, num_hidden_layers=3, num_attention_heads=3, intermediate_size=50,
                      hidden_act="gelu_new", max_position_embeddings=20, type_vocab_size=3, num_labels=5),
}
# Our output field -> transformers' output field, per class; last_hidden_state is compared for every class.
OUTPUTS = {
    "BertModel": {"pooler_output": "pooler_output"},
    "BertForPreTraining": {"mlm_logits": "prediction_logits", "nsp_logits": "seq_relationship_logits"},
    "BertForMaskedLM": {"mlm_logits": "logits"},
    "BertForNextSentencePrediction": {"nsp_logits": "logits"},
    "BertForSequenceClassification": {"logits": "logits"},
    "BertForMultipleChoice": {"logits": "logits"},
    "BertForTokenClassification": {"logits": "logits"},
    "BertForQuestionAnswering": {"start_logits": "start_logits", "end_logits": "end_logits"},
}
CLASSES = list(OUTPUTS)


def config_for(name: str, cls_name: str) -> BertConfig:
    cfg = CONFIGS[name]
    return dataclasses.replace(cfg, num_labels=2) if cls_name == "BertForQuestionAnswering" else cfg  # start, end


def hf_model(cls_name: str, cfg: BertConfig, seed: int = 0):
    """A random-initialised transformers model of the same shape, in eval mode."""
    fields = {k: v for k, v in cfg.to_dict().items() if k not in ("position_embedding", "causal")}
    torch.manual_seed(seed)
    return getattr(transformers, cls_name)(transformers.BertConfig(**fields)).eval()


def save_hf(model, directory, layout: str) -> None:
    """Save the way transformers (5.x, or 4.x for .bin files) does, or the way old converted checkpoints look."""
    if layout == "safetensors":
        model.save_pretrained(directory)
    elif layout == "sharded":
        model.save_pretrained(directory, max_shard_size="20KB")
        assert (directory / "model.safetensors.index.json").is_file()
    else:
        # transformers 5 writes only safetensors; 4.x's .bin was torch.save(state_dict), tied decoder included.
        model.save_pretrained(directory)
        (directory / "model.safetensors").unlink()
        state = model.state_dict()
        if layout == "legacy":  # pytorch-pretrained-bert's names, as converted from Google's TensorFlow release
            state = {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
                     for k, v in state.items()}
        torch.save(state, directory / "pytorch_model.bin")


def batch(cfg: BertConfig, cls_name: str, pair_batch):
    ids, mask, types = pair_batch(cfg, batch_size=4, seq_len=12)
    if cls_name == "BertForMultipleChoice":  # (batch, choices, seq)
        ids, mask, types = (t.view(2, 2, -1) for t in (ids, mask, types))
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def close(a: torch.Tensor, b: torch.Tensor) -> None:
    assert a.shape == b.shape
    assert (a.float() - b.float()).abs().max().item() <= TOL


@torch.no_grad()
def assert_same_outputs(ours, theirs, cls_name: str, inputs: dict) -> None:
    out = ours(**inputs)
    ref = theirs(**inputs, output_hidden_states=True)
    hidden = out.last_hidden_state
    close(hidden.view(ref.hidden_states[-1].shape), ref.hidden_states[-1])
    for mine, reference in OUTPUTS[cls_name].items():
        close(getattr(out, mine), getattr(ref, reference))


@pytest.mark.parametrize("layout", ["safetensors", "sharded", "bin", "legacy"])
@pytest.mark.parametrize("cls_name", CLASSES)
def test_transformers_checkpoint_loads_with_same_outputs(cls_name, layout, tmp_path, pair_batch, caplog):
    cfg = config_for("odd" if layout in ("bin", "sharded") else "tiny", cls_name)
    theirs = hf_model(cls_name, cfg)
    save_hf(theirs, tmp_path, layout)
    with caplog.at_level(logging.WARNING, logger="bertkit"):
        ours = getattr(bertkit, cls_name).from_pretrained(tmp_path)
    assert not caplog.records  # every tensor used, nothing newly initialised
    assert not ours.training
    assert_same_outputs(ours, theirs, cls_name, batch(cfg, cls_name, pair_batch))


@pytest.mark.parametrize("config_name", list(CONFIGS))
@pytest.mark.parametrize("cls_name", CLASSES)
def test_saved_checkpoint_loads_in_transformers(cls_name, config_name, tmp_path, pair_batch):
    cfg = config_for(config_name, cls_name)
    torch.manual_seed(1)
    ours = getattr(bertkit, cls_name)(cfg).eval()
    ours.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == "bert" and config["architectures"] == [cls_name]
    theirs, info = getattr(transformers, cls_name).from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    assert_same_outputs(ours, theirs.eval(), cls_name, batch(cfg, cls_name, pair_batch))
    again = getattr(bertkit, cls_name).from_pretrained(tmp_path)  # and back into bertkit, exactly
    for (name, a), (_, b) in zip(ours.state_dict().items(), again.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def test_tied_decoder_written_once_and_retied(tmp_path):
    ours = bertkit.BertForPreTraining(CONFIGS["tiny"])
    ours.save_pretrained(tmp_path)
    stored = load_file(tmp_path / "model.safetensors")
    assert "cls.predictions.decoder.weight" not in stored and "cls.predictions.decoder.bias" not in stored
    loaded = bertkit.BertForPreTraining.from_pretrained(tmp_path)
    assert loaded.cls.predictions.decoder.weight is loaded.bert.embeddings.word_embeddings.weight
    assert torch.equal(loaded.cls.predictions.decoder.weight, ours.bert.embeddings.word_embeddings.weight)


def test_encoder_checkpoint_into_classifier_initialises_head_with_one_log_line(tmp_path, pair_batch, caplog):
    cfg = CONFIGS["tiny"]
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
    inputs = batch(cfg, "BertModel", pair_batch)
    with torch.no_grad():
        close(ours.bert(**inputs).last_hidden_state, encoder(**inputs).last_hidden_state)


def test_fresh_mlm_head_gets_berts_initialisation_and_stays_tied(tmp_path):
    hf_model("BertModel", CONFIGS["tiny"]).save_pretrained(tmp_path)
    ours = bertkit.BertForMaskedLM.from_pretrained(tmp_path)
    head = ours.cls.predictions
    assert torch.equal(head.transform.LayerNorm.weight, torch.ones(128))
    assert torch.equal(head.transform.LayerNorm.bias, torch.zeros(128))
    assert torch.equal(head.bias, torch.zeros(120)) and torch.equal(head.transform.dense.bias, torch.zeros(128))
    assert 0.01 < head.transform.dense.weight.std().item() < 0.04
    assert head.decoder.weight is ours.bert.embeddings.word_embeddings.weight and head.decoder.bias is head.bias


def test_pretraining_checkpoint_into_bare_encoder_reports_unused_heads(tmp_path, pair_batch, caplog):
    cfg = CONFIGS["tiny"]
    theirs = hf_model("BertForPreTraining", cfg)
    theirs.save_pretrained(tmp_path)
    with caplog.at_level(logging.INFO, logger="bertkit"):
        ours = bertkit.BertModel.from_pretrained(tmp_path)
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert "not used" in message and "cls.seq_relationship.weight" in message and "cls.predictions.bias" in message
    inputs = batch(cfg, "BertModel", pair_batch)
    with torch.no_grad():
        close(ours(**inputs).pooler_output, theirs.bert(**inputs).pooler_output)


@pytest.mark.parametrize("layout", ["safetensors", "bin"])
def test_training_a_loaded_model_never_writes_to_the_checkpoint(layout, tmp_path):
    save_hf(hf_model("BertForMaskedLM", CONFIGS["tiny"]), tmp_path, layout)
    weights = tmp_path / ("model.safetensors" if layout == "safetensors" else "pytorch_model.bin")
    before = weights.read_bytes()
    model = bertkit.BertForMaskedLM.from_pretrained(tmp_path)  # parameters adopt the tensors read from the file
    original = model.bert.embeddings.word_embeddings.weight.clone()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    assert weights.read_bytes() == before
    reloaded = bertkit.BertForMaskedLM.from_pretrained(tmp_path)
    assert torch.equal(reloaded.bert.embeddings.word_embeddings.weight, original)


def test_loading_into_an_existing_model_keeps_its_parameter_storage(tmp_path):
    theirs = hf_model("BertForPreTraining", CONFIGS["tiny"])
    theirs.save_pretrained(tmp_path)
    ours = bertkit.BertForPreTraining(CONFIGS["tiny"])
    pointers = [p.data_ptr() for p in ours.parameters()]  # what an optimizer or a compiled graph holds
    with WeightReader(tmp_path) as reader:
        info = load_weights(ours, reader, source=tmp_path)
    assert not info.newly_initialised and not info.unused
    assert [p.data_ptr() for p in ours.parameters()] == pointers
    for name, tensor in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[name], tensor), name


def test_stored_label_names_give_way_to_a_new_num_labels(tmp_path):
    bertkit.BertModel(CONFIGS["tiny"]).save_pretrained(tmp_path)  # config.json stores 2 label names
    model = bertkit.BertForSequenceClassification.from_pretrained(tmp_path, num_labels=4)
    assert model.config.num_labels == 4 and model.classifier.out_features == 4
    model.save_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match=r"classifier\.weight has shape \(4, 128\), but "
                       r"BertForSequenceClassification built from the config .* of shape \(3, 128\)"):
        bertkit.BertForSequenceClassification.from_pretrained(tmp_path, num_labels=3)
    named = dataclasses.replace(CONFIGS["tiny"], id2label={0: "neg", 1: "pos"})
    bertkit.BertForSequenceClassification(named).save_pretrained(tmp_path)
    model = bertkit.BertForSequenceClassification.from_pretrained(tmp_path, num_labels=2)
    assert model.config.id2label == {0: "neg", 1: "pos"}  # same count: the names stay
    with pytest.raises(InvalidArgumentError, match="no_such_field"):
        bertkit.BertModel.from_pretrained(tmp_path, no_such_field=1)


def test_loads_straight_into_bfloat16(tmp_path):
    theirs = hf_model("BertModel", CONFIGS["tiny"])
    theirs.save_pretrained(tmp_path)
    ours = bertkit.BertModel.from_pretrained(tmp_path, dtype=torch.bfloat16)
    assert all(p.dtype == torch.bfloat16 for p in ours.parameters())
    assert torch.equal(ours.pooler.dense.weight, theirs.pooler.dense.weight.to(torch.bfloat16))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.compile's imports warn about torch.jit
def test_saves_the_unwrapped_model(tmp_path):
    model = bertkit.BertForMaskedLM(CONFIGS["tiny"])
    for wrapped in (torch.compile(model), torch.nn.DataParallel(model)):  # wrappers only; nothing is compiled
        bertkit.model.checkpoint.save_pretrained(wrapped, tmp_path)
        assert not [k for k in load_file(tmp_path / "model.safetensors") if "module." in k or "_orig_mod" in k]
        assert json.loads((tmp_path / "config.json").read_text())["architectures"] == ["BertForMaskedLM"]


def test_saves_tokenizer_beside_the_model(tmp_path):
    from bertkit.tokenizer.wordpiece import WordPieceTokenizer

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "##s"]
    tokenizer = WordPieceTokenizer(vocab)
    cfg = dataclasses.replace(CONFIGS["tiny"], vocab_size=len(vocab))
    bertkit.BertForMaskedLM(cfg).save_pretrained(tmp_path, tokenizer=tokenizer)
    assert (tmp_path / "vocab.txt").read_text().split() == vocab
    assert WordPieceTokenizer.from_pretrained(tmp_path).tokenize("Hello worlds") == ["hello", "world", "##s"]
    assert transformers.BertTokenizer.from_pretrained(tmp_path).tokenize("Hello worlds") == ["hello", "world", "##s"]
    bertkit.BertForMaskedLM.from_pretrained(tmp_path)


def test_sinusoidal_positions_are_saved_with_a_warning(tmp_path, caplog):
    cfg = dataclasses.replace(CONFIGS["tiny"], position_embedding="sinusoidal")
    ours = bertkit.BertModel(cfg)
    with caplog.at_level(logging.WARNING, logger="bertkit"):
        ours.save_pretrained(tmp_path)
    assert "no Hugging Face equivalent" in caplog.text
    again = bertkit.BertModel.from_pretrained(tmp_path)
    assert again.config.position_embedding == "sinusoidal"
    ids = torch.tensor([[2, 5, 6, 3]])
    assert torch.equal(again(ids).last_hidden_state, ours.eval()(ids).last_hidden_state)


def test_save_replaces_weights_of_another_layout(tmp_path):
    save_hf(hf_model("BertModel", CONFIGS["tiny"]), tmp_path, "bin")
    bertkit.BertModel(CONFIGS["tiny"]).save_pretrained(tmp_path)
    assert not (tmp_path / "pytorch_model.bin").exists() and (tmp_path / "model.safetensors").is_file()


def test_a_failed_save_leaves_the_previous_weights(tmp_path, monkeypatch):
    save_hf(hf_model("BertModel", CONFIGS["tiny"]), tmp_path, "bin")
    before = sorted(p.name for p in tmp_path.iterdir())

    def disk_full(tensors, path, metadata=None):
        Path(path).write_bytes(b"half a file")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(bertkit.model.checkpoint, "save_file", disk_full)
    with pytest.raises(OSError, match="No space left"):
        bertkit.BertModel(CONFIGS["tiny"]).save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no half file, the old weights still there
    bertkit.BertModel.from_pretrained(tmp_path)


# --- bad checkpoints -----------------------------------------------------------------------------


def test_directory_without_weights_lists_what_was_looked_for(tmp_path):
    CONFIGS["tiny"].to_json_file(tmp_path / "config.json")
    (tmp_path / "tf_model.h5").write_bytes(b"\x89HDF")
    with pytest.raises(CheckpointError, match=r"no model weights; looked for model\.safetensors, "
                       r"model\.safetensors\.index\.json, pytorch_model\.bin.*tf_model\.h5 \(TensorFlow 2\)"):
        bertkit.BertModel.from_pretrained(tmp_path)


def test_missing_config_and_missing_directory(tmp_path):
    hf_model("BertModel", CONFIGS["tiny"]).save_pretrained(tmp_path)
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


def test_shapes_that_disagree_with_the_config_name_key_and_both_shapes(tmp_path):
    hf_model("BertForPreTraining", CONFIGS["tiny"]).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(config | {"vocab_size": 130}))
    with pytest.raises(CheckpointError, match=r"model\.safetensors: bert\.embeddings\.word_embeddings\.weight has "
                       r"shape \(120, 128\), but BertForPreTraining built from the config \(.*config\.json and any "
                       r"overrides\) has bert\.embeddings\.word_embeddings\.weight of shape \(130, 128\) \(and 1 more\)"):
        bertkit.BertForPreTraining.from_pretrained(tmp_path)


def test_fewer_layers_than_the_config_is_an_error_not_a_fresh_encoder(tmp_path):
    hf_model("BertModel", CONFIGS["tiny"]).save_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match=r"no encoder\.layer\.2\..*num_hidden_layers \(3, from config\.json"):
        bertkit.BertModel.from_pretrained(tmp_path, num_hidden_layers=3)


def test_truncated_and_corrupt_safetensors(tmp_path):
    hf_model("BertModel", CONFIGS["tiny"]).save_pretrained(tmp_path)
    weights = tmp_path / "model.safetensors"
    data = weights.read_bytes()
    for broken in (data[: len(data) - 100], data[:50], b"not a safetensors file at all"):
        weights.write_bytes(broken)
        with pytest.raises(FileFormatError, match=r"model\.safetensors: not a readable safetensors file"):
            bertkit.BertModel.from_pretrained(tmp_path)


def test_missing_shard(tmp_path):
    hf_model("BertModel", CONFIGS["tiny"]).save_pretrained(tmp_path, max_shard_size="20KB")
    shard = sorted(tmp_path.glob("model-*.safetensors"))[-1]
    shard.unlink()
    with pytest.raises(FileFormatError, match=f"lists shard\\(s\\) that are not there: {shard.name}"):
        bertkit.BertModel.from_pretrained(tmp_path)


def test_bin_with_python_objects_is_refused_not_unpickled(tmp_path):
    hf_model("BertModel", CONFIGS["tiny"]).save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    torch.save({"when": datetime.date(2020, 1, 1)}, tmp_path / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match=r"pytorch_model\.bin: holds Python objects other than tensors"):
        bertkit.BertModel.from_pretrained(tmp_path)
    (tmp_path / "pytorch_model.bin").write_bytes(b"PK\x03\x04 truncated zip")
    with pytest.raises(FileFormatError, match=r"pytorch_model\.bin: not a readable PyTorch weights file"):
        bertkit.BertModel.from_pretrained(tmp_path)


# --- convert and info ----------------------------------------------------------------------------


def test_convert_bin_with_old_names_to_safetensors(tmp_path, pair_batch, capsys):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    theirs = hf_model("BertForPreTraining", CONFIGS["tiny"])
    save_hf(theirs, src, "legacy")
    (src / "vocab.txt").write_text("[PAD]\n[UNK]\n")
    assert main(["convert", str(src), str(dst)]) == 0
    printed = capsys.readouterr().out
    assert "pytorch_model.bin -> config.json, model.safetensors" in printed and "BertForPreTraining" in printed
    assert "LayerNorm.gamma" in printed  # the renames are reported
    assert sorted(p.name for p in dst.iterdir()) == ["config.json", "model.safetensors", "vocab.txt"]
    reloaded, info = transformers.BertForPreTraining.from_pretrained(dst, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert_same_outputs(bertkit.BertForPreTraining.from_pretrained(dst), theirs, "BertForPreTraining",
                        batch(CONFIGS["tiny"], "BertForPreTraining", pair_batch))


def test_convert_keeps_dtype_and_refuses_to_overwrite_source(tmp_path):
    src = tmp_path / "src"
    hf_model("BertModel", CONFIGS["tiny"]).to(torch.float16).save_pretrained(src)
    report = convert_checkpoint(src, tmp_path / "dst")
    assert report.dtype == "float16" and report.architecture == "BertModel" and not report.not_converted
    assert load_file(tmp_path / "dst" / "model.safetensors")["pooler.dense.weight"].dtype == torch.float16
    with pytest.raises(InvalidArgumentError, match="is the source directory"):
        convert_checkpoint(src, src)


def test_info_counts_parameters_and_flops(tmp_path, capsys):
    theirs = hf_model("BertForPreTraining", CONFIGS["tiny"])
    theirs.save_pretrained(tmp_path)
    info = checkpoint_info(tmp_path, seq_len=16)
    assert info["num_parameters"] == theirs.num_parameters()  # tied decoder counted once, as transformers does
    assert info["architecture"] == "BertForPreTraining"
    L, H, inter, T = 2, 128, 512, 16
    per_layer = 2 * (3 * H * H + H * H + H * inter + inter * H) + 2 * 2 * T * H  # Q,K,V,O; FFN; QK^T, AV
    assert info["forward_flops_per_token"] == L * per_layer
    assert info["mlm_head_flops_per_token"] == 2 * (H * H + H * 120)  # transform, then the vocabulary
    assert main(["info", str(tmp_path), "--json", "--seq-len", "16"]) == 0
    assert json.loads(capsys.readouterr().out)["num_parameters"] == theirs.num_parameters()
    assert main(["info", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert f"parameters: {theirs.num_parameters():,}" in printed and "formula" in printed


def test_cli_reports_bad_checkpoint_in_one_line(tmp_path, capsys):
    assert main(["info", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"bertkit: error: {tmp_path}: no config.json; a Hugging Face BERT " \
        "directory holds config.json and model.safetensors (or pytorch_model.bin)"
