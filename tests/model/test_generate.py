"""Generation and the key/value cache: greedy output equal to transformers' `generate` (with and without the
cache, batch 1 and more, left padding), sinusoidal positions against a plain full-prefix loop, the sampling
filters against transformers' logits warpers, and one clear error per bad input."""

import dataclasses

import pytest
import torch

from bertkit import BertConfig, BertLMHeadModel, InvalidArgumentError
from bertkit.model.cache import KVCache
from bertkit.model.generate import next_tokens, top_k_filter, top_p_filter

transformers = pytest.importorskip("transformers")
CONFIG = BertConfig.preset("tiny", vocab_size=120, max_position_embeddings=48, causal=True)


@pytest.fixture
def twins(hf_model):
    def make(**overrides):
        cfg = dataclasses.replace(CONFIG, **overrides)
        theirs = hf_model("BertLMHeadModel", cfg)
        ours = BertLMHeadModel(cfg).eval()
        ours.load_state_dict(theirs.state_dict(), strict=True)
        return ours, theirs

    return make


def prompts(batch_size: int, length: int, pad_rows: dict[int, int] | None = None, seed: int = 0):
    """Random prompts; pad_rows {row: n} left-pads row with n [PAD]s (mask 0)."""
    ids = torch.randint(
        1, CONFIG.vocab_size, (batch_size, length), generator=torch.Generator().manual_seed(seed)
    )
    mask = torch.ones_like(ids)
    for row, n in (pad_rows or {}).items():
        mask[row, :n] = 0
        ids[row, :n] = CONFIG.pad_token_id
    return ids, mask


@pytest.mark.parametrize(
    ("batch_size", "pad_rows"), [(1, None), (4, None), (4, {1: 3, 3: 6}), (3, {0: 1, 1: 4, 2: 2})]
)
def test_greedy_equals_transformers_with_and_without_cache(twins, batch_size, pad_rows):
    ours, theirs = twins()
    ids, mask = prompts(batch_size, 8, pad_rows)
    want = theirs.generate(ids, attention_mask=mask, max_new_tokens=25, do_sample=False)
    assert want.shape == (batch_size, 33)
    for use_cache in (True, False):
        assert torch.equal(ours.generate(ids, mask, max_new_tokens=25, use_cache=use_cache), want)


def test_finished_rows_are_padded_and_generation_stops_when_all_have_finished(twins):
    ours, theirs = twins()
    ids, mask = prompts(3, 6, {2: 2})
    free = ours.generate(ids, mask, max_new_tokens=30)
    eos = int(free[0, 10])  # a token row 0 produces, so it finishes early
    want = theirs.generate(ids, attention_mask=mask, max_new_tokens=30, eos_token_id=eos, pad_token_id=0)
    got = ours.generate(ids, mask, max_new_tokens=30, eos_token_id=eos)
    assert torch.equal(got, want)
    assert torch.equal(
        ours.generate(ids, mask, max_new_tokens=30, eos_token_id=[eos, 5], use_cache=False)[0], got[0]
    )
    first_eos = (got[0, 6:] == eos).nonzero()[0, 0] + 6
    assert (got[0, first_eos + 1 :] == 0).all()  # padding after the end
    one = ours.generate(ids[:1], max_new_tokens=30, eos_token_id=eos)
    assert one.shape[1] == first_eos + 1  # a single row stops at its eos


