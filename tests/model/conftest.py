"""Model tests: twin models, bertkit's and transformers' with the same weights (the shared configs, batches and
parity checks are in tests/conftest.py)."""

import dataclasses

import pytest

import bertkit


@pytest.fixture
def twins(configs, hf_model):
    def make(name: str, cls_name: str, **overrides):
        """(ours, theirs, config) in eval mode with identical weights, for a class name both libraries share."""
        cfg = dataclasses.replace(configs[name], **overrides)
        theirs = hf_model(cls_name, cfg)
        ours = getattr(bertkit, cls_name)(cfg).eval()
        ours.load_state_dict(theirs.state_dict(), strict=True)
        return ours, theirs, cfg

    return make
