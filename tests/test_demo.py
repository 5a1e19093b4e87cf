import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bertkit.cli import main
from bertkit.config import BertConfig
from bertkit.constants import IGNORE_INDEX
from bertkit.data.instances import A_END, A_START, B_END, B_START, IS_RANDOM_NEXT, plan_instances
from bertkit.data.loader import PretrainingData
from bertkit.data.prepare import is_heldout
from bertkit.data.split import open_split
from bertkit.demo import CLOZE_LINES, NSP_PAIRS, run_demo
from bertkit.demo.cloze import cloze_config
from bertkit.demo.poems import Poem, couplets, read_poems, recited_exactly, unique_openings, write_texts
from bertkit.demo.report import MESSAGES, default_language, say
from bertkit.demo.run import prepare_poems
from bertkit.demo.settings import idle_cores
from bertkit.errors import FileFormatError
from bertkit.model import BertForPreTraining
from bertkit.train.pretraining import MLM_COUNTS, measure_mlm, mlm_metrics

CORPUS = Path(__file__).resolve().parent.parent / "data" / "tang300.txt"


def test_demo_runs_every_stage_and_resumes(tmp_path, capsys):
    final = run_demo(CORPUS, tmp_path / "demo", max_steps=2, lm_steps=2)
    out = capsys.readouterr().out
    assert (final / "config.json").exists() and (final / "vocab.txt").exists()
    lm = tmp_path / "demo" / "lm" / "final"
    assert '"is_decoder": true' in (lm / "config.json").read_text()
    assert (tmp_path / "demo" / "loss.png").stat().st_size > 0
    assert (tmp_path / "demo" / "lm" / "loss.png").stat().st_size > 0
    for picture in ("attention", "positions", "embeddings", "lm-attention", "lm-positions"):
        assert (tmp_path / "demo" / f"{picture}.png").stat().st_size > 0
    assert "床前明[MASK]光" in out and "P(B follows A)" in out
    assert "床前 -> 床前" in out and "of 25 recited exactly" in out and "of 313" in out
    # A second run reuses every stage instead of training again.
    assert run_demo(CORPUS, tmp_path / "demo", max_steps=2, lm_steps=2) == final
    again = capsys.readouterr().out
    assert "using the cloze model" in again and "using the poem language model" in again
    run_demo(CORPUS, tmp_path / "demo", max_steps=2, lm_steps=2, lang="zh")
    chinese = capsys.readouterr().out
    assert "使用" in chinese and "完形填空（fill-mask）" in chinese and "下一句预测" in chinese
    assert "首背出" in chinese and "第一候选就对的" in chinese


def test_the_corpus_reads_as_poems_and_the_quoted_lines_are_in_it():
    poems = read_poems(CORPUS)
    assert len(poems) == 313
    [quiet_night] = [p for p in poems if p.opening == "床前"]
    assert quiet_night.author == "李白" and quiet_night.text.startswith("床前明月光，疑是地上霜。")
    li_bai = unique_openings(poems, "李白")
    assert (
        len(li_bai) == 25
        and min(len(p.text) for p in li_bai) == 24
        and max(len(p.text) for p in li_bai) == 340
    )
    text = "\n".join(p.text for p in poems)
    for whole, fragment, answer in CLOZE_LINES:
        assert whole.replace("[MASK]", answer) in text and fragment.replace(
            "[MASK]", answer
        ) in whole.replace("[MASK]", answer)
    assert all(line in text for pair in NSP_PAIRS for line in pair)


def test_poem_texts_and_exact_recitation(tmp_path):
    poem = Poem("夜思", "李白", ("床前明月光，疑是地上霜。", "举头望明月，低头思故乡。"))
    assert recited_exactly("床前明月光疑是地上霜，举头望明月 低头思故乡。", poem)
    assert not recited_exactly("床前明月光，疑是地上霜。", poem)
    path = write_texts([poem, Poem("t", "a", ("一二",))], tmp_path / "texts.txt")
    assert path.read_text(encoding="utf-8") == "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n\n一二\n"
    # The cloze model's text: each poem's lines, then each poem again, one clause a line without punctuation.
    assert poem.clauses == ["床前明月光", "疑是地上霜", "举头望明月", "低头思故乡"]
    other = Poem("t", "a", ("一二、三？",))
    path = write_texts([poem, other], tmp_path / "texts.txt", clauses=[poem, other])
    assert path.read_text(encoding="utf-8") == (
        "床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n\n一二、三？\n\n"
        "床前明月光\n疑是地上霜\n举头望明月\n低头思故乡\n\n一二\n三\n"
    )


