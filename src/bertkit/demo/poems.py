"""The demo's corpus as poems, and the lazy student's test: recite a poem from its first two characters.

The bundled corpus (data/tang300.txt) writes each poem as a title line, an author line, then the lines of the
poem, with a blank line between poems. The language model learns the poems' text alone (no title, no
author), each poem a document, so that `[CLS]` and the first two characters are exactly how every poem it
learned begins. The cloze model also reads each clause of the poems without punctuation, so that it learns to
fill in a fragment (`床前明[MASK]光`) as well as a whole line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bertkit.errors import FileFormatError
from bertkit.files import iter_lines, write_text_atomically
from bertkit.model import BertLMHeadModel
from bertkit.pipelines.recite import continuation
from bertkit.tokenizer import WordPieceTokenizer

# "Punctuation aside": a recitation counts when its characters are the poem's, whatever marks separate them.
PUNCTUATION = re.compile(r"[\s\u3000-\u303f\uff00-\uff0f\uff1a-\uff20\u2018-\u201f]")
CLAUSE_END = re.compile(r"[，。？！；：、]")
OPENING = 2  # characters the student remembers


@dataclass(frozen=True)
class Poem:
    title: str
    author: str
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "".join(self.lines)

    @property
    def opening(self) -> str:
        return self.text[:OPENING]

    @property
    def clauses(self) -> list[str]:
        """The poem cut at its punctuation, without it: `床前明月光`, `疑是地上霜`, ..."""
        return [c for line in self.lines for c in CLAUSE_END.split(line) if c]


def read_poems(path: str | Path) -> list[Poem]:
    """The poems of a corpus in the bundled format (title, author, lines; blank lines between poems)."""
    poems, block = [], []
    for line in [*iter_lines(path), ""]:
        if line.strip():
            block.append(line.strip())
        elif block:
            if len(block) < 3:
                raise FileFormatError(
                    f"{path}: the poem {block[0]!r} has {len(block)} line(s); a poem is a title line, an "
                    "author line and at least one line of text, with a blank line after it"
                )
            poems.append(Poem(block[0], block[1], tuple(block[2:])))
            block = []
    if not poems:
        raise FileFormatError(
            f"{path}: no poems found (title line, author line, text lines; blank lines between)"
        )
    return poems


def write_texts(poems: list[Poem], path: Path, clauses: list[Poem] = ()) -> Path:
    """The poems' text alone, one document per poem, its lines one per line: what the language model learns.
    Then each of the `clauses` poems again, one clause per line without punctuation: the cloze model, whose
    next-sentence pairs are every sentence with its next one (`nsp_pairs="sentences"`), then sees every
    clause at the start of an input, as a fragment (`床前明[MASK]光`) is asked, and is asked which clause
    follows which as well as which line."""
    documents = ["\n".join(p.lines) for p in poems] + ["\n".join(p.clauses) for p in clauses]
    write_text_atomically(path, "\n\n".join(documents) + "\n")
    return path


def couplets(
    poems: list[Poem], others: int, rng: np.random.Generator
) -> tuple[list[tuple[str, str, list[str]]], int]:
    """Every couplet of `poems` (a line and the next line of its poem) with `others` distinct lines of other
    poems exactly as long as the next line (so length and punctuation give nothing away), drawn with `rng`;
    and how many couplets were left out for want of that many such lines."""
    by_length: dict[int, list[tuple[int, str]]] = {}
    for p, poem in enumerate(poems):
        for line in dict.fromkeys(poem.lines):
            by_length.setdefault(len(line), []).append((p, line))
    chosen, left_out = [], 0
    for p, poem in enumerate(poems):
        for first, second in zip(poem.lines, poem.lines[1:], strict=False):
            pool = [line for q, line in by_length[len(second)] if q != p and line != second]
            pool = list(dict.fromkeys(pool))  # a line two poems share is one line
            if len(pool) < others:
                left_out += 1
                continue
            chosen.append((first, second, [pool[i] for i in rng.choice(len(pool), others, replace=False)]))
    return chosen, left_out


def unique_openings(poems: list[Poem], author: str | None = None) -> list[Poem]:
    """The poems (by `author`, if given) whose first two characters begin no other poem: the ones a student
    can be asked to recite from those two characters alone."""
    counts: dict[str, int] = {}
    for poem in poems:
        counts[poem.opening] = counts.get(poem.opening, 0) + 1
    return [p for p in poems if counts[p.opening] == 1 and author in (None, p.author)]


@torch.inference_mode()
def recite_poems(
    model: BertLMHeadModel, tokenizer: WordPieceTokenizer, poems: list[Poem], batch_size: int = 32
) -> list[str]:
    """Each poem as the model recites it, greedily, from its first two characters (`[CLS]` and them) up to
    the model's `[SEP]`. Poems of similar length are batched together, prompts left-padded to one length
    (generate counts positions from each row's first token), and a batch stops one token past its longest
    poem: anything longer could not be that poem anyway."""
    order = sorted(range(len(poems)), key=lambda i: len(poems[i].text))
    texts: dict[int, str] = {}
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        prompts = [
            [tokenizer.cls_token_id, *tokenizer.encode(poems[i].opening, add_special_tokens=False).ids]
            for i in chunk
        ]
        width = max(map(len, prompts))
        ids = torch.tensor([[tokenizer.pad_token_id] * (width - len(p)) + p for p in prompts])
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
        longest = max(len(tokenizer.encode(poems[i].text, add_special_tokens=False).ids) for i in chunk)
        room = model.config.max_position_embeddings - width
        rows = model.generate(
            ids, mask, max_new_tokens=min(room, longest + 1), eos_token_id=tokenizer.sep_token_id
        )
        for i, prompt, row in zip(chunk, prompts, rows[:, width:].tolist(), strict=True):
            texts[i] = continuation(tokenizer, poems[i].opening, prompt[1:], row)
    return [texts[i] for i in range(len(poems))]


def recited_exactly(recited: str, poem: Poem) -> bool:
    """The poem's characters in order, punctuation aside."""
    return PUNCTUATION.sub("", recited) == PUNCTUATION.sub("", poem.text)
