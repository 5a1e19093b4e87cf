"""Next-sentence-prediction instances, built as Google's `create_instances_from_document` builds them.

Within each document, contiguous sentences are packed into a chunk until it reaches a target length
(`max_seq_length - 3`, or with probability `short_seq_prob` a random shorter one, so the model also sees
short inputs). A random prefix of the chunk becomes segment A. Half the time segment B is the rest of the
chunk (the true continuation, label 0); otherwise B is a span starting at a random sentence of another
document (label 1) and the unused sentences of the chunk go back into the stream. The pair is then cut to
fit by trimming the longer segment, one token at a time from a random end.

Planning works on sentence lengths only and returns sentence ranges, so an epoch's whole plan is a small
integer array; token ids are fetched and truncated per instance when a batch is made. Two differences from
Google, both deliberate: the short target is drawn per instance (Google draws it once per document, so 10% of
documents, not of instances, came out short), and a corpus of a single document takes its random segments
from about half the document away instead of from another document.

`negatives="matched"` samples pairs whose two kinds cannot be told apart by form. Google's random B starts at
any sentence of any document, so in a corpus that mixes kinds of text (poems' lines and documents of one
clause each) the head can learn the kind of B instead of whether it follows A. Matched, a random B starts at a
sentence exactly as long (in tokens) as the one that truly follows A, in another document of at least two
sentences (the kind of document true pairs come from); and a chunk of one sentence, which has no next
sentence, keeps a random B for the masked LM but no NSP label (IGNORE_INDEX) instead of always being "random".
A random B is as long as the true B would have been, not as the room left in the input.

`pairs="sentences"` asks a next sentence of every sentence instead of chunking: each sentence of a document is
segment A of one instance, and B is the next sentence (half the time) or one random sentence; a document's
last sentence has no next, so its B is always random (RoBERTa's SENTENCE-PAIR inputs). Every two neighbours
are asked about, every sentence starts an input, and `short_seq_prob` is unused: an input is as long as its
two sentences.
"""

from __future__ import annotations

import numpy as np

from bertkit.checks import check_choice
from bertkit.constants import IGNORE_INDEX
from bertkit.errors import TrainingError
from bertkit.tokenizer.template import pair_template

# Columns of a plan: segment A is sentences [A_START, A_END), B is [B_START, B_END) in the corpus's sentence
# numbering; IS_RANDOM_NEXT is the NSP label (1 when B does not follow A; IGNORE_INDEX when none is asked).
A_START, A_END, B_START, B_END, IS_RANDOM_NEXT = range(5)
NEGATIVES = ("google", "matched")  # how a random segment B is drawn (see above)
PAIRS = ("segments", "sentences")  # what segments A and B are: chunks of sentences, or one sentence each
SPECIAL_TOKENS_PER_PAIR = pair_template(0, 0).length  # [CLS] A [SEP] B [SEP]


def plan_instances(
    sentence_lengths: np.ndarray,
    document_offsets: np.ndarray,
    max_seq_length: int,
    short_seq_prob: float,
    rng: np.random.Generator,
    negatives: str = "google",
    pairs: str = "segments",
) -> np.ndarray:
    """The NSP instances of one pass over the corpus, as an (N, 5) int64 array of sentence ranges and labels.

    `sentence_lengths[s]` is the token count of sentence s; document d is sentences
    `document_offsets[d]:document_offsets[d + 1]`. Instances come out in document order; shuffle them after.
    `negatives` is one of NEGATIVES: Google's random segments, or ones matched to the true pairs' form;
    `pairs` one of PAIRS: Google's chunks of sentences, or every sentence with its next one.
    """
    check_choice("`negatives`", negatives, NEGATIVES)
    check_choice("`pairs`", pairs, PAIRS)
    num_documents = len(document_offsets) - 1
    if num_documents < 1:
        raise TrainingError("the corpus has no documents to build pre-training instances from")
    if num_documents == 1 and document_offsets[1] - document_offsets[0] < 4:
        raise TrainingError(
            "the corpus is a single document of fewer than 4 sentences: next-sentence prediction needs "
            "segments from elsewhere; add documents (blank lines separate them) or more sentences"
        )
    max_num_tokens = max_seq_length - SPECIAL_TOKENS_PER_PAIR
    lengths = sentence_lengths.tolist()
    offsets = document_offsets.tolist()
    same_length = _SameLength(sentence_lengths, document_offsets) if negatives == "matched" else None
    plan: list[tuple[int, int, int, int, int]] = []
    for doc in range(num_documents):
        if pairs == "sentences":
            plan += _sentence_pairs(lengths, offsets, doc, rng, same_length)
            continue
        doc_start, doc_end = offsets[doc], offsets[doc + 1]
        target = _target_length(max_num_tokens, short_seq_prob, rng)
        chunk_start, chunk_length = doc_start, 0
        s = doc_start
        while s < doc_end:
            chunk_length += lengths[s]
            if s == doc_end - 1 or chunk_length >= target:
                chunk_end = s + 1
                a_end = chunk_start + 1
                if chunk_end - chunk_start >= 2:
                    a_end = chunk_start + int(rng.integers(1, chunk_end - chunk_start))
                if chunk_end - chunk_start == 1 or rng.random() < 0.5:
                    b_length = target - sum(lengths[chunk_start:a_end])
                    has_next = chunk_end - chunk_start > 1
                    start = same_length.draw(lengths[a_end], doc, rng) if same_length and has_next else None
                    if start is None:
                        b_start, b_end = _random_span(lengths, offsets, doc, chunk_start, b_length, rng)
                    else:  # as long as the true B, not as the room left: a longer B would give it away
                        true_b_length = sum(lengths[a_end:chunk_end])
                        b_end = _span_end(lengths, start, same_length.end_of_doc(start), true_b_length)
                        b_start = start
                    label = 1 if same_length is None or has_next else IGNORE_INDEX
                    plan.append((chunk_start, a_end, b_start, b_end, label))
                    s = a_end - 1  # the chunk's unused sentences start the next chunk
                else:
                    plan.append((chunk_start, a_end, a_end, chunk_end, 0))
                chunk_start, chunk_length = s + 1, 0
                target = _target_length(max_num_tokens, short_seq_prob, rng)
            s += 1
    return np.array(plan, dtype=np.int64).reshape(-1, 5)


