import json

import pytest
import torch

import bertkit
from bertkit import (
    BertConfig,
    BertForMaskedLM,
    BertForPreTraining,
    InvalidArgumentError,
    WordPieceTokenizer,
)
from bertkit.pipelines import fill_mask, load_causal_lm, load_for_inference, next_sentence_probability, recite

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
    assert [p["token_str"] for p in predictions][0] == "月"
    assert (
        predictions[0]["token"] == tokenizer.vocab["月"]
    )  # the id, as the pipeline and transformers give it
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
    from bertkit.cli import main

    assert main(["fill-mask", "--model", str(saved_model), "床前明[MASK]光", "--top-k", "2", "--json"]) == 0
    [predictions] = json.loads(capsys.readouterr().out)
    assert predictions[0]["token_str"] == "月" and len(predictions) == 2
    pipeline = bertkit.pipeline("fill-mask", model=saved_model, top_k=2)
    assert predictions == json.loads(json.dumps(pipeline("床前明[MASK]光")))  # the pipeline's very records
    assert main(["fill-mask", "--model", str(saved_model), "床前明[MASK]光"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("[MASK] 1: 月 ")
    assert err == ""  # the NSP head this command does not use is no cause for a warning
    assert main(["fill-mask", "--model", str(saved_model / "missing"), "[MASK]"]) == 2
    assert "missing" in capsys.readouterr().err


def test_recite_continues_the_poem_until_sep(poet_dir, poem):
    model, tokenizer = load_causal_lm(poet_dir)
    assert recite(model, tokenizer, "床前") == poem  # Chinese joined without spaces, stopped at [SEP]
    assert recite(model, tokenizer, "床前", max_new_tokens=3) == "床前明月光"
    sampled = [
        recite(model, tokenizer, "举头", do_sample=True, temperature=1.5, top_p=0.9, seed=s) for s in (1, 1)
    ]
    assert sampled[0] == sampled[1] and sampled[0].startswith("举头")


def test_recite_errors(poet_dir, saved_model):
    model, tokenizer = load_causal_lm(poet_dir)
    with pytest.raises(InvalidArgumentError, match="would become \\[UNK\\]: '龘', 'x'"):
        recite(model, tokenizer, "床前龘明x")
    with pytest.raises(InvalidArgumentError, match="add `do_sample`"):
        recite(model, tokenizer, "床前", top_k=3)
    for empty in ("", "  "):
        with pytest.raises(InvalidArgumentError, match="holds no text; give the first characters"):
            recite(model, tokenizer, empty)
    mlm, mlm_tokenizer = load_for_inference(saved_model)
    with pytest.raises(InvalidArgumentError, match="BertForMaskedLM has no causal language-model head"):
        recite(mlm, mlm_tokenizer, "床前")


def test_recite_cli(poet_dir, poem, saved_model, capsys):
    import json

    from bertkit.cli import main

    assert main(["recite", "--model", str(poet_dir), "床前"]) == 0
    assert capsys.readouterr().out == poem + "\n"
    assert (
        main(
            ["recite", "--model", str(poet_dir), "疑是", "--json", "--sample", "--top-k", "2", "--seed", "0"]
        )
        == 0
    )
    printed = json.loads(capsys.readouterr().out)
    assert printed["prompt"] == "疑是" and printed["text"].startswith("疑是")
    for args, message in [
        (["--model", str(saved_model)], f"{saved_model} has no causal language-model head; train one with "),
        (["--sample", "--top-p", "1.5"], "--top-p must be in (0, 1], got 1.5"),
        (["--sample", "--temperature", "0"], "--temperature must be positive, got 0.0"),
        (["--sample", "--top-k", "0"], "--top-k must be at least 1, got 0"),
        (["--max-new-tokens", "0"], "--max-new-tokens must be at least 1, got 0"),
        (["--max-new-tokens", "39"], "plus --max-new-tokens (39) is 42 positions"),
        (["--top-k", "3"], "--temperature, --top-k and --top-p shape sampling; add --sample"),
    ]:
        assert main(["recite", "--model", str(poet_dir), *args, "床前"]) == 2
        out, err = capsys.readouterr()
        assert not out and message in err and err.count("\n") == 1, err
    assert main(["recite", "--model", str(poet_dir), "床前" * 20]) == 2
    assert "the prompt has 41 tokens" in capsys.readouterr().err
