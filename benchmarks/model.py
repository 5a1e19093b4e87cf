"""bertkit's model vs transformers, in one process, on the same inputs and weights; prints ratios.

    python benchmarks/model.py train    # pre-training step, `small` preset, seq 128, batch 32, 15% masked
    python benchmarks/model.py infer    # all-MiniLM-L6-v2 on real variable-length sentences
    python benchmarks/model.py memory   # peak RSS of the training step, one subprocess per model
    python benchmarks/model.py all

Timings interleave ours and the reference repeat by repeat (harness.interleaved: the machine is shared), and
report the median of the per-repeat ratios.
"""

import argparse
import json
import os
import resource
import subprocess
import sys

import harness
import torch
from harness import hf_config

from bertkit import BertConfig, BertForPreTraining, BertModel

# --- pre-training step ---------------------------------------------------------------------------


def pretraining_batch(cfg: BertConfig, batch_size: int, seq_len: int, mask_prob: float, seed: int = 0):
    """Full-length sentence pairs (as Google's packed instances are) with `mask_prob` of tokens to predict."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1000, cfg.vocab_size, (batch_size, seq_len), generator=g)
    types = torch.zeros_like(ids)
    types[:, seq_len // 2 :] = 1
    mask = torch.ones_like(ids)
    labels = torch.where(torch.rand(ids.shape, generator=g) < mask_prob, ids, -100)
    nsp = torch.randint(0, 2, (batch_size,), generator=g)
    return ids, mask, types, labels, nsp


def make_step(model, optimizer, batch, reference: bool):
    ids, mask, types, labels, nsp = batch

    def step():
        if reference:
            loss = model(
                input_ids=ids,
                attention_mask=mask,
                token_type_ids=types,
                labels=labels,
                next_sentence_label=nsp,
            ).loss
        else:
            loss = model(ids, mask, types, labels=labels, next_sentence_label=nsp).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def training_flops(cfg: BertConfig, batch) -> float:
    """FLOPs a pre-training step needs (forward x3 for backward): encoder, MLM head at the masked positions, NSP."""
    ids, _, _, labels, _ = batch
    B, T = ids.shape
    n_masked = int((labels != -100).sum())
    h, v = cfg.hidden_size, cfg.vocab_size
    forward = (
        B * T * cfg.forward_flops_per_token(T) + n_masked * 2 * (h * h + h * v) + B * 2 * (h * h + 2 * h)
    )
    return 3 * forward


def big_matmul(n: int = 2048):
    """An n x n fp32 product, timed beside the steps: the machine's matmul throughput is the MFU denominator."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    return lambda: [torch.mm(a, b) for _ in range(4)], 4 * 2 * n**3


def bench_train(
    repeats: int, steps: int, preset: str = "small", batch_size: int = 32, seq_len: int = 128
) -> dict:
    import transformers

    cfg = BertConfig.preset(preset)
    batch = pretraining_batch(cfg, batch_size, seq_len, mask_prob=0.15)
    torch.manual_seed(0)
    theirs = transformers.BertForPreTraining(hf_config(cfg)).train()
    ours = BertForPreTraining(cfg).train()
    ours.load_state_dict(theirs.state_dict())
    matmul, matmul_flops = big_matmul()
    contenders = {
        "bertkit": make_step(ours, torch.optim.AdamW(ours.parameters(), lr=1e-4, fused=True), batch, False),
        # What a transformers user gets by default: torch's AdamW with its default (per-tensor loop on CPU).
        "transformers": make_step(theirs, torch.optim.AdamW(theirs.parameters(), lr=1e-4), batch, True),
        "matmul": matmul,
    }
    times = harness.interleaved(contenders, repeats, steps)
    peak = matmul_flops / min(times.pop("matmul").wall)
    flops = training_flops(cfg, batch)
    tokens = batch_size * seq_len
    result = {
        "preset": preset,
        "batch_size": batch_size,
        "seq_len": seq_len,
        "matmul_gflops": peak / 1e9,
        "step_gflops": flops / 1e9,
        "ratio_median": harness.speedup(times["transformers"], times["bertkit"]),
        "ratio_cpu": harness.speedup(times["transformers"], times["bertkit"], cpu=True),
    }
    for name, t in times.items():
        s = t.median
        result[name] = {"s_per_step": s, "tokens_per_s": tokens / s, "mfu": flops / s / peak}
    return result


# --- inference -----------------------------------------------------------------------------------


def real_sentences(count: int) -> list[str]:
    """Fortunes from the bundled English corpus, one document each: lengths from a few words to paragraphs."""
    return [harness.one_line(d) for d in harness.read_documents(harness.DATA / "fortunes_en.txt")][:count]


