"""text-scoring and next-token: per-token log-probabilities equal transformers' (a causal model's log-softmax at
the shifted positions, long texts in Hugging Face's strided windows) and minicons' scorers (IncrementalLMScorer;
MaskedLMScorer's two pseudo-log-likelihoods) on the same checkpoints; the student's choices in recite; the
commands; one clear line for each bad input."""

import copy
import json
import math

import pytest
import torch

from bertkit import InvalidArgumentError, pipeline
from bertkit.cli import main
from bertkit.errors import BertkitError
from bertkit.pipelines import corpus_perplexity, load_causal_lm, recite, recite_explained

from .conftest import MINILM, save_with_head

scorer = pytest.importorskip("minicons.scorer")

TEXTS = ["The quick brown fox jumps over the lazy dog.", "Unbelievably, tokenization works!", "Hi"]
TOL = 1e-4


def minicons_scorer(cls, directory):
    """A minicons scorer of a checkpoint directory. minicons 0.3.39 still calls the tokenizer's
    `batch_encode_plus`, which transformers 5 removed; calling the tokenizer is what that method did."""
    s = cls(str(directory), "cpu")
    s.tokenizer.batch_encode_plus = s.tokenizer.__call__
    return s


@pytest.fixture(scope="module")
def masked_reference(checkpoints):
    """minicons' MaskedLMScorer of the fill-mask checkpoint (made once: it decodes the whole vocabulary)."""
    return minicons_scorer(scorer.MaskedLMScorer, checkpoints("fill-mask"))


def assert_records(records: list[dict], expected: list[list[tuple[str, float]]]) -> None:
    """The (token, log-probability) pairs equal, and the totals follow from them."""
    assert len(records) == len(expected)
    for r, want in zip(records, expected, strict=True):
        assert r["tokens"] == [t for t, _ in want]
        assert max(abs(a - b) for a, (_, b) in zip(r["token_log_probs"], want, strict=True)) <= TOL
        assert r["log_prob"] == pytest.approx(sum(r["token_log_probs"]), abs=1e-9)
        assert r["mean_log_prob"] == pytest.approx(r["log_prob"] / len(r["tokens"]))
        assert r["perplexity"] == pytest.approx(math.exp(-r["mean_log_prob"]))


@pytest.mark.parametrize("pll", ["original", "within_word_l2r"])
def test_pseudo_log_likelihood_equals_minicons(checkpoints, masked_reference, pll):
    directory = checkpoints("fill-mask")
    ours = pipeline("text-scoring", model=directory, pll=pll, batch_size=7)(TEXTS)
    reference = masked_reference.token_score(TEXTS, PLL_metric=pll)
    assert_records(ours, reference)
    assert ours[1]["tokens"][:3] == ["un", "##bel", "##ie"]


def test_the_two_plls_differ_on_words_of_several_pieces_and_pretraining_checkpoints_score(
    tmp_path, checkpoints, masked_reference
):
    transformers = pytest.importorskip("transformers")
    directory = checkpoints("fill-mask")
    original, within = (
        pipeline("text-scoring", model=directory, pll=pll)("Unbelievably, tokenization")
        for pll in ("original", "within_word_l2r")
    )
    # The last piece of a word and one-piece words are masked alone either way.
    pieces = original["tokens"]
    for token, a, b, next_token in zip(
        pieces, original["token_log_probs"], within["token_log_probs"], pieces[1:] + [""], strict=True
    ):
        assert (a == pytest.approx(b, abs=1e-6)) == (not next_token.startswith("##")), token
    pretraining = save_with_head(tmp_path / "pre", "BertForPreTraining")
    ours = pipeline("text-scoring", model=pretraining, pll="original")(TEXTS[:2])
    reference = copy.copy(masked_reference)  # the same tokenizer, the pre-training checkpoint's MLM head
    reference.model = transformers.BertForMaskedLM.from_pretrained(pretraining).eval()
    assert_records(ours, reference.token_score(TEXTS[:2]))


