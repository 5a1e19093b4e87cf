"""Checkpoint tests: configs fitted to a class (the shared configs, models, batches, parity checks and
transformers models saved the ways real checkpoints are, in tests/conftest.py)."""

import dataclasses

import pytest


@pytest.fixture
def config_for(configs):
    def config(name: str, cls_name: str):
        qa = cls_name == "BertForQuestionAnswering"  # QA's two "labels" are start and end
        return dataclasses.replace(configs[name], num_labels=2) if qa else configs[name]

    return config