def pad(rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    T = max(len(r) for r in rows)
    ids = torch.zeros(len(rows), T, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
    return ids, (ids != 0).long()


def bench_infer(repeats: int, count: int = 512, batch_size: int = 64, max_len: int = 128) -> dict:
    import tokenizers
    import transformers

    tok = tokenizers.Tokenizer.from_file(str(harness.minilm() / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_len)
    rows = [e.ids for e in tok.encode_batch(real_sentences(count))]
    # The usual way: batches in corpus order, each padded to its longest sentence; the same tensors for both.
    # Bucketing gets the whole padded set and the same memory bound (batch_size * max_len tokens a call).
    batches = [pad(rows[i : i + batch_size]) for i in range(0, len(rows), batch_size)]
    everything = pad(rows)
    theirs = transformers.BertModel.from_pretrained(harness.minilm()).eval()
    ours = BertModel(BertConfig.from_json_file(harness.minilm() / "config.json")).eval()
    ours.load_state_dict(theirs.state_dict())

    with torch.inference_mode():
        reference = [theirs(input_ids=ids, attention_mask=m).last_hidden_state for ids, m in batches]
        padded = [ours(ids, m).last_hidden_state for ids, m in batches]
        bucketed = ours.encode_bucketed(*everything, max_tokens=batch_size * max_len).last_hidden_state
        # Padded: every position, padding included, as transformers computes it.
        worst_padded = max((a - b).abs().max().item() for a, b in zip(padded, reference, strict=True))
        offset, worst_bucketed = 0, 0.0
        for ref, (_, m) in zip(reference, batches, strict=True):
            mine = bucketed[offset : offset + len(m), : m.shape[1]]
            worst_bucketed = max(worst_bucketed, (mine - ref)[m.bool()].abs().max().item())
            offset += len(m)
        assert worst_padded < 1e-4 and worst_bucketed < 1e-4, (worst_padded, worst_bucketed)

        contenders = {
            "transformers": lambda: [theirs(input_ids=ids, attention_mask=m) for ids, m in batches],
            "bertkit_padded": lambda: [ours(ids, m) for ids, m in batches],
            "bertkit_bucketed": lambda: ours.encode_bucketed(*everything, max_tokens=batch_size * max_len),
        }
        times = harness.interleaved(contenders, repeats, steps=1)
    tokens = sum(len(r) for r in rows)
    padded_tokens = sum(ids.numel() for ids, _ in batches)
    result = {
        "sentences": len(rows),
        "batch_size": batch_size,
        "real_tokens": tokens,
        "padded_tokens": padded_tokens,
        "max_abs_diff_padded": worst_padded,
        "max_abs_diff_bucketed": worst_bucketed,
        "ratio_padded": harness.speedup(times["transformers"], times["bertkit_padded"]),
        "ratio_bucketed": harness.speedup(times["transformers"], times["bertkit_bucketed"]),
        "ratio_padded_cpu": harness.speedup(times["transformers"], times["bertkit_padded"], cpu=True),
        "ratio_bucketed_cpu": harness.speedup(times["transformers"], times["bertkit_bucketed"], cpu=True),
    }
    for name, t in times.items():
        result[name] = {"s": t.median, "sentences_per_s": len(rows) / t.median}
    return result


# --- memory --------------------------------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure_memory(which: str, preset: str = "small", batch_size: int = 32, seq_len: int = 128) -> dict:
    """Run in a fresh process: RSS before the first step (model, batch, imports) and the peak after two steps."""
    cfg = BertConfig.preset(preset)
    batch = pretraining_batch(cfg, batch_size, seq_len, mask_prob=0.15)
    if which == "transformers":
        import transformers

        model = transformers.BertForPreTraining(hf_config(cfg)).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    else:
        model = BertForPreTraining(cfg).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    step = make_step(model, optimizer, batch, reference=which == "transformers")
    before = rss_bytes()
    step()
    step()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    return {
        "rss_before_step_mib": before / 2**20,
        "peak_rss_mib": peak / 2**20,
        "step_peak_mib": (peak - before) / 2**20,
    }


def bench_memory() -> dict:
    out = {}
    for which in ("bertkit", "transformers"):
        proc = subprocess.run(
            [sys.executable, __file__, "_memory", which], capture_output=True, text=True, check=True
        )
        out[which] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def record(results: harness.Results, what: str, result: dict) -> None:
    if what == "train":
        ours, theirs = result["bertkit"], result["transformers"]
        results.add(
            "Model: pre-training step (`small`, 32 x 128, MLM + NSP, AdamW)",
            f"{ours['tokens_per_s']:.0f} tokens/s (MFU {ours['mfu']:.2f})",
            f"{theirs['tokens_per_s']:.0f} tokens/s (transformers BertForPreTraining)",
            result["ratio_median"],
            "same weights and batch",
            note=f"CPU time {result['ratio_cpu']:.2f}x",
        )
    elif what == "infer":
        for kind in ("padded", "bucketed"):
            ours, theirs = result[f"bertkit_{kind}"], result["transformers"]
            results.add(
                f"Model: MiniLM inference on real sentences, {kind}",
                f"{ours['sentences_per_s']:.1f} sentences/s",
                f"{theirs['sentences_per_s']:.1f} sentences/s (transformers BertModel, padded)",
                result[f"ratio_{kind}"],
                f"max abs diff {result[f'max_abs_diff_{kind}']:.1e}",
                note=f"{result['sentences']} fortunes, batches of {result['batch_size']}; "
                f"CPU time {result[f'ratio_{kind}_cpu']:.2f}x",
            )
    else:
        ours, theirs = result["bertkit"]["step_peak_mib"], result["transformers"]["step_peak_mib"]
        results.add(
            "Model: memory of the pre-training step (`small`, peak RSS above the model's)",
            f"{ours:.0f} MiB",
            f"{theirs:.0f} MiB (transformers)",
            theirs / ours,
            "same step; ratio = how many times less memory",
        )


def main() -> None:
    parser = harness.parser(__doc__)
    parser.add_argument("what", choices=["train", "infer", "memory", "all", "_memory"])
    parser.add_argument("which", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2, help="training steps per timed repeat")
    parser.add_argument("--sentences", type=int, default=512, help="sentences for `infer`")
    args = parser.parse_args()
    if args.what == "_memory":
        print(json.dumps(measure_memory(args.which)))
        return
    results = harness.Results(args)
    benches = {
        "train": lambda: bench_train(args.repeats, args.steps),
        "infer": lambda: bench_infer(args.repeats, args.sentences),
        "memory": bench_memory,
    }
    for what, bench in benches.items():
        if args.what in (what, "all"):
            result = bench()
            print(json.dumps({what: result}, indent=2))
            record(results, what, result)


if __name__ == "__main__":
    main()
