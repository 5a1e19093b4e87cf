import pytest
import torch

from bertkit import BertConfig, BertForMaskedLM, BertForPreTraining, InvalidArgumentError, WordPieceTokenizer
from bertkit.pipelines import fill_mask, load_for_inference, next_sentence_probability

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """A tiny BertForPreTraining whose MLM head always prefers 月 and whose NSP head always says 'is next'."""
    tokenizer = WordPieceTokenizer(SPECIALS + list("床前明月光疑是地上霜"), lowercase=True)
    torch.manual_seed(0)
    model = BertForPreTraining(BertConfig.preset("tiny", vocab_size=len(tokenizer)))
    with torch.no_grad():
        model.cls.predictions.bias[tokenizer.vocab["月"]] = 50.0
        model.cls.seq_relationship.bias.copy_(torch.tensor([10.0, -10.0]))
    directory = tmp_path_factory.mktemp("model")
    model.save_pretrained(directory, tokenizer=tokenizer)
    return directory


def test_fill_mask_ranks_by_probability(saved_model):
    model, tokenizer = load_for_inference(saved_model)
    assert isinstance(model, BertForMaskedLM) and not model.training
    [predictions] = fill_mask(model, tokenizer, "床前明[MASK]光", top_k=3)
    assert [p["token"] for p in predictions][0] == "月"
    scores = [p["score"] for p in predictions]
    assert scores == sorted(scores, reverse=True) and 0.99 < scores[0] <= 1.0


def test_fill_mask_one_list_per_mask(saved_model):
    model, tokenizer = load_for_inference(saved_model)
    out = fill_mask(model, tokenizer, "[MASK]前明[MASK]光", top_k=2)
    assert len(out) == 2 and all(len(p) == 2 for p in out)
    with pytest.raises(InvalidArgumentError, match="no \\[MASK\\]"):
        fill_mask(model, tokenizer, "床前明月光")
    with pytest.raises(InvalidArgumentError, match="top_k"):
        fill_mask(model, tokenizer, "[MASK]", top_k=0)


def test_next_sentence_probability(saved_model):
    model, tokenizer = load_for_inference(saved_model, BertForPreTraining)
    assert next_sentence_probability(model, tokenizer, "床前明月光", "疑是地上霜") > 0.99
    mlm_only, _ = load_for_inference(saved_model)
    with pytest.raises(InvalidArgumentError, match="no next-sentence head"):
        next_sentence_probability(mlm_only, tokenizer, "床前明月光", "疑是地上霜")


def test_fill_mask_cli(saved_model, capsys):
    import json

    from bertkit.cli import main

    assert main(["fill-mask", "--model", str(saved_model), "床前明[MASK]光", "--top-k", "2", "--json"]) == 0
    [predictions] = json.loads(capsys.readouterr().out)
    assert predictions[0]["token"] == "月" and len(predictions) == 2
    assert main(["fill-mask", "--model", str(saved_model), "床前明[MASK]光"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("[MASK] 1: 月 ")
    assert err == ""  # the NSP head this command does not use is no cause for a warning
    assert main(["fill-mask", "--model", str(saved_model / "missing"), "[MASK]"]) == 2
    assert "missing" in capsys.readouterr().err
