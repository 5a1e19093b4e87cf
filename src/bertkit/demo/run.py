"""The main job (`make demo`): the tutorial's two models of the 300 Tang poems, trained from nothing.

1. the cloze model (BERT: masked language model + next-sentence prediction), `out/final`;
2. the poem language model (causal: each character from the ones before it), `out/lm/final`;
then what each knows: famous lines with a character hidden, whether a line follows another, and the lazy
student's test, reciting Li Bai's poems from their first two characters.

Every stage is the library call a user would make (learn a vocabulary, prepare, pre-train, fill-mask, recite);
each stage's output is kept under `out/`, so a rerun picks up where an interrupted one stopped. The student
memorises: both models train on every poem (generalisation is measured in benchmarks, not here).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from bertkit.checks import check_choice, check_int
from bertkit.data.prepare import is_heldout, prepare_corpus
from bertkit.demo.cloze import cloze_config, show_cloze
from bertkit.demo.poems import Poem, read_poems, recite_poems, recited_exactly, unique_openings, write_texts
from bertkit.demo.report import LANGUAGES, default_language, say
from bertkit.demo.settings import demo_settings, idle_cores
from bertkit.errors import InvalidArgumentError
from bertkit.files import check_readable, check_writable_dir
from bertkit.model import BertLMHeadModel
from bertkit.pipelines import load_for_inference
from bertkit.tokenizer import WordPieceTokenizer
from bertkit.train.config import PretrainConfig
from bertkit.train.loop import pretrain
from bertkit.train.plot import plot_run
from bertkit.viz import demo_pictures

# Measured in docs/benchmarks.md ("The demo: time to quality"): the fewest steps that reach the demo's targets
# on 2 CPU cores. The next-sentence head tells a poem's next line from another poem's only once the lines are
# memorised, and keeps gaining after; the language model recites every Li Bai poem well before its last step.
CLOZE_STEPS = 12000
LM_STEPS = 1000
POET = "李白"
SHOWN_OPENINGS = ["床前", "朝辞", "玉阶", "云想"]  # 静夜思 first: the tutorial's example


def lm_config(out: Path, max_steps: int = LM_STEPS, seed: int = 0) -> PretrainConfig:
    """A tiny causal model; each poem its own row from position 0 (no packing), so `[CLS]` and two characters
    are exactly how every poem it learned begins."""
    return PretrainConfig(
        **demo_settings(out, out / "lm", out / "lm_data", max_steps, seed),
        lr=3e-3,
        objective="clm",
        packing=False,
        seq_len=512,
        batch_size=16,
    )


def prepare_poems(
    corpus: str | Path, out: str | Path, heldout_fraction: float = 0.0, lang: str = "en"
) -> list[Poem]:
    """Stages 1-2, each kept: a vocabulary learned from the corpus, and the poems' text (no titles or authors)
    prepared into the shards each model trains on: `out/lm_data` (each poem's lines) for the language model,
    `out/data` (the same, then each poem again one clause a line) for the cloze model. Returns the poems.

    With `heldout_fraction`, the held-out poems' clauses are left out too, so that none of a held-out poem
    is trained on (the poems come first in both files, so a poem is held out in both). A corpus without
    poems, or an `out` that cannot be written, fails before anything is written."""
    corpus = check_readable(corpus)
    poems = read_poems(corpus)
    out = check_writable_dir(out, "the output directory")
    tokenizer_dir = out / "tokenizer"
    if not (tokenizer_dir / "vocab.txt").exists():
        print(say(lang, "vocabulary", corpus=corpus))
        WordPieceTokenizer.train([corpus], vocab_size=8000, min_frequency=1).save_pretrained(tokenizer_dir)
    print(say(lang, "prepare", cloze=out / "data", lm=out / "lm_data"))
    heldout = is_heldout(np.arange(len(poems)), heldout_fraction)
    trained = [p for p, held in zip(poems, heldout, strict=True) if not held]
    for texts, data in (
        (write_texts(poems, out / "poems_and_clauses.txt", clauses=trained), out / "data"),
        (write_texts(poems, out / "poems.txt"), out / "lm_data"),
    ):
        prepare_corpus([texts], tokenizer_dir, data, heldout_fraction=heldout_fraction)
    return poems


def train_once(
    cfg: PretrainConfig, what: str, step: str, threads: int | None = None, lang: str = "en"
) -> Path:
    """`cfg.out/final`, trained unless an earlier run finished it, on `threads` threads; by default torch's,
    or fewer where other processes keep cores busy (`idle_cores`)."""
    final = Path(cfg.out) / "final"
    if (final / "config.json").exists():
        print(say(lang, "reuse", step=step, what=what, final=final))
        return final
    print(say(lang, "train", step=step, what=what, steps=cfg.max_steps))
    default = torch.get_num_threads()
    if threads is None:
        threads = min(default, idle_cores())
        if threads < default:
            print(say(lang, "busy", threads=threads, default=default))
    torch.set_num_threads(threads)
    try:
        return pretrain(cfg)
    finally:
        torch.set_num_threads(default)


def run_demo(
    corpus: str | Path = "data/tang300.txt",
    out: str | Path = "runs/demo",
    max_steps: int = CLOZE_STEPS,
    lm_steps: int = LM_STEPS,
    threads: int | None = None,
    lang: str | None = None,
) -> Path:
    """Both models, then what they know; returns the cloze model's directory (the LM's is `out/lm/final`).
    `threads`: torch's threads for training (default: torch's, fewer while other processes keep cores busy);
    `lang`: the report's language, en or zh (default: the locale's)."""
    check_int("`max_steps`", max_steps)
    check_int("`lm_steps`", lm_steps)
    if threads is not None:
        check_int("`threads`", threads)
    lang = lang or default_language()
    check_choice("`lang`", lang, LANGUAGES)
    poems = prepare_poems(corpus, out, lang=lang)
    out = Path(out)
    final = train_once(cloze_config(out, max_steps), say(lang, "cloze_model"), "3/5", threads, lang)
    lm_final = train_once(lm_config(out, lm_steps), say(lang, "lm_model"), "4/5", threads, lang)
    print(say(lang, "learned"))
    show_cloze(final, poems, lang)
    show_recitation(lm_final, poems, lang)
    try:  # matplotlib is an optional extra
        print(say(lang, "curves") + ", ".join(str(plot_run(run)) for run in (out, out / "lm")))
        print(say(lang, "pictures") + ", ".join(map(str, demo_pictures(final, out, lm_dir=lm_final))))
    except InvalidArgumentError as err:
        print(say(lang, "pictures") + str(err))
    return final


def recitations(model_dir: Path, poems: list[Poem]) -> dict[Poem, str]:
    """Every poem as the model in `model_dir` recites it from its first two characters."""
    model, tokenizer = load_for_inference(model_dir, BertLMHeadModel)
    return dict(zip(poems, recite_poems(model, tokenizer, poems), strict=True))


def recitation_score(recited: dict[Poem, str], poems: list[Poem]) -> dict[str, tuple[int, int]]:
    """(recited exactly, out of) for the poet's poems with an opening of their own, and for every poem."""
    poets = unique_openings(poems, POET)
    return {
        POET: (sum(recited_exactly(recited[p], p) for p in poets), len(poets)),
        "all": (sum(recited_exactly(recited[p], p) for p in poems), len(poems)),
    }


def show_recitation(model_dir: Path, poems: list[Poem], lang: str = "en") -> None:
    """The lazy student's test: each of the poet's poems recited from its first two characters."""
    recited = recitations(model_dir, poems)
    print(say(lang, "recite"))
    by_opening = {p.opening: p for p in unique_openings(poems)}
    for poem in [by_opening[o] for o in SHOWN_OPENINGS if o in by_opening]:
        mark = say(lang, "exact" if recited_exactly(recited[poem], poem) else "not_exact")
        print(f"  {poem.opening} -> {recited[poem]}   ({poem.title}, {poem.author}: {mark})")
    score = recitation_score(recited, poems)
    print(say(lang, "poet_score", poet=POET, recited=score[POET][0], poems=score[POET][1]))
    print(say(lang, "all_score", recited=score["all"][0], poems=score["all"][1]))
