"""The explorer loads its checkpoint once: every endpoint's pipeline runs the same model in memory."""

import pytest
import torch

from bertkit import BertConfig, BertForPreTraining, BertModel, WordPieceTokenizer
from bertkit.serve import Explorer

from .conftest import vocabulary


def storage(module: torch.nn.Module) -> set[int]:
    """Where each parameter's numbers live: two modules holding the same tensors give the same set."""
    return {p.data_ptr() for p in module.parameters()}


@pytest.mark.parametrize("checkpoint, head", [("mlm_dir", "fill-mask"), ("classifier_dir", "classify")])
def test_every_endpoint_runs_the_one_model(request, checkpoint, head):
    explorer = Explorer(request.getfixturevalue(checkpoint))
    model = explorer.model
    assert explorer.heads[head].model is model and explorer.embedder.model is model.bert
    pipelines = [explorer.embedder, *explorer.heads.values()]
    assert set().union(*(storage(p.model) for p in pipelines)) == storage(model)
    assert explorer.tokenizer is explorer.embedder.tokenizer is explorer.heads[head].tokenizer


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny checkpoint of `cls`, saved with the explorer tests' vocabulary."""

    def save(cls):
        tokenizer = WordPieceTokenizer(vocabulary(), lowercase=True)
        torch.manual_seed(2)
        directory = tmp_path_factory.mktemp(cls.__name__)
        cls(BertConfig.preset("tiny", vocab_size=len(tokenizer))).save_pretrained(
            directory, tokenizer=tokenizer
        )
        return directory

    return save


def test_a_pretraining_checkpoint_is_loaded_as_it_was_saved(saved):
    directory = saved(BertForPreTraining)
    explorer = Explorer(directory)
    assert type(explorer.model) is BertForPreTraining and explorer.heads["fill-mask"].model is explorer.model
    assert explorer.fill_mask(["床前明[MASK]光"], top_k=2)[0][0][0]["token_str"]
    assert explorer.unavailable["classify"] == (
        f"{directory}: `model` is a BertForPreTraining, which has no head for 'text-classification'; that task "
        "needs one of: BertForSequenceClassification"
    )


def test_a_checkpoint_without_a_head_is_its_bare_encoder(saved):
    explorer = Explorer(saved(BertModel))
    assert type(explorer.model) is BertModel and explorer.model.pooler is None  # no endpoint reads the pooler
    assert explorer.embedder.model is explorer.model and not explorer.heads
    assert set(explorer.unavailable) == {"fill-mask", "classify", "recite", "next-token", "score"}
    assert len(explorer.embed([["the moon", "床"]])[0]) == 2