def test_held_out_poems_leave_their_clauses_out_of_the_cloze_data(tmp_path):
    poems = prepare_poems(CORPUS, tmp_path, heldout_fraction=0.1)
    text = (tmp_path / "poems_and_clauses.txt").read_text(encoding="utf-8")
    documents = text.rstrip("\n").split("\n\n")
    assert documents[: len(poems)] == ["\n".join(p.lines) for p in poems]
    clauses = {c for document in documents[len(poems) :] for c in document.split("\n")}
    held = [p for p, h in zip(poems, is_heldout(np.arange(len(poems)), 0.1), strict=True) if h]
    kept = [p for p in poems if p not in held]
    assert 10 < len(held) < 60
    assert all(c in clauses for p in kept for c in p.clauses)
    assert not any(c in clauses for p in held for c in p.clauses if not any(c in k.clauses for k in kept))


def test_a_corpus_not_made_of_poems_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("标题\n作者\n\n", encoding="utf-8")
    with pytest.raises(FileFormatError, match="bad.txt: the poem '标题' has 2 line"):
        read_poems(bad)
    bad.write_text("\n\n", encoding="utf-8")
    with pytest.raises(FileFormatError, match="no poems found"):
        read_poems(bad)


def test_the_cloze_models_next_sentence_pairs_give_nothing_away_by_form(tmp_path):
    """Every line and every clause is asked what follows it; a random B has the true next one's form (a line
    after a line, a clause after a clause, as long, punctuated alike); a poem's last line and last clause
    have no next sentence and are asked none."""
    prepare_poems(CORPUS, tmp_path)
    cfg = cloze_config(tmp_path, max_steps=10)
    index, tokenizer = open_split(cfg.data, cfg.tokenizer, "train")
    plan = plan_instances(
        index.sentence_lengths,
        index.document_offsets,
        cfg.seq_len,
        cfg.short_seq_prob,
        np.random.default_rng(0),
        cfg.nsp_negatives,
        cfg.nsp_pairs,
    )
    assert np.array_equal(plan[:, A_START], np.arange(len(index.sentence_lengths)))
    punctuation = [tokenizer.vocab[mark] for mark in "，。？！；："]

    def form(label: int) -> dict:
        rows = plan[plan[:, IS_RANDOM_NEXT] == label]
        b = [index.tokens(r[B_START], r[B_END]) for r in rows]
        return {"pairs": len(rows), "B ends in punctuation": np.mean([t[-1] in punctuation for t in b])} | {
            f"B of {n} tokens": np.mean([len(t) == n for t in b]) for n in (5, 7, 12, 16)
        }

    true, random = form(0), form(1)
    assert random.pop("pairs") == pytest.approx(true.pop("pairs"), rel=0.1)
    assert 0.2 < true["B ends in punctuation"] < 0.5  # lines after lines, clauses after clauses
    assert random == pytest.approx(true, abs=0.03)
    unasked = plan[plan[:, IS_RANDOM_NEXT] == IGNORE_INDEX]
    assert np.array_equal(unasked[:, A_END], index.document_offsets[1:])


