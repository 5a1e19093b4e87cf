"""fill-mask and next-sentence against transformers on the same checkpoint (MiniLM under a random head)."""

import json

import pytest
import torch

from bertkit import CheckpointError, InvalidArgumentError, pipeline
from bertkit.cli import main
from bertkit.pipelines import fill_mask, load_for_inference

from .conftest import transformers

TEXTS = [
    "The capital of France is [MASK].",
    "I [MASK] to the [MASK] yesterday, and it was great.",
    "[MASK]",
    "Short [MASK] here, then a much longer sentence follows so that the batch has padding to handle.",
]


@pytest.fixture(scope="module")
def fill_pair(checkpoints):
    """(bertkit's, transformers') fill-mask pipelines on the same MLM checkpoint."""
    directory = checkpoints("fill-mask")
    return (
        pipeline("fill-mask", model=directory, batch_size=3),
        transformers.pipeline("fill-mask", model=str(directory), device="cpu"),
    )


def assert_same_predictions(ours, theirs):
    assert [p["token"] for p in ours] == [p["token"] for p in theirs]
    assert [p["token_str"] for p in ours] == [p["token_str"] for p in theirs]
    assert [p["sequence"] for p in ours] == [p["sequence"] for p in theirs]
    assert ours[0]["score"] == pytest.approx(theirs[0]["score"], abs=1e-4)
    assert all(abs(a["score"] - b["score"]) <= 1e-4 for a, b in zip(ours, theirs, strict=True))


def test_fill_mask_equals_transformers(fill_pair):
    ours, theirs = fill_pair
    results = ours(TEXTS, top_k=4)
    assert len(results) == len(TEXTS)
    for text, result in zip(TEXTS, results, strict=True):
        reference = theirs(text, top_k=4)
        if text.count("[MASK]") == 1:
            assert_same_predictions(result, reference)
        else:
            assert len(result) == len(reference) == text.count("[MASK]")
            for mine, ref in zip(result, reference, strict=True):
                assert_same_predictions(mine, ref)
    assert_same_predictions(ours(TEXTS[0], top_k=4), results[0])  # one text: its result, as in a batch
    assert len(ours(TEXTS[0])) == 5  # the default top_k, as transformers'


def test_fill_mask_errors(checkpoints):
    ours = pipeline("fill-mask", model=checkpoints("fill-mask"))
    with pytest.raises(InvalidArgumentError, match=r"text 1 has no \[MASK\] token to fill"):
        ours(["A [MASK] here.", "No mask in this one."])
    with pytest.raises(InvalidArgumentError, match="`top_k` must be a positive integer"):
        ours("A [MASK].", top_k=0)
    with pytest.raises(InvalidArgumentError, match="the list of inputs is empty"):
        ours([])
    with pytest.raises(InvalidArgumentError, match="has no option 'topk'"):
        ours("A [MASK].", topk=3)
    with pytest.raises(
        CheckpointError, match="holds a BertForTokenClassification .* no head for 'fill-mask'"
    ):
        pipeline("fill-mask", model=checkpoints("token-classification"))


# Each kind of target transformers resolves: vocabulary tokens, a word in another case and one of several
# WordPieces (both warned of and replaced by their first piece), a duplicate, and a character outside the
# vocabulary, which becomes [UNK] there too.
TARGET_CASES = [
    ("paris", 5),
    (["paris", "london", "berlin", "the"], 2),
    (["paris", "london", "berlin"], 10),
    (["Paris", "unbelievably", "paris", "[MASK]"], 5),
    (["rome", "\u2603"], 5),
]


@pytest.mark.parametrize(("targets", "top_k"), TARGET_CASES)
def test_fill_mask_targets_equal_transformers(fill_pair, targets, top_k):
    ours, theirs = fill_pair
    results = ours(TEXTS, targets=targets, top_k=top_k)
    for text, result in zip(TEXTS, results, strict=True):
        reference = theirs(text, targets=targets, top_k=top_k)
        if text.count("[MASK]") == 1:
            result, reference = [result], [reference]
        assert len(result) == len(reference) == text.count("[MASK]")
        for mine, ref in zip(result, reference, strict=True):
            assert len(mine) == len(ref)
            assert_same_predictions(mine, ref)
    assert_same_predictions(ours(TEXTS[0], targets=targets, top_k=top_k), results[0])


