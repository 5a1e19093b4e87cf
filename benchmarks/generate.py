"""bertkit's causal language model vs transformers' BertLMHeadModel, in one process, same weights and inputs.

    .venv/bin/python benchmarks/generate.py generate   # greedy, 64 new tokens, batch 1 and 8 (left-padded)
    .venv/bin/python benchmarks/generate.py train      # causal LM step, batch 32 x 128, forward+backward+AdamW
    .venv/bin/python benchmarks/generate.py            # both

The model: 4 layers, hidden 256, 4 heads, vocabulary 3000 (the `mini` preset, a Tang-poem-sized vocabulary),
causal. Generated tokens are asserted identical to transformers' `generate` (which uses its key/value cache);
ours is also timed without the cache (`use_cache=False`) for the cache's own gain. As in benchmarks/model.py,
contenders alternate repeat by repeat and ratios are medians of the per-repeat ratios.
"""

import argparse
import json
import os
import statistics

import torch
from model import hf_config, interleaved, median_ratio

from bertkit import BertConfig, BertLMHeadModel

CONFIG = BertConfig.preset("mini", vocab_size=3000, causal=True)


def twins(train: bool):
    """Our model and transformers', with the same weights."""
    import transformers

    torch.manual_seed(0)
    theirs = transformers.BertLMHeadModel(hf_config(CONFIG)).train(train)
    ours = BertLMHeadModel(CONFIG).train(train)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def prompts(batch_size: int, length: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random prompts of `length` tokens; in a batch, row i has i fewer real tokens, padded on the left."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, CONFIG.vocab_size, (batch_size, length), generator=g)
    mask = torch.ones_like(ids)
    for i in range(batch_size):
        mask[i, :i] = 0
    return ids.masked_fill(mask == 0, CONFIG.pad_token_id), mask


def bench_generate(repeats: int, new_tokens: int = 64, prompt_len: int = 16) -> dict:
    ours, theirs = twins(train=False)
    return {f"batch_{b}": generation_speed(ours, theirs, b, repeats, new_tokens, prompt_len) for b in (1, 8)}


def generation_speed(ours, theirs, batch_size: int, repeats: int, new_tokens: int, prompt_len: int) -> dict:
    ids, mask = prompts(batch_size, prompt_len)

    def reference():
        return theirs.generate(ids, attention_mask=mask, max_new_tokens=new_tokens, do_sample=False)

    want = reference()
    for use_cache in (True, False):
        got = ours.generate(ids, mask, max_new_tokens=new_tokens, use_cache=use_cache)
        assert torch.equal(got, want), f"batch {batch_size}, use_cache={use_cache}: tokens differ"
    contenders = {
        "transformers": reference,
        "bertkit": lambda: ours.generate(ids, mask, max_new_tokens=new_tokens),
        "bertkit_no_cache": lambda: ours.generate(ids, mask, max_new_tokens=new_tokens, use_cache=False),
    }
    times = interleaved(contenders, repeats, steps=1)
    result = {
        "ratio_vs_transformers": median_ratio(times["transformers"], times["bertkit"]),
        "cache_gain": median_ratio(times["bertkit_no_cache"], times["bertkit"]),
    }
    for name, t in times.items():
        result[name] = {
            "s": statistics.median(t),
            "tokens_per_s": batch_size * new_tokens / statistics.median(t),
        }
    return result


def bench_train(repeats: int, steps: int, batch_size: int = 32, seq_len: int = 128) -> dict:
    ours, theirs = twins(train=True)
    ids = torch.randint(
        5, CONFIG.vocab_size, (batch_size, seq_len), generator=torch.Generator().manual_seed(0)
    )
    with torch.no_grad():  # the same loss, dropout aside
        difference = (ours.eval()(ids, labels=ids).loss - theirs.eval()(input_ids=ids, labels=ids).loss).abs()
        assert difference < 1e-5, difference
    ours.train(), theirs.train()

    def step(model, optimizer, reference: bool):
        def run():
            loss = model(input_ids=ids, labels=ids).loss if reference else model(ids, labels=ids).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        return run

    contenders = {
        "bertkit": step(ours, torch.optim.AdamW(ours.parameters(), lr=1e-4, fused=True), False),
        # What a transformers user gets by default: torch's AdamW with its default settings.
        "transformers": step(theirs, torch.optim.AdamW(theirs.parameters(), lr=1e-4), True),
    }
    times = interleaved(contenders, repeats, steps)
    result = {"ratio_median": median_ratio(times["transformers"], times["bertkit"])}
    for name, t in times.items():
        result[name] = {
            "s_per_step": statistics.median(t),
            "tokens_per_s": batch_size * seq_len / statistics.median(t),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", nargs="?", default="all", choices=["generate", "train", "all"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2, help="training steps per timed repeat")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: one per core)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    results = {}
    if args.what in ("generate", "all"):
        results["generate"] = bench_generate(args.repeats)
    if args.what in ("train", "all"):
        results["train"] = bench_train(args.repeats, args.steps)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