def shifted_log_probs(model, ids: list[int]) -> list[float]:
    """transformers' BertLMHeadModel: log P(ids[t] | ids[:t]) for t >= 1, from the log-softmax at t - 1."""
    logits = model(torch.tensor([ids])).logits[0]
    return logits.log_softmax(-1)[:-1].gather(1, torch.tensor(ids[1:])[:, None])[:, 0].tolist()


@torch.no_grad()
def test_causal_scores_equal_transformers_and_minicons(poet_dir, poem):
    transformers = pytest.importorskip("transformers")
    reference = transformers.BertLMHeadModel.from_pretrained(poet_dir).eval()
    score = pipeline("text-scoring", model=poet_dir)
    texts = [poem, "床前明月光", "明月"]
    ours = score(texts)
    expected = []
    for text in texts:
        ids = score.tokenizer.encode(text).ids
        tokens = score.tokenizer.convert_ids_to_tokens(ids[1:])
        expected.append(list(zip(tokens, shifted_log_probs(reference, ids), strict=True)))
    assert_records(ours, expected)
    assert ours[1]["tokens"] == [*"床前明月光", "[SEP]"]
    assert ours[0]["perplexity"] < 1.5  # the poet learnt it by heart
    minicons = minicons_scorer(scorer.IncrementalLMScorer, poet_dir).token_score(texts)
    assert_records(ours, [pairs[1:] for pairs in minicons])  # minicons lists [CLS] with a score of 0
    without_end = score(texts, score_end=False)
    assert_records(without_end, [pairs[:-1] for pairs in expected])


@torch.no_grad()
def test_long_texts_in_strided_windows_equal_hugging_faces_guide(poet_dir, poem):
    """The guide "Perplexity of fixed-length models": windows `stride` apart, each scoring the tokens after the
    previous window's end, with the rest of the window as context."""
    transformers = pytest.importorskip("transformers")
    reference = transformers.BertLMHeadModel.from_pretrained(poet_dir).eval()
    score = pipeline("text-scoring", model=poet_dir)
    window = 40  # the poet's positions
    text = poem + poem[:20]
    ids = score.tokenizer.encode(text).ids
    assert len(ids) > window
    for stride in (None, 7, 39):
        step = stride or window // 2
        expected, previous_end = [], 0
        for begin in range(0, len(ids), step):
            end = min(begin + window, len(ids))
            log_probs = shifted_log_probs(reference, ids[begin:end])
            expected += log_probs[-(end - previous_end) :] if begin else log_probs
            previous_end = end
            if end == len(ids):
                break
        (ours,) = score([text], stride=stride)
        assert len(ours["token_log_probs"]) == len(ids) - 1
        assert max(abs(a - b) for a, b in zip(ours["token_log_probs"], expected, strict=True)) <= TOL


@torch.no_grad()
def test_alternatives_and_next_token(poet_dir):
    transformers = pytest.importorskip("transformers")
    reference = transformers.BertLMHeadModel.from_pretrained(poet_dir).eval()
    (scored,) = pipeline("text-scoring", model=poet_dir, top_k_alternatives=3)(["床前明月"])
    assert len(scored["alternatives"]) == len(scored["tokens"])
    for token, log_prob, ranked in zip(
        scored["tokens"], scored["token_log_probs"], scored["alternatives"], strict=True
    ):
        assert [set(c) for c in ranked] == [{"token", "token_str", "score"}] * 3
        assert ranked[0]["score"] >= ranked[1]["score"] >= ranked[2]["score"]
        if token != "[SEP]":  # the poet knows the line goes on
            assert ranked[0]["token_str"] == token and ranked[0]["score"] == pytest.approx(math.exp(log_prob))

    next_token = pipeline("next-token", model=poet_dir, top_k=4)
    ranked = next_token("床前")
    ids = next_token.tokenizer.encode("床前", add_special_tokens=False).ids
    probabilities = (
        reference(torch.tensor([[next_token.tokenizer.cls_token_id, *ids]])).logits[0, -1].softmax(-1)
    )
    want, want_ids = probabilities.topk(4)
    assert [c["token"] for c in ranked] == want_ids.tolist() and ranked[0]["token_str"] == "明"
    assert [c["score"] for c in ranked] == pytest.approx(want.tolist(), abs=1e-6)
    batch = next_token(["床前", "疑是地上", "床前"], top_k=1)  # different lengths in one batch
    assert [r[0]["token_str"] for r in batch] == ["明", "霜", "明"]