def test_fill_mask_target_scores_are_over_the_whole_vocabulary(fill_pair):
    ours, _ = fill_pair
    best = ours(TEXTS[0], top_k=3)
    chosen = ours(TEXTS[0], targets=[best[2]["token_str"], best[0]["token_str"]])
    assert [r["token"] for r in chosen] == [best[0]["token"], best[2]["token"]]  # top_k capped at 2
    for mine, unrestricted in zip(chosen, (best[0], best[2]), strict=True):
        assert mine["score"] == pytest.approx(unrestricted["score"], abs=1e-6)
    limited = pipeline("fill-mask", model=ours.directory, targets=("paris",))  # set at loading; a tuple
    assert [r["token_str"] for r in limited(TEXTS[0])] == ["paris"]


def test_fill_mask_targets_warn_as_transformers(fill_pair, caplog):
    ours, _ = fill_pair
    with caplog.at_level("WARNING", logger="bertkit.pipelines.cloze"):
        [record] = ours(TEXTS[0], targets="Unbelievably")
    assert record["token_str"] == "un"
    assert "target token `Unbelievably` does not exist in the model vocabulary. Replacing with `un`" in (
        caplog.text
    )


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ([], "`targets` must be a token or a non-empty list of tokens"),
        (5, "`targets` must be a token or a non-empty list of tokens, got 5"),
        ("", r"`targets` item 0 \(''\) holds no token"),
        (["paris", "  "], r"`targets` item 1 \('  '\) holds no token"),
        (["paris", 3], "`targets` item 1 must be a string, got int"),
    ],
)
def test_fill_mask_target_errors(fill_pair, targets, message):
    ours, _ = fill_pair
    with pytest.raises(InvalidArgumentError, match=message):
        ours(TEXTS[0], targets=targets)


def test_fill_mask_function_and_cli_targets(checkpoints, capsys):
    directory = checkpoints("fill-mask")
    expected = pipeline("fill-mask", model=directory)("Hello [MASK] and [MASK].", targets=["world", "you"])
    model, tokenizer = load_for_inference(directory)
    # The function is the pipeline's thin wrapper: its records, `token` the id and `token_str` the text.
    assert fill_mask(model, tokenizer, "Hello [MASK] and [MASK].", top_k=1, targets=["world", "you"]) == [
        [mask[0] | {"score": pytest.approx(mask[0]["score"], abs=1e-6)}] for mask in expected
    ]
    argv = ["fill-mask", "Hello [MASK] and [MASK].", "--model", str(directory), "--targets", "world", "you"]
    assert main([*argv, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [[(p["token"], p["token_str"]) for p in mask] for mask in printed] == [
        [(r["token"], r["token_str"]) for r in mask] for mask in expected
    ]
    assert main([*argv[:-2], ""]) == 2
    assert capsys.readouterr().err == (
        "bertkit: error: --targets item 0 ('') holds no token; give a word or vocabulary token\n"
    )


PAIRS = [
    ("The weather was cold.", "She put on a warm coat."),
    ("Stocks fell sharply today.", "Penguins live in the southern hemisphere, mostly in Antarctica."),
]


@torch.no_grad()
def test_next_sentence_equals_transformers(checkpoints):
    directory = checkpoints("next-sentence")
    ours = pipeline("next-sentence", model=directory)
    reference = transformers.BertForNextSentencePrediction.from_pretrained(directory).eval()
    tok = transformers.AutoTokenizer.from_pretrained(directory)
    for (first, second), p in zip(PAIRS, ours(PAIRS), strict=True):
        logits = reference(**tok(first, second, return_tensors="pt")).logits
        assert p == pytest.approx(logits.softmax(-1)[0, 0].item(), abs=1e-5)
    assert ours(PAIRS[0]) == pytest.approx(ours(PAIRS)[0], abs=1e-6)
    assert ours({"text": PAIRS[1][0], "text_pair": PAIRS[1][1]}) == pytest.approx(ours(PAIRS)[1], abs=1e-6)
    with pytest.raises(InvalidArgumentError, match="input 0 must be a pair of texts"):
        ours(["just one text"])
