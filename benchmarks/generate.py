"""bertkit's causal language model vs transformers' BertLMHeadModel, in one process, same weights and inputs.

    python benchmarks/generate.py generate   # greedy, 64 new tokens, batch 1 and 8 (left-padded)
    python benchmarks/generate.py train      # causal LM step, batch 32 x 128, forward+backward+AdamW
    python benchmarks/generate.py            # both

The model: 4 layers, hidden 256, 4 heads, vocabulary 3000 (the `mini` preset, a Tang-poem-sized vocabulary),
causal. Generated tokens are asserted identical to transformers' `generate` (which uses its key/value cache);
ours is also timed without the cache (`use_cache=False`) for the cache's own gain. Contenders alternate repeat
by repeat (harness.interleaved) and ratios are medians of the per-repeat ratios.
"""

import json

import harness
import torch
from harness import hf_config

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
    times = harness.interleaved(contenders, repeats, steps=1)
    result = {
        "ratio_vs_transformers": harness.speedup(times["transformers"], times["bertkit"]),
        "ratio_cpu": harness.speedup(times["transformers"], times["bertkit"], cpu=True),
        "cache_gain": harness.speedup(times["bertkit_no_cache"], times["bertkit"]),
    }
    for name, t in times.items():
        result[name] = {
            "s": t.median,
            "tokens_per_s": batch_size * new_tokens / t.median,
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
    times = harness.interleaved(contenders, repeats, steps)
    result = {
        "ratio_median": harness.speedup(times["transformers"], times["bertkit"]),
        "ratio_cpu": harness.speedup(times["transformers"], times["bertkit"], cpu=True),
    }
    for name, t in times.items():
        result[name] = {
            "s_per_step": t.median,
            "tokens_per_s": batch_size * seq_len / t.median,
        }
    return result


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("what", nargs="?", default="all", choices=["generate", "train", "all"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2, help="training steps per timed repeat")
    args = parser.parse_args()
    results = harness.Results(args)
    if args.what in ("generate", "all"):
        result = bench_generate(args.repeats)
        print(json.dumps({"generate": result}, indent=2))
        for batch, r in result.items():
            results.add(
                f"Generation: greedy, 64 new tokens, {batch.replace('_', ' ')} (`mini` causal LM)",
                f"{r['bertkit']['tokens_per_s']:.0f} tokens/s",
                f"{r['transformers']['tokens_per_s']:.0f} tokens/s (transformers generate)",
                r["ratio_vs_transformers"],
                "tokens identical",
                note=f"CPU time {r['ratio_cpu']:.2f}x; key/value cache gain {r['cache_gain']:.2f}x",
            )
    if args.what in ("train", "all"):
        result = bench_train(args.repeats, args.steps)
        print(json.dumps({"train": result}, indent=2))
        results.add(
            "Generation: causal LM training step (`mini`, 32 x 128)",
            f"{result['bertkit']['tokens_per_s']:.0f} tokens/s",
            f"{result['transformers']['tokens_per_s']:.0f} tokens/s (transformers BertLMHeadModel)",
            result["ratio_median"],
            "losses equal within 1e-5",
            note=f"CPU time {result['ratio_cpu']:.2f}x",
        )


if __name__ == "__main__":
    main()
