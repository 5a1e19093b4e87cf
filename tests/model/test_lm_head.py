"""The causal language model, BertLMHeadModel: parity with transformers' class of the same name (logits, the
shifted next-token loss, gradients), checkpoints both ways, and the refusal of a bidirectional config."""

import dataclasses
import json

import pytest
import torch

import bertkit
from bertkit import BertLMHeadModel, InvalidArgumentError
from bertkit.checkpoint.info import architecture_of, checkpoint_info
from bertkit.export.convert import convert_checkpoint

transformers = pytest.importorskip("transformers")


@pytest.fixture
def causal_twins(configs, hf_model):
    def make(name: str = "tiny", **overrides):
        """(ours, theirs, config): BertLMHeadModel of both libraries with identical weights, in eval mode."""
        cfg = dataclasses.replace(configs[name], causal=True, **overrides)
        theirs = hf_model("BertLMHeadModel", cfg)
        ours = BertLMHeadModel(cfg).eval()
        ours.load_state_dict(theirs.state_dict(), strict=True)
        return ours, theirs, cfg

    return make


@pytest.mark.parametrize("name", ["tiny", "odd", "relu"])
@torch.no_grad()
def test_logits_and_loss_equal_transformers(name, causal_twins, pair_batch, close):
    ours, theirs, cfg = causal_twins(name)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ids, mask, types = pair_batch(cfg)  # right-padded
    labels = ids.masked_fill(mask == 0, -100)
    ref = theirs(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=labels)
    out = ours(ids, mask, types, labels=labels)
    assert out.logits.shape == (*ids.shape, cfg.vocab_size)
    close(out.logits, ref.logits)
    close(out.loss, ref.loss)
    plain = ours(ids, mask, types)
    assert plain.loss is None
    close(plain.logits, ref.logits)


def test_loss_is_the_shifted_cross_entropy_and_gradients_match(causal_twins, pair_batch, close):
    ours, theirs, cfg = causal_twins("tiny")
    ids, mask, _ = pair_batch(cfg)
    labels = ids.masked_fill(mask == 0, -100)
    out = ours(ids, mask, labels=labels)
    # Position t predicts token t+1; the last position and padding predict nothing.
    want = torch.nn.functional.cross_entropy(
        out.logits[:, :-1][mask[:, 1:] == 1], ids[:, 1:][mask[:, 1:] == 1]
    )
    close(out.loss, want)
    out.loss.backward()
    theirs(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()
    ours_grads = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        close(ours_grads[name].grad, p.grad)


def test_a_bidirectional_config_or_checkpoint_is_refused(configs, tmp_path):
    with pytest.raises(InvalidArgumentError, match="BertLMHeadModel needs a causal config"):
        BertLMHeadModel(configs["tiny"])
    bertkit.BertForMaskedLM(configs["tiny"]).save_pretrained(tmp_path)
    with pytest.raises(InvalidArgumentError, match="is_decoder: true"):
        BertLMHeadModel.from_pretrained(tmp_path)


def test_labels_shape_checked(causal_twins):
    ours, _, _ = causal_twins()
    ids = torch.randint(1, 100, (2, 8))
    with pytest.raises(InvalidArgumentError, match="labels has shape"):
        ours(ids, labels=ids[:, :4])


@torch.no_grad()
def test_checkpoints_go_both_ways_with_transformers(causal_twins, tmp_path, pair_batch, close):
    ours, theirs, cfg = causal_twins("odd")
    ids, mask, types = pair_batch(cfg)
    ours.save_pretrained(tmp_path / "ours")
    config = json.loads((tmp_path / "ours" / "config.json").read_text())
    assert config["is_decoder"] is True and config["architectures"] == ["BertLMHeadModel"]
    loaded, info = transformers.BertLMHeadModel.from_pretrained(tmp_path / "ours", output_loading_info=True)
    assert not any(info.values())
    close(
        loaded.eval()(input_ids=ids, attention_mask=mask, token_type_ids=types).logits,
        ours(ids, mask, types).logits,
    )

    theirs.save_pretrained(tmp_path / "theirs")
    back = BertLMHeadModel.from_pretrained(tmp_path / "theirs")
    close(
        back(ids, mask, types).logits, theirs(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
    )


def test_convert_and_info_know_the_class(causal_twins, tmp_path):
    ours, _, _ = causal_twins()
    ours.save_pretrained(tmp_path / "src")
    assert convert_checkpoint(tmp_path / "src", tmp_path / "dst").architecture == "BertLMHeadModel"
    assert checkpoint_info(tmp_path / "dst")["architecture"] == "BertLMHeadModel"
    # Without an `architectures` entry, the MLM head of a causal (is_decoder) config tells the class.
    path = tmp_path / "dst" / "config.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | {"architectures": None}))
    assert architecture_of(tmp_path / "dst", list(ours.state_dict())) == "BertLMHeadModel"