def _sentence_pairs(
    lengths: list[int],
    offsets: list[int],
    doc: int,
    rng: np.random.Generator,
    same_length: _SameLength | None,
) -> list[tuple[int, int, int, int, int]]:
    """Each sentence of document `doc` as segment A; B is the next sentence (label 0) or a random sentence
    (label 1; for the last sentence with matched negatives, IGNORE_INDEX: it has no next sentence)."""
    rows = []
    doc_end = offsets[doc + 1]
    for s in range(offsets[doc], doc_end):
        has_next = s + 1 < doc_end
        if has_next and rng.random() < 0.5:
            rows.append((s, s + 1, s + 1, s + 2, 0))
            continue
        start = same_length.draw(lengths[s + 1], doc, rng) if same_length and has_next else None
        if start is None:
            start, _ = _random_span(lengths, offsets, doc, s, 1, rng)
        rows.append((s, s + 1, start, start + 1, 1 if same_length is None or has_next else IGNORE_INDEX))
    return rows


def _target_length(max_num_tokens: int, short_seq_prob: float, rng: np.random.Generator) -> int:
    if rng.random() < short_seq_prob:
        return int(rng.integers(2, max_num_tokens + 1))
    return max_num_tokens


def _random_span(
    lengths: list[int],
    offsets: list[int],
    doc: int,
    chunk_start: int,
    target_b_length: int,
    rng: np.random.Generator,
) -> tuple[int, int]:
    """Sentences [start, end) of a random segment B: from a random sentence of another document onwards,
    until `target_b_length` tokens or the document's end."""
    num_documents = len(offsets) - 1
    if num_documents > 1:
        other = int(rng.integers(num_documents - 1))
        other += other >= doc
        start = int(rng.integers(offsets[other], offsets[other + 1]))
        end_of_doc = offsets[other + 1]
    else:
        # One document: start about half the document away from segment A, wrapping around.
        n = offsets[1] - offsets[0]
        shift = n // 2 + int(rng.integers(-(n // 4), n // 4 + 1))
        start = offsets[0] + (chunk_start - offsets[0] + shift) % n
        end_of_doc = offsets[1]
    return start, _span_end(lengths, start, end_of_doc, target_b_length)


def _span_end(lengths: list[int], start: int, end_of_doc: int, target_b_length: int) -> int:
    """Where a segment starting at sentence `start` ends: once it holds `target_b_length` tokens, or at the
    document's end."""
    end, length = start, 0
    while end < end_of_doc:
        length += lengths[end]
        end += 1
        if length >= target_b_length:
            break
    return end


class _SameLength:
    """Random sentences of a given length in documents of at least two sentences, for matched negatives."""

    def __init__(self, sentence_lengths: np.ndarray, document_offsets: np.ndarray) -> None:
        self.offsets, sizes = document_offsets, np.diff(document_offsets)
        self.doc = np.repeat(np.arange(len(sizes)), sizes)  # each sentence's document
        candidates = np.flatnonzero(sizes[self.doc] >= 2)
        self.order = candidates[np.argsort(sentence_lengths[candidates], kind="stable")]
        self.sorted_lengths = sentence_lengths[self.order]

    def end_of_doc(self, sentence: int) -> int:
        return int(self.offsets[self.doc[sentence] + 1])

    def draw(self, length: int, doc: int, rng: np.random.Generator) -> int | None:
        """A sentence of `length` tokens outside document `doc`; of the nearest length if none is that long;
        None when every candidate is in `doc`."""
        lo, hi = np.searchsorted(self.sorted_lengths, [length, length + 1])
        for _ in range(8 if hi > lo else 0):  # a few draws nearly always land in another document
            if self.doc[s := int(self.order[rng.integers(lo, hi)])] != doc:
                return s
        others = self.order[self.doc[self.order] != doc]
        if len(others) == 0:
            return None
        gaps = np.abs(self.sorted_lengths[self.doc[self.order] != doc] - length)
        return int(rng.choice(others[gaps == gaps.min()]))


def truncate_seq_pair(
    a: np.ndarray, b: np.ndarray, max_num_tokens: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Cut the pair to `max_num_tokens` as Google does: always trim the longer segment (B on ties), one
    token at a time from its front or back with even odds.

    Which segment loses how many tokens does not depend on the coin flips, so this computes those counts
    and draws each segment's front/back split as one binomial: the same distribution, without the loop.
    """
    excess = len(a) + len(b) - max_num_tokens
    if excess <= 0:
        return a, b
    gap = min(abs(len(a) - len(b)), excess)
    from_a = gap if len(a) > len(b) else 0
    from_b = gap - from_a
    rest = excess - gap  # now equal lengths: B, A, B, A, ...
    from_b += (rest + 1) // 2
    from_a += rest // 2
    return _trim(a, from_a, rng), _trim(b, from_b, rng)


def _trim(tokens: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    if count == 0:
        return tokens
    front = int(rng.binomial(count, 0.5))
    return tokens[front : len(tokens) - (count - front)]
