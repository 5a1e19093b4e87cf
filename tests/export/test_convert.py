"""`bertkit convert`: any readable BERT directory to config.json + one model.safetensors, through the model class."""

import pytest
import torch
from safetensors.torch import load_file

import bertkit
from bertkit import InvalidArgumentError
from bertkit.cli import main
from bertkit.export.convert import convert_checkpoint
from bertkit.model import MODEL_CLASSES


def test_every_model_class_is_convertible_by_name():
    assert set(MODEL_CLASSES) == {name for name in bertkit.model.__all__ if name.startswith("BertFor")} | {
        "BertModel",
        "BertLMHeadModel",
    }


def test_convert_bin_with_old_names_to_safetensors(
    tmp_path, capsys, configs, hf_model, save_hf, inputs, same_outputs
):
    transformers = pytest.importorskip("transformers")
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    theirs = hf_model("BertForPreTraining", configs["tiny"])
    save_hf(theirs, src, "legacy")
    (src / "vocab.txt").write_text("[PAD]\n[UNK]\n")
    assert main(["convert", str(src), str(dst)]) == 0
    printed = capsys.readouterr().out
    assert (
        "pytorch_model.bin -> config.json, model.safetensors" in printed and "BertForPreTraining" in printed
    )
    assert "LayerNorm.gamma" in printed  # the renames are reported
    assert sorted(p.name for p in dst.iterdir()) == ["config.json", "model.safetensors", "vocab.txt"]
    reloaded, info = transformers.BertForPreTraining.from_pretrained(dst, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    same_outputs(
        bertkit.BertForPreTraining.from_pretrained(dst),
        theirs,
        "BertForPreTraining",
        inputs(configs["tiny"], "BertForPreTraining"),
    )


def test_convert_keeps_dtype_and_refuses_to_overwrite_source(tmp_path, configs, hf_model):
    src = tmp_path / "src"
    hf_model("BertModel", configs["tiny"]).to(torch.float16).save_pretrained(src)
    report = convert_checkpoint(src, tmp_path / "dst")
    assert report.dtype == "float16" and report.architecture == "BertModel" and not report.not_converted
    assert load_file(tmp_path / "dst" / "model.safetensors")["pooler.dense.weight"].dtype == torch.float16
    with pytest.raises(InvalidArgumentError, match="is the source directory"):
        convert_checkpoint(src, src)
