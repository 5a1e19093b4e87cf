"""`bertkit info`: parameters and FLOPs from config.json and the weight files' headers; the architecture a
checkpoint was saved from."""

import json

import pytest

import bertkit
from bertkit import CheckpointError
from bertkit.checkpoint.info import architecture_of, checkpoint_info
from bertkit.checkpoint.save import export_state_dict
from bertkit.cli import main


def test_info_counts_parameters_and_flops(tmp_path, capsys, configs, hf_model):
    theirs = hf_model("BertForPreTraining", configs["tiny"])
    theirs.save_pretrained(tmp_path)
    info = checkpoint_info(tmp_path, seq_len=16)
    # The tied decoder counted once, as transformers does.
    assert info["num_parameters"] == theirs.num_parameters()
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


@pytest.mark.parametrize(
    ("cls_name", "guessed"),
    [
        ("BertModel", "BertModel"),
        ("BertForPreTraining", "BertForPreTraining"),
        ("BertForMaskedLM", "BertForMaskedLM"),
        (
            "BertForSequenceClassification",
            None,
        ),  # `classifier` alone also fits token classification: no guess
    ],
)
def test_architecture_without_architectures_entry_is_told_by_the_heads(cls_name, guessed, tmp_path, configs):
    getattr(bertkit, cls_name)(configs["tiny"]).save_pretrained(tmp_path)
    assert architecture_of(tmp_path, []) == cls_name  # config.json's `architectures` first
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(config | {"architectures": None}))
    names = list(export_state_dict(getattr(bertkit, cls_name)(configs["tiny"])))
    if guessed:
        assert architecture_of(tmp_path, names) == guessed
    else:
        with pytest.raises(CheckpointError, match="fit several models; add the class name"):
            architecture_of(tmp_path, names)
        assert checkpoint_info(tmp_path)["architecture"].startswith("unknown")


def test_cli_reports_bad_checkpoint_in_one_line(tmp_path, capsys):
    assert main(["info", str(tmp_path)]) == 2
    assert (
        capsys.readouterr().err.strip() == f"bertkit: error: {tmp_path}: no config.json; a Hugging Face BERT "
        "directory holds config.json and model.safetensors (or pytorch_model.bin)"
    )
