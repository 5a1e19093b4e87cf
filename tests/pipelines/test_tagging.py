"""token-classification against transformers on the same checkpoint, every aggregation strategy."""

import pytest

from bertkit import InvalidArgumentError, pipeline

from .conftest import transformers

TEXTS = [
    "Angela Merkel met Emmanuel Macron in Strasbourg on Tuesday.",
    "Hugging Face Inc. is a company based in New York City, founded by Clément Delangue.",
    "naïve café owners in Zürich ❤ unbelievably well-organised tokenization",
    "x",
]


@pytest.fixture(scope="module")
def taggers(checkpoints):
    directory = checkpoints("token-classification")
    return pipeline("token-classification", model=directory, batch_size=3), directory


@pytest.mark.parametrize("strategy", ["none", "simple", "first", "max", "average"])
def test_entities_equal_transformers(taggers, strategy):
    ours, directory = taggers
    theirs = transformers.pipeline(
        "token-classification", model=str(directory), aggregation_strategy=strategy, device="cpu"
    )
    found = ours(TEXTS, aggregation_strategy=strategy)
    key = "entity" if strategy == "none" else "entity_group"
    assert any(found)
    for text, mine in zip(TEXTS, found, strict=True):
        ref = theirs(text)
        fields = [key, "word", "start", "end"] + (["index"] if strategy == "none" else [])
        assert [[e[f] for f in fields] for e in mine] == [[e[f] for f in fields] for e in ref]
        assert all(abs(a["score"] - float(b["score"])) <= 1e-4 for a, b in zip(mine, ref, strict=True))
        assert all(text[e["start"] : e["end"]] for e in mine)


def test_ignore_labels_and_errors(taggers):
    ours, _ = taggers
    everything = ours(TEXTS[0], ignore_labels=[])
    assert len(everything) >= len(ours(TEXTS[0]))
    assert {e["entity"] for e in everything} - {"O"}
    with pytest.raises(InvalidArgumentError, match="`aggregation_strategy` must be one of"):
        ours(TEXTS[0], aggregation_strategy="longest")
    with pytest.raises(InvalidArgumentError, match="text 0 must be a string, got int"):
        ours([3])
