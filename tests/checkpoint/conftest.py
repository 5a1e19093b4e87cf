"""Checkpoint tests: configs fitted to a class, and random transformers models saved the ways real checkpoints
are (the shared configs, models, batches and parity checks are in tests/conftest.py)."""

import dataclasses

import pytest
import torch


@pytest.fixture
def config_for(configs):
    def config(name: str, cls_name: str):
        qa = cls_name == "BertForQuestionAnswering"  # QA's two "labels" are start and end
        return dataclasses.replace(configs[name], num_labels=2) if qa else configs[name]

    return config


@pytest.fixture
def save_hf():
    return _save_hf


def _save_hf(model, directory, layout: str) -> None:
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
        if (
            layout == "legacy"
        ):  # pytorch-pretrained-bert's names, as converted from Google's TensorFlow release
            state = {
                k.replace("LayerNorm.weight", "LayerNorm.gamma").replace(
                    "LayerNorm.bias", "LayerNorm.beta"
                ): v
                for k, v in state.items()
            }
        torch.save(state, directory / "pytorch_model.bin")