def test_recite_explained_shows_the_students_choices(poet_dir, poem):
    model, tokenizer = load_causal_lm(poet_dir)
    explained = recite_explained(model, tokenizer, "床前", candidates=3)
    assert explained["text"] == recite(model, tokenizer, "床前") == poem
    steps = explained["steps"]
    assert "".join(s["token_str"] for s in steps) == poem[2:] + "[SEP]"
    next_token = pipeline("next-token", model=model, tokenizer=tokenizer, top_k=3)
    for i in (0, 5, len(steps) - 1):
        assert steps[i]["candidates"][0]["token"] == steps[i]["token"]  # greedy: the best one
        want = next_token(poem[: 2 + i])
        assert [c["token"] for c in steps[i]["candidates"]] == [c["token"] for c in want]
        assert [c["score"] for c in steps[i]["candidates"]] == pytest.approx(
            [c["score"] for c in want], abs=1e-5
        )
    sampled = recite_explained(model, tokenizer, "床前", max_new_tokens=4, do_sample=True, seed=0)
    assert len(sampled["steps"]) == 4 and all(len(s["candidates"]) == 5 for s in sampled["steps"])


def test_bad_input_is_one_clear_line(poet_dir, checkpoints):
    score = pipeline("text-scoring", model=poet_dir)
    cases = [
        (lambda: score(["床前", "  "]), "text 1 is empty; give some text"),
        (
            lambda: score("龘x"),
            "text 0 is all [UNK]: the model's vocabulary has none of its characters or words ('龘', 'x')",
        ),
        (lambda: score("床前", stride=40), "`stride` (40) must be smaller than the window of 40 tokens"),
        (lambda: score("床前", pll="l2r"), "`pll` must be one of within_word_l2r, original, got 'l2r'"),
        (lambda: score("床前", stride=0), "`stride` must be a positive integer, got 0"),
        (lambda: score([]), "the list of inputs is empty"),
        (
            lambda: pipeline("text-scoring", model=MINILM),
            "holds a BertModel (config.json `architectures`), which has no head for 'text-scoring'",
        ),
        (
            lambda: pipeline("text-scoring", model=checkpoints("text-classification")),
            "holds a BertForSequenceClassification (config.json `architectures`), which has no head",
        ),
        (lambda: pipeline("next-token", model=checkpoints("fill-mask")), "holds a BertForMaskedLM"),
        (lambda: pipeline("next-token", model=poet_dir)("床前x"), "would become [UNK]: 'x'"),
        (
            lambda: pipeline("text-scoring", model=checkpoints("fill-mask"), stride=8)("Hi"),
            "a BertForMaskedLM scores each text whole",
        ),
    ]
    for call, message in cases:
        with pytest.raises(BertkitError) as caught:
            call()
        assert message in str(caught.value) and "\n" not in str(caught.value), str(caught.value)
    assert isinstance(caught.value, InvalidArgumentError)


