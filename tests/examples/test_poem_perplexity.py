"""examples/poem_perplexity.py: the Song poems' split is fixed by their text, every arm shares one vocabulary
that holds the training text and misses only held-out characters (counted as [UNK]), and the whole experiment
runs end to end (a few training steps per arm) into a results file, reusing its models when run again."""

import json
import math
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))

import poem_perplexity as experiment  # noqa: E402

LINES = [
    "床前明月光，疑是地上霜。",
    "举头望明月，低头思故乡。",
    "白日依山尽，黄河入海流。",
    "欲穷千里目，更上一层楼。",
    "春眠不觉晓，处处闻啼鸟。",
    "夜来风雨声，花落知多少。",
]
# The demo's recipe reads 16 poems a step: each arm needs that many.
TANG = [(f"诗{i}", "某", [LINES[i % 6], LINES[(5 * i + 1) % 6]]) for i in range(16)]
SONG = [
    ["鸣骹直上一千尺，天静无风声更干。", "碧眼胡儿三百骑，尽提金勒向云看。"],
    ["今年寒食在商山，山里风光亦可怜。"],
    ["马穿山径菊初黄，信马悠悠野兴长。"],
    ["万壑有声含晚籁，数峰无语立斜阳。"],
    ["棠梨叶落胭脂色，荞麦花开白雪香。"],
    ["何事吟余忽惆怅，村桥原树似吾乡。"],
    ["两株桃杏映篱斜，妆点商山副使家。"],
    ["春云如兽复如禽，日照风吹浅又深。"],
]


def write_corpora(directory: Path, song: list[list[str]]) -> tuple[Path, Path]:
    """The demo's Tang format (title, author, lines) and fortunes-zh's (colour title and author, `%`)."""
    tang = directory / "tang.txt"
    tang.write_text("\n\n".join("\n".join([t, a, *lines]) for t, a, lines in TANG) + "\n", encoding="utf-8")
    records = [
        f"\x1b[32m题目:《{i}》\x1b[m\n\x1b[33m作者:某\x1b[m\n" + "\n".join(p) for i, p in enumerate(song)
    ]
    path = directory / "song100"
    path.write_text("\n%\n".join(records) + "\n%\n", encoding="utf-8")
    return tang, path


def test_split_is_fixed_by_text(tmp_path):
    _, song = write_corpora(tmp_path, SONG)
    halves = experiment.split_song(song)
    assert {len(h) for h in halves.values()} == {len(SONG) // 2}
    assert sorted(p.lines for h in halves.values() for p in h) == sorted(map(tuple, SONG))
    (tmp_path / "reversed").mkdir()
    _, reordered = write_corpora(tmp_path / "reversed", SONG[::-1])
    again = experiment.split_song(reordered)
    assert {h: {p.text for p in again[h]} for h in again} == {h: {p.text for p in halves[h]} for h in halves}


def test_experiment_end_to_end(tmp_path, capsys):
    tang, song = write_corpora(tmp_path, SONG)
    out = tmp_path / "out"
    argv = ["--out", str(out), "--steps", "3", "--scaled", "--tang", str(tang), "--song", str(song)]
    experiment.main(argv)
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))

    halves = experiment.split_song(song)
    trained = "".join(line for _, _, lines in TANG for line in lines) + "".join(
        p.text for p in halves["train"]
    )
    missing = sorted({c for p in halves["heldout"] for c in p.text if c not in trained})
    heldout_tokens = sum(len(p.text) + 1 for p in halves["heldout"])  # each character, then [SEP]
    unknown = results["heldout_unknown"]
    assert unknown["characters_outside_vocabulary"] == "".join(missing)
    assert unknown["tokens"] == heldout_tokens
    assert unknown["unk_tokens"] == sum(c in missing for p in halves["heldout"] for c in p.text) > 0

    assert list(results["arms"]) == ["tang", "tang+song", "tang+song scaled"]
    assert [a["steps"] for a in results["arms"].values()] == [3, 3, 4]  # 3 x 20 / 16 poems
    assert [a["poems"] for a in results["arms"].values()] == [16, 20, 20]
    for arm in results["arms"].values():
        scores = arm["perplexity"]
        assert scores["song held-out"]["tokens"] == heldout_tokens
        assert scores["song held-out, [UNK] not scored"]["tokens"] == heldout_tokens - unknown["unk_tokens"]
        assert scores["tang"]["tokens"] == sum(len("".join(lines)) + 1 for _, _, lines in TANG)
        assert all(math.isfinite(s["perplexity"]) and s["perplexity"] > 1 for s in scores.values())
        assert arm["train_seconds"] > 0
    tang_tokens = [c for _, _, lines in TANG for c in [*"".join(lines), "[SEP]"]]
    counts = Counter(tang_tokens)  # the unigram of the Tang poems, by hand
    log_p = [math.log((counts[t] + 1) / (len(tang_tokens) + results["vocabulary"])) for t in tang_tokens]
    unigram = results["unigram"]["unigram tang"]["perplexity"]["tang"]
    assert unigram["tokens"] == len(tang_tokens)
    assert unigram["perplexity"] == pytest.approx(math.exp(-sum(log_p) / len(log_p)))
    assert list(results["unigram"]) == ["unigram tang", "unigram tang+song"]
    assert "| tang+song (20) | 3 |" in capsys.readouterr().out

    experiment.main(argv)  # a second run reuses every model and scores the same
    again = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert all(a["train_seconds"] is None for a in again["arms"].values())
    assert [a["perplexity"] for a in again["arms"].values()] == [
        a["perplexity"] for a in results["arms"].values()
    ]
    assert "| reused |" in capsys.readouterr().out


def test_a_vocabulary_learned_from_other_poems_is_refused(tmp_path):
    tang, song = write_corpora(tmp_path, SONG)
    poems = experiment.read_poems(tang)
    experiment.learn_vocabulary(tmp_path / "out", poems)
    with pytest.raises(SystemExit, match="misses characters of the training poems"):
        experiment.learn_vocabulary(tmp_path / "out", poems + experiment.split_song(song)["train"])