def test_pairs_asked_no_next_sentence_add_no_loss_and_are_not_counted(tmp_path):
    prepare_poems(CORPUS, tmp_path)
    cfg = cloze_config(tmp_path, max_steps=10)
    data = PretrainingData(
        cfg.data,
        cfg.tokenizer,
        max_seq_length=cfg.seq_len,
        batch_size=64,
        nsp_negatives=cfg.nsp_negatives,
        nsp_pairs=cfg.nsp_pairs,
        num_workers=0,
    )
    # A batch with all three kinds of pair: true and random next sentences, and last ones (unasked).
    batch = next(b for b in data if set(b["next_sentence_label"].tolist()) == {IGNORE_INDEX, 0, 1})
    asked = batch["next_sentence_label"] != IGNORE_INDEX
    torch.manual_seed(0)
    model = BertForPreTraining(BertConfig.preset("tiny", vocab_size=3000)).eval()
    with torch.no_grad():
        out = model(**batch)
        expected = F.cross_entropy(out.nsp_logits[asked], batch["next_sentence_label"][asked])
        assert out.nsp_loss.item() == pytest.approx(expected.item(), rel=1e-5)
        figures = mlm_metrics(dict(zip(MLM_COUNTS, measure_mlm(out, batch).tolist(), strict=True)))
        right = out.nsp_logits[asked].argmax(-1) == batch["next_sentence_label"][asked]
        assert figures["nsp_acc"] == pytest.approx(right.double().mean().item())
        unasked = {
            **batch,
            "next_sentence_label": torch.full_like(batch["next_sentence_label"], IGNORE_INDEX),
        }
        out = model(**unasked)
        assert out.nsp_loss.item() == 0 and out.loss.item() == pytest.approx(out.mlm_loss.item())


def test_couplets_come_with_same_length_lines_of_other_poems():
    poems = read_poems(CORPUS)
    chosen, left_out = couplets(poems, 3, np.random.default_rng(0))
    assert len(chosen) + left_out == sum(len(p.lines) - 1 for p in poems) and left_out < 30
    poem_of = {}
    for p, poem in enumerate(poems):
        for line in poem.lines:
            poem_of.setdefault(line, set()).add(p)
    for first, second, others in chosen:
        assert len(set(others)) == 3 and all(len(o) == len(second) for o in others)
        assert all(poem_of[o] - poem_of[first] for o in others)


def test_bad_steps_corpus_and_output_directory_are_one_clear_error_each(tmp_path, capsys):
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    no_poems = tmp_path / "no-poems.txt"
    no_poems.write_text("\n\n", encoding="utf-8")
    cases = [
        (
            ["--max-steps", "0", "--out", str(tmp_path / "o1")],
            "--max-steps must be a positive integer, got 0",
        ),
        (
            ["--lm-steps", "-1", "--out", str(tmp_path / "o2")],
            "--lm-steps must be a positive integer, got -1",
        ),
        (["--corpus", str(no_poems), "--out", str(tmp_path / "o3")], f"{no_poems}: no poems found"),
        (["--out", str(a_file)], f"the output directory {a_file}: is a file, expected a directory"),
        (
            ["--out", str(a_file / "sub")],
            f"the output directory {a_file / 'sub'}: cannot be written to (Not a",
        ),
        (["--out", "/proc/self/demo"], "the output directory /proc/self/demo: cannot be written to"),
    ]
    for flags, message in cases:
        assert main(["demo", "--corpus", str(CORPUS), *flags]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"bertkit: error: {message}") and err.count("\n") == 1
    assert not any((tmp_path / d).exists() for d in ("o1", "o2", "o3"))


def test_idle_cores_leaves_out_a_core_another_process_keeps_busy():
    cores = os.cpu_count() or 1
    assert 1 <= idle_cores(0.2) <= cores
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        assert idle_cores(0.5) <= max(1, cores - 1)
    finally:
        spinner.kill()
        spinner.wait()


def test_the_report_speaks_the_language_asked_or_the_locales(monkeypatch):
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    assert default_language() == "en"
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert default_language() == "zh"
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    assert default_language() == "en"
    assert set(MESSAGES["zh"]) == set(MESSAGES["en"])
    fields = {
        "corpus": "p.txt",
        "cloze": "a",
        "lm": "b",
        "step": "3/5",
        "what": "x",
        "final": "f",
        "steps": 9,
    }
    fields |= {"threads": 1, "default": 2, "whole": 12, "lines": 12, "fragments": 11, "accuracy": 0.97}
    fields |= {"couplets": 1274, "p_true": 0.9, "p_other": 0.1, "poet": "李白", "recited": 25, "poems": 25}
    for key in MESSAGES["en"]:
        assert say("zh", key, **fields) != say("en", key, **fields)
    assert say("zh", "cloze_score", **fields) == "  第一候选就对的：整句 12/12，片段 11/12"