def greedy_full_prefix(model, ids: torch.Tensor, max_new_tokens: int) -> torch.Tensor:
    """The plain loop: rerun the whole sequence for every token; no cache, no padding."""
    for _ in range(max_new_tokens):
        ids = torch.cat([ids, model(ids).logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    return ids


@pytest.mark.parametrize("position_embedding", ["sinusoidal", "learned"])
@torch.no_grad()
def test_cached_left_padded_batch_equals_each_prompt_alone(position_embedding):
    torch.manual_seed(0)
    model = BertLMHeadModel(dataclasses.replace(CONFIG, position_embedding=position_embedding)).eval()
    ids, mask = prompts(3, 9, {0: 4, 2: 1})
    batch = model.generate(ids, mask, max_new_tokens=20)
    assert torch.equal(batch, model.generate(ids, mask, max_new_tokens=20, use_cache=False))
    for row, padding in enumerate((4, 0, 1)):
        assert torch.equal(
            batch[row, padding:], greedy_full_prefix(model, ids[row : row + 1, padding:], 20)[0]
        )


@torch.no_grad()
def test_cached_forward_equals_the_full_forward(twins, close):
    ours, _ = twins()
    ids, mask = prompts(2, 12, {1: 3})
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    full = ours(ids, mask, position_ids=positions).logits
    cache = KVCache(ours.config, 2, 12)
    parts = [(0, 5), (5, 6), (6, 12)]  # a prompt, one token, then several after cached keys
    got = [
        ours(ids[:, a:b], mask[:, :b], position_ids=positions[:, a:b], cache=cache).logits for a, b in parts
    ]
    close(torch.cat(got, dim=1)[mask == 1], full[mask == 1])
    unpadded = ours(ids[:1]).logits
    cache = KVCache(ours.config, 1, 12)
    head = ours.bert(ids[:1, :4], cache=cache)
    tail = ours.bert(
        ids[:1, 4:], cache=cache, output_attentions=True
    )  # no mask: the triangle is drawn for us
    close(ours.cls.predictions(torch.cat([head.last_hidden_state, tail.last_hidden_state], 1)), unpadded)
    assert tail.attentions[0].shape == (1, 2, 8, 12)
    with pytest.raises(InvalidArgumentError, match="cache holds 12 positions"):
        ours(ids[:1, :1], cache=cache)


def test_a_cache_needs_a_causal_model():
    with pytest.raises(InvalidArgumentError, match="needs a causal model"):
        KVCache(dataclasses.replace(CONFIG, causal=False), 1, 8)


def test_filters_equal_transformers_logits_warpers():
    from transformers.generation.logits_process import (
        TemperatureLogitsWarper,
        TopKLogitsWarper,
        TopPLogitsWarper,
    )

    scores = torch.randn(6, 50, generator=torch.Generator().manual_seed(0)) * 3
    scores[0, :10] = 2.0  # ties
    for k in (1, 5, 50, 80):
        assert torch.equal(top_k_filter(scores, k), TopKLogitsWarper(k)(None, scores))
    for p in (0.05, 0.3, 0.9, 0.999, 1.0):
        assert torch.equal(top_p_filter(scores, p), TopPLogitsWarper(p)(None, scores))
    assert torch.equal(scores / 0.7, TemperatureLogitsWarper(0.7)(None, scores))


def test_sampling_is_reproducible_with_a_generator(twins):
    ours, _ = twins()
    ids, mask = prompts(2, 5, {1: 2})

    def sample(seed, **options):
        generator = torch.Generator().manual_seed(seed)
        return ours.generate(ids, mask, max_new_tokens=15, do_sample=True, generator=generator, **options)

    assert torch.equal(
        sample(1, temperature=0.8, top_k=20, top_p=0.9), sample(1, temperature=0.8, top_k=20, top_p=0.9)
    )
    assert not torch.equal(sample(1, temperature=2.0), sample(2, temperature=2.0))
    assert torch.equal(
        sample(3, top_k=1), ours.generate(ids, mask, max_new_tokens=15)
    )  # top-1 sampling is greedy
    logits = torch.tensor([[0.0, 5.0, 1.0]])
    assert next_tokens(logits, do_sample=True, top_p=1e-3).item() == 1  # the nucleus keeps the best token


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"input_ids": torch.zeros(1, 0, dtype=torch.long)}, "the prompt is empty"),
        ({"input_ids": torch.ones(1, 48, dtype=torch.long)}, r"48 tokens, and .* \(48\) leave no room"),
        (
            {"max_new_tokens": 40},
            r"plus `max_new_tokens` \(40\) is 50 positions.*lower `max_new_tokens` to 38",
        ),
        ({"max_new_tokens": 0}, "`max_new_tokens` must be at least 1"),
        ({"top_p": 0.0}, r"`top_p` must be in \(0, 1\]"),
        ({"top_p": 1.5}, r"`top_p` must be in \(0, 1\]"),
        ({"temperature": 0.0}, "`temperature` must be positive"),
        ({"temperature": -1.0}, "`temperature` must be positive"),
        ({"top_k": 0}, "`top_k` must be at least 1"),
        ({"attention_mask": torch.tensor([[1, 1, 1, 1, 1, 1, 1, 1, 1, 0]])}, "pad prompts on the left"),
        ({"attention_mask": torch.tensor([[0, 1, 1, 1, 1, 0, 1, 1, 1, 1]])}, "padding must come before"),
    ],
)
def test_bad_input_is_one_clear_error(change, message):
    model = BertLMHeadModel(CONFIG).eval()
    args = {"input_ids": torch.ones(1, 10, dtype=torch.long), "max_new_tokens": 5, "do_sample": True} | change
    with pytest.raises(InvalidArgumentError, match=message):
        model.generate(**args)
