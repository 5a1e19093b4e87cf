"""Stored names to canonical ones: prefix added, old LayerNorm names renamed, tied copies folded, buffers dropped."""

from bertkit import BertConfig, BertForMaskedLM, BertModel
from bertkit.checkpoint.names import canonical_names, head_modules, model_name, model_parameters


def test_bare_encoder_names_get_the_bert_prefix_and_current_layernorm_names():
    stored = [
        "embeddings.LayerNorm.gamma",
        "embeddings.LayerNorm.beta",
        "embeddings.position_ids",
        "pooler.dense.weight",
    ]
    assert canonical_names(stored) == {
        "bert.embeddings.LayerNorm.weight": "embeddings.LayerNorm.gamma",
        "bert.embeddings.LayerNorm.bias": "embeddings.LayerNorm.beta",
        "bert.pooler.dense.weight": "pooler.dense.weight",
    }


def test_tied_decoder_names_fold_into_the_tensors_they_copy():
    stored = [
        "bert.embeddings.word_embeddings.weight",
        "cls.predictions.decoder.weight",
        "cls.predictions.decoder.bias",
    ]
    # The decoder weight is the word embedding matrix, already stored; its bias is read from its second name.
    assert canonical_names(stored) == {
        "bert.embeddings.word_embeddings.weight": "bert.embeddings.word_embeddings.weight",
        "cls.predictions.bias": "cls.predictions.decoder.bias",
    }


def test_model_parameters_hold_each_tensor_once_under_its_canonical_name():
    cfg = BertConfig.preset("tiny", vocab_size=50, max_position_embeddings=16)
    mlm = BertForMaskedLM(cfg)
    params = model_parameters(mlm)
    assert "cls.predictions.decoder.weight" not in params and "cls.predictions.bias" in params
    assert len({id(t) for t in params.values()}) == len(params)
    assert all(name.startswith(("bert.", "cls.")) for name in params)
    bare = BertModel(cfg)
    assert model_name("bert.pooler.dense.weight", bare) == "pooler.dense.weight"
    assert model_name("bert.pooler.dense.weight", mlm) == "bert.pooler.dense.weight"


def test_head_modules():
    names = [
        "bert.pooler.dense.weight",
        "cls.predictions.bias",
        "cls.seq_relationship.weight",
        "classifier.bias",
    ]
    assert head_modules(names) == {"cls.predictions", "cls.seq_relationship", "classifier"}
