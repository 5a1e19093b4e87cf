"""token-classification against transformers on the same checkpoint, every aggregation strategy, and long
texts read in overlapping windows (`stride`)."""

import json
import re
import shutil
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file

from bertkit import InvalidArgumentError, pipeline
from bertkit.cli import main
from bertkit.pipelines.tagging import resolve_overlaps

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


# Long texts read in windows (`stride`), on the same checkpoint cut to POSITIONS positions (config, weights and
# the tokenizer's model_max_length, which transformers windows by), so that every text needs several windows.
POSITIONS = 24
ROOM = POSITIONS - 2  # text tokens per window
LONG = [
    " ".join(TEXTS[:3]),
    TEXTS[2] + " " + TEXTS[0],
    TEXTS[1],  # fits in one window
    "x",
]


def cut_positions(source: Path, directory: Path, positions: int) -> Path:
    """A copy of the checkpoint at `source` whose model and tokenizer stop at `positions` tokens."""
    shutil.copytree(source, directory, dirs_exist_ok=True)
    for name, key, value in [
        ("config.json", "max_position_embeddings", positions),
        ("tokenizer_config.json", "model_max_length", positions),
    ]:
        settings = json.loads((directory / name).read_text())
        settings[key] = value
        (directory / name).write_text(json.dumps(settings))
    weights = load_file(directory / "model.safetensors")
    key = next(k for k in weights if k.endswith("position_embeddings.weight"))
    weights[key] = weights[key][:positions].contiguous()
    save_file(weights, directory / "model.safetensors", metadata={"format": "pt"})
    return directory


@pytest.fixture(scope="module")
def short(checkpoints, tmp_path_factory):
    directory = cut_positions(
        checkpoints("token-classification"), tmp_path_factory.mktemp("short"), POSITIONS
    )
    theirs = transformers.pipeline("token-classification", model=str(directory), device="cpu")
    return pipeline("token-classification", model=directory, batch_size=5), theirs, directory


def fields(entities):
    return [[e["entity_group"], e["word"], e["start"], e["end"]] for e in entities]


@pytest.mark.parametrize("strategy", ["simple", "first", "max", "average"])
def test_stride_equals_transformers(short, strategy):
    ours, theirs, _ = short
    assert len(ours.tokenizer.encode(LONG[0], add_special_tokens=False).ids) > 2 * ROOM
    cut = ours(LONG, aggregation_strategy=strategy)
    for stride in [None, 0, 7, ROOM - 1]:
        options = {} if stride is None else {"stride": stride}
        texts = LONG[1:] if stride == ROOM - 1 else LONG  # a window per token: the shorter texts suffice
        found = ours(texts, aggregation_strategy=strategy, **options)
        for text, mine in zip(texts, found, strict=True):
            ref = theirs(text, aggregation_strategy=strategy, **options)
            assert fields(mine) == fields(ref), (stride, text)
            assert all(abs(a["score"] - float(b["score"])) <= 1e-4 for a, b in zip(mine, ref, strict=True))
        if stride is not None:  # the windows find entities past the cut
            assert max(e["end"] for e in found[-3]) > max(e["end"] for e in cut[-3])


def test_stride_windows_batched_in_any_order(short):
    ours, _, directory = short
    together = ours(LONG, aggregation_strategy="first", stride=7)
    one_by_one = pipeline("token-classification", model=directory, batch_size=1, stride=7)
    reversed_order = ours(LONG[::-1], aggregation_strategy="first", stride=7)[::-1]
    for other in [[one_by_one(t, aggregation_strategy="first") for t in LONG], reversed_order]:
        assert [fields(e) for e in other] == [fields(e) for e in together]
        scores = [[e["score"] for e in entities] for entities in other]
        assert scores == [pytest.approx([e["score"] for e in entities], abs=1e-5) for entities in together]


def test_resolve_overlaps_keeps_the_longer_or_more_confident():
    a = {"entity_group": "PER", "score": 0.5, "word": "ab", "start": 0, "end": 5}
    longer = {**a, "start": 3, "end": 12, "score": 0.1}
    surer = {**longer, "score": 0.9}
    apart = {**a, "start": 12, "end": 14}
    assert resolve_overlaps([a, longer, surer, apart]) == [surer, apart]
    assert resolve_overlaps([longer, {**a, "start": 4, "end": 6}]) == [longer]
    assert resolve_overlaps([]) == []


def test_stride_errors(short, capsys):
    ours, _, directory = short
    for stride, message in [
        (ROOM, f"`stride`={ROOM} must be smaller than the {ROOM} text tokens a window holds "),
        (-1, "`stride` must be an integer >= 0, got -1"),
        (2.5, "`stride` must be an integer >= 0, got 2.5"),
    ]:
        with pytest.raises(InvalidArgumentError, match=re.escape(message)):
            ours(LONG[0], aggregation_strategy="simple", stride=stride)
    for options in [{}, {"aggregation_strategy": "none"}]:  # the default is none
        with pytest.raises(InvalidArgumentError, match="`stride` needs an `aggregation_strategy` of simple"):
            ours(LONG[0], stride=3, **options)
    assert main(["tag", "--model", str(directory), LONG[0], "--stride", str(ROOM)]) == 2
    assert f"--stride={ROOM} must be smaller than" in capsys.readouterr().err
    assert main(["tag", "--model", str(directory), LONG[0], "--stride", "5", "--aggregation", "max"]) == 0
    printed = json.loads(capsys.readouterr().out)
    expected = ours(LONG[0], aggregation_strategy="max", stride=5)
    assert fields(printed) == fields(expected)
    assert [e["score"] for e in printed] == pytest.approx([e["score"] for e in expected], abs=1e-5)
