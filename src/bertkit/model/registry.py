"""bertkit's models by Hugging Face class name: what config.json's `architectures` (Checkpoint.architecture)
names, as the class that loads it."""

from bertkit.model import heads
from bertkit.model.bert import BertModel, BertPreTrainedModel

# The bare encoder, and every public model class heads.py defines (BertForPreTraining, ..., BertLMHeadModel).
MODEL_CLASSES: dict[str, type[BertPreTrainedModel]] = {"BertModel": BertModel} | {
    name: cls
    for name, cls in vars(heads).items()
    if isinstance(cls, type)
    and issubclass(cls, BertPreTrainedModel)
    and cls.__module__ == heads.__name__
    and not name.startswith("_")
}
