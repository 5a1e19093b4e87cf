import json

import pytest

from bertkit import BertConfig, InvalidArgumentError
from bertkit.config import PRESETS
from bertkit.errors import FileFormatError


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_match_google_release(name):
    cfg = BertConfig.preset(name)
    layers, hidden, heads = PRESETS[name]
    assert (cfg.num_hidden_layers, cfg.hidden_size, cfg.num_attention_heads) == (layers, hidden, heads)
    assert cfg.intermediate_size == 4 * hidden
    assert (cfg.vocab_size, cfg.max_position_embeddings, cfg.type_vocab_size) == (30522, 512, 2)
    assert (cfg.hidden_dropout_prob, cfg.layer_norm_eps, cfg.hidden_act) == (0.1, 1e-12, "gelu")


def test_base_and_large_sizes():
    assert BertConfig.preset("base").intermediate_size == 3072
    assert BertConfig.preset("large").intermediate_size == 4096
    assert BertConfig.preset("tiny", vocab_size=100).vocab_size == 100


def test_unknown_preset_and_bad_fields():
    with pytest.raises(InvalidArgumentError, match="preset 'huge'"):
        BertConfig.preset("huge")
    with pytest.raises(InvalidArgumentError, match="divisible by num_attention_heads"):
        BertConfig(hidden_size=100, num_attention_heads=3)
    with pytest.raises(InvalidArgumentError, match="hidden_act"):
        BertConfig(hidden_act="swishy")
    with pytest.raises(InvalidArgumentError, match="position_embedding"):
        BertConfig(position_embedding="rotary")
    with pytest.raises(InvalidArgumentError, match="num_hidden_layers"):
        BertConfig(num_hidden_layers=0)
    with pytest.raises(InvalidArgumentError, match="hidden_dropout_prob"):
        BertConfig(hidden_dropout_prob=1.5)


def test_json_round_trip(tmp_path):
    cfg = BertConfig.preset(
        "mini",
        position_embedding="sinusoidal",
        causal=True,
        num_labels=3,
        problem_type="multi_label_classification",
    )
    path = tmp_path / "config.json"
    cfg.to_json_file(path)
    assert BertConfig.from_json_file(path) == cfg
    assert BertConfig.from_dict(cfg.to_dict()) == cfg


def test_reads_hugging_face_config(tmp_path):
    transformers = pytest.importorskip("transformers")
    hf = transformers.BertConfig(
        hidden_size=64,
        num_hidden_layers=3,
        num_attention_heads=4,
        intermediate_size=99,
        num_labels=5,
        hidden_act="gelu_new",
        classifier_dropout=0.3,
    )
    hf.architectures = ["BertForSequenceClassification"]
    hf.save_pretrained(tmp_path)
    cfg = BertConfig.from_json_file(tmp_path / "config.json")
    assert (cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads, cfg.intermediate_size) == (
        64,
        3,
        4,
        99,
    )
    assert (cfg.num_labels, cfg.hidden_act, cfg.classifier_dropout) == (5, "gelu_new", 0.3)
    assert cfg.id2label is None  # generated LABEL_i names carry nothing beyond num_labels
    # ... and Hugging Face reads ours back to the same network.
    cfg.to_json_file(tmp_path / "config.json")
    back = transformers.BertConfig.from_pretrained(tmp_path)
    assert (back.hidden_size, back.num_labels, back.intermediate_size, back.model_type) == (64, 5, 99, "bert")


def test_label_names_round_trip(tmp_path):
    cfg = BertConfig.preset("tiny", id2label={0: "neg", 1: "neutral", 2: "pos"})
    assert cfg.num_labels == 3
    cfg.to_json_file(tmp_path / "config.json")
    back = BertConfig.from_json_file(tmp_path / "config.json")
    assert back.id2label == {0: "neg", 1: "neutral", 2: "pos"}
    assert back.label2id == {"neg": 0, "neutral": 1, "pos": 2}
    with pytest.raises(InvalidArgumentError, match="disagrees with id2label"):
        BertConfig(num_labels=5, id2label={0: "neg", 1: "neutral", 2: "pos"})


def test_unknown_keys_kept_bookkeeping_dropped():
    cfg = BertConfig.from_dict(
        {
            "hidden_size": 64,
            "num_attention_heads": 4,
            "my_note": "keep me",
            "transformers_version": "4.0",
            "architectures": ["BertModel"],
        }
    )
    assert cfg.extra == {"my_note": "keep me"}
    assert cfg.to_dict()["my_note"] == "keep me"
    assert "transformers_version" not in cfg.to_dict()


def test_unsupported_hf_variants_are_refused():
    with pytest.raises(InvalidArgumentError, match="relative_key"):
        BertConfig.from_dict({"position_embedding_type": "relative_key"})
    with pytest.raises(InvalidArgumentError, match="roberta"):
        BertConfig.from_dict({"model_type": "roberta"})


def test_bad_json_file(tmp_path):
    with pytest.raises(FileFormatError, match="no such config"):
        BertConfig.from_json_file(tmp_path / "missing.json")
    bad = tmp_path / "config.json"
    bad.write_text("{not json")
    with pytest.raises(FileFormatError, match="config.json"):
        BertConfig.from_json_file(bad)
    bad.write_text(json.dumps({"hidden_size": 100, "num_attention_heads": 3}))
    with pytest.raises(FileFormatError, match="divisible"):
        BertConfig.from_json_file(bad)


def test_classifier_pooling_is_checked_and_written_only_when_mean(tmp_path):
    with pytest.raises(InvalidArgumentError, match=r"BertConfig.classifier_pooling must be one of cls, mean"):
        BertConfig(classifier_pooling="max")
    # "cls", the default, is Hugging Face's head: config.json holds exactly the keys it held before the field.
    assert "classifier_pooling" not in BertConfig().to_dict()
    mean = BertConfig.preset("tiny", classifier_pooling="mean")
    assert mean.to_dict()["classifier_pooling"] == "mean"
    mean.to_json_file(tmp_path / "config.json")
    assert BertConfig.from_json_file(tmp_path / "config.json") == mean
    (tmp_path / "config.json").write_text(json.dumps(mean.to_dict() | {"classifier_pooling": "max"}))
    with pytest.raises(FileFormatError, match="config.json: BertConfig.classifier_pooling must be one of"):
        BertConfig.from_json_file(tmp_path / "config.json")
