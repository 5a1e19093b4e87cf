"""examples/score_poems.py: its reading of fortunes-zh's Song poems (titles and authors in colour, `%` between
poems) and its minimal pairs (the line as written against two neighbouring characters swapped)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))

import score_poems  # noqa: E402


def test_song_poems_and_minimal_pairs(tmp_path, poet_dir, capsys, monkeypatch):
    song = tmp_path / "song100"
    song.write_text(
        "\x1b[32m题目:《塞上》\x1b[m\n\x1b[33m作者:柳开\x1b[m\n鸣骹直上一千尺，天静无风声更干。\n"
        "碧眼胡儿三百骑，尽提金勒向云看。\n%\n\x1b[32m题目:《寒食》\x1b[m\n今年寒食在商山，山里风光亦可怜：\n%\n",
        encoding="utf-8",
    )
    assert score_poems.song_poems(song) == [
        ["鸣骹直上一千尺，天静无风声更干。", "碧眼胡儿三百骑，尽提金勒向云看。"],
        ["今年寒食在商山，山里风光亦可怜："],
    ]
    assert score_poems.swapped("床前明月光") == "床前月明光"
    monkeypatch.setattr(
        score_poems, "CLOZE_LINES", [("床前明[MASK]光，疑是地上霜。", "床前明[MASK]光", "月")]
    )
    score_poems.minimal_pairs(score_poems.pipeline("text-scoring", model=poet_dir), "poet")
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "poet, clause: prefers the true text for 1 of 1"
    assert printed[1].split()[::2] == ["床前明月光", "床前月明光", "ok"]
    assert printed[2] == "poet, whole line: prefers the true text for 1 of 1"
