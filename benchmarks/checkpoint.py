"""Loading Hugging Face checkpoints: bertkit's from_pretrained vs transformers', in one process; prints ratios.

    python benchmarks/checkpoint.py [--repeats 5]

Checkpoints: the real all-MiniLM-L6-v2 (safetensors), and a random bert-base BertForPreTraining written by
transformers as model.safetensors and as pytorch_model.bin (what transformers 4 wrote). "load" is from_pretrained
alone; "load+read" then sums every parameter, so weights that are read lazily (memory-mapped) are paid for too
(a forward pass would do the same, but its compute would drown the loading on a busy machine). Ours and the
reference alternate repeat by repeat (harness.interleaved); medians are reported. The page cache is warm for both after the first
repeat. "peak RSS" is the maximum resident memory of a fresh process that imports both libraries, loads the
checkpoint with one of them and reads every weight (the weights themselves are ~90 MB and ~440 MB).
"""

import logging
import pathlib
import subprocess
import sys
import tempfile

import harness
import torch

import bertkit

logging.getLogger("bertkit").setLevel(logging.ERROR)


def load(cls, directory) -> None:
    cls.from_pretrained(directory)  # and dropped: the timing loop keeps outputs, a model would stay in memory


def load_and_read(cls, directory) -> float:
    return sum(p.sum().item() for p in cls.from_pretrained(directory).parameters())


def peak_rss_mb(library: str, cls_name: str, directory: pathlib.Path) -> float:
    """Peak resident memory of a child process that loads and reads the checkpoint with `library`."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", library, cls_name, str(directory)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(out.split()[-1])


def child(library: str, cls_name: str, directory: str) -> None:
    import transformers

    transformers.logging.set_verbosity_error()
    module = bertkit if library == "bertkit" else transformers
    load_and_read(getattr(module, cls_name), directory)
    # VmHWM, not ru_maxrss: a forked child's ru_maxrss starts at its parent's high-water mark.
    status = pathlib.Path("/proc/self/status").read_text()
    print(int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]) / 1024)


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        return child(*sys.argv[2:5])
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    parser = harness.parser(__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    results = harness.Results(args)
    torch.set_grad_enabled(False)

    with tempfile.TemporaryDirectory() as tmp:
        base_st, base_bin = pathlib.Path(tmp, "safetensors"), pathlib.Path(tmp, "bin")
        reference = transformers.BertForPreTraining(
            transformers.BertConfig()
        )  # bert-base shape, random weights
        reference.save_pretrained(base_st)
        reference.save_pretrained(base_bin)
        (base_bin / "model.safetensors").unlink()
        torch.save(reference.state_dict(), base_bin / "pytorch_model.bin")
        del reference
        cases = {
            "all-MiniLM-L6-v2 BertModel (safetensors)": (harness.minilm(), "BertModel"),
            "bert-base BertForPreTraining (safetensors)": (base_st, "BertForPreTraining"),
            "bert-base BertForPreTraining (pytorch_model.bin)": (base_bin, "BertForPreTraining"),
        }
        print(f"transformers {transformers.__version__}, {args.repeats} repeats, medians")
        for title, (directory, cls_name) in cases.items():
            classes = {"bertkit": getattr(bertkit, cls_name), "transformers": getattr(transformers, cls_name)}
            print(title)
            for what, fn in (("load", load), ("load+read", load_and_read)):
                times = harness.interleaved(
                    {who: (lambda cls=cls, d=directory, fn=fn: fn(cls, d)) for who, cls in classes.items()},
                    args.repeats,  # the warm-up round warms the page cache and imports
                )
                ours, theirs = times["bertkit"].median, times["transformers"].median
                ratio = harness.speedup(times["transformers"], times["bertkit"])
                print(
                    f"  {what:13s} bertkit {ours * 1000:8.1f} ms   transformers {theirs * 1000:8.1f} ms   "
                    f"speed-up {ratio:5.2f}x"
                )
                results.add(
                    f"Checkpoints: {what} {title}",
                    f"{ours * 1000:.0f} ms",
                    f"{theirs * 1000:.0f} ms (transformers from_pretrained)",
                    ratio,
                    "the same state dict (tests/checkpoint)",
                    note=f"CPU time {harness.speedup(times['transformers'], times['bertkit'], cpu=True):.2f}x",
                )
            ours, theirs = (peak_rss_mb(who, cls_name, directory) for who in classes)
            print(f"  {'peak RSS':13s} bertkit {ours:8.0f} MB   transformers {theirs:8.0f} MB")


if __name__ == "__main__":
    main()