def run(capsys, *argv) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_score_perplexity_and_next_commands(poet_dir, poem, tmp_path, capsys):
    model = ["--model", str(poet_dir)]
    expected = pipeline("text-scoring", model=poet_dir)([poem, "床前月明光"])
    lines = [
        json.loads(line) for line in run(capsys, "score", *model, poem, "床前月明光", "--json").splitlines()
    ]
    assert [r["text"] for r in lines] == [poem, "床前月明光"]
    for printed, want in zip(lines, expected, strict=True):
        assert set(printed) == {"text", *want} and printed["log_prob"] == pytest.approx(want["log_prob"])
    table = run(capsys, "score", *model, "床前明月光", "--per-token", "--alternatives", "2").splitlines()
    assert table[0].split() == ["log_prob", "mean", "perplexity", "tokens", "text"]
    assert table[1].split()[-2:] == ["6", "床前明月光"] and len(table) == 2 + 6
    assert table[2].split()[1:4] == ["床", "top:", "床"]

    corpus = tmp_path / "poems.txt"
    corpus.write_text(f"{poem}\n床前月明光\n", encoding="utf-8")
    out = tmp_path / "scores.jsonl"
    printed = run(capsys, "score", *model, "--input", str(corpus), "--output", str(out), "--quiet")
    assert printed == f"wrote 2 scored texts to {out}\n"
    written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in written] == [poem, "床前月明光"]
    for printed, want in zip(written, expected, strict=True):
        assert printed["token_log_probs"] == pytest.approx(want["token_log_probs"], abs=1e-6)
    corpus.write_text(f"{poem}\n\n床前月明光\n", encoding="utf-8")  # a blank line between poems
    assert main(["score", *model, "--input", str(corpus), "--output", str(out)]) == 2
    assert "poems.txt, line 2: empty line" in capsys.readouterr().err
    result = json.loads(run(capsys, "perplexity", *model, "--input", str(corpus), "--json", "--quiet"))
    tokens = sum(len(r["tokens"]) for r in expected)
    assert result["tokens"] == tokens and result["texts"] == 2
    assert result["perplexity"] == pytest.approx(math.exp(-sum(r["log_prob"] for r in expected) / tokens))
    assert result == pytest.approx(
        corpus_perplexity(pipeline("text-scoring", model=poet_dir), [poem, "床前月明光"])
    )
    assert run(capsys, "perplexity", *model, "--input", str(corpus), "--quiet").startswith("perplexity ")

    ranked = json.loads(run(capsys, "next", *model, "床前", "--top-k", "2", "--json"))
    assert [c["token_str"] for c in ranked][0] == "明" and len(ranked) == 2
    assert run(capsys, "next", *model, "床前").splitlines()[0].split()[:2] == ["1", "明"]
    in_int8 = json.loads(run(capsys, "next", *model, "床前", "--dtype", "int8", "--json"))
    assert in_int8[0]["token_str"] == "明" and in_int8[0]["score"] == pytest.approx(
        ranked[0]["score"], abs=0.05
    )
    [int8] = [
        json.loads(line)
        for line in run(capsys, "score", *model, poem, "--json", "--dtype", "int8").splitlines()
    ]
    assert int8["log_prob"] == pytest.approx(expected[0]["log_prob"], abs=0.5)

    explained = run(capsys, "recite", *model, "床前", "--explain", "2").splitlines()
    assert explained[0] == poem and explained[1].split()[0] == "明" and explained[1].split()[3] == "明"
    steps = json.loads(run(capsys, "recite", *model, "床前", "--explain", "--json"))["steps"]
    assert len(steps[0]["candidates"]) == 5

    for argv, message in [
        (["score", *model], "give either TEXT... or both --input and --output"),
        (["score", *model, "床前", "--stride", "40"], "--stride (40) must be smaller than the window"),
        (["score", *model, "龘"], "text 0 is all [UNK]"),
        (["perplexity", *model, "--input", str(tmp_path / "none.txt")], "none.txt: no such file"),
        (["next", *model, "床前", "--top-k", "0"], "--top-k must be a positive integer, got 0"),
    ]:
        assert main(argv) == 2
        out, err = capsys.readouterr()
        assert not out and message in err and err.count("\n") == 1, err
