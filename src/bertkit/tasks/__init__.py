"""Fine-tuning tasks: their files, their model inputs and their metrics.

The data layer, in the order a run uses it:

    data = read_task_file(path, task, format=None, text_column=None, pair_column=None, label_column=None,
                          label_names=None, require_labels=True)  # -> TaskData: .examples (file order), .path, ...
    names = label_names(train_data)                # classify/tag: the names given, else sorted (index = id)
    check_labels(validation_data, label2id)        # an unseen label -> FileFormatError naming file, line, label
    features = encode(data, tokenizer, max_length=128, doc_stride=None, label2id=None)   # -> Features
    batch = collate([features.inputs[i] for i in batch_indices], tokenizer.pad_token_id)  # dict of tensors

`task` is one of TASKS (classify, regress, choice, tag, qa); examples are TextExample, ChoiceExample,
TagExample or QAExample (examples.py). Features.inputs[i] holds `input_ids`, `token_type_ids` and, when
labelled, `labels` or `start_positions`/`end_positions`, the names the model heads take; `example_index`
maps features to examples (QA windows), `word_ids` (tag) and `offsets` (qa) map predictions back to words and
characters (`word_values` gives one value per input word). Readers: readers.py (dispatch, labels), tables.py
(CSV/TSV/JSONL/Parquet/`datasets` directories), conll.py, squad_files.py; inputs: features.py, windows.py (QA
windows). settings.py: ReadingOptions (how a file is read) and TaskSettings, which a fine-tuned model keeps in
its config.json so that later reading defaults to training's.

Above the data: metrics.py and squad.py (each task's figures, equal to scikit-learn's, scipy's, seqeval's and
the official SQuAD scripts'), spans.py (the best answer span from start/end logits), models.py (which model
class a task trains, loaded from a checkpoint: a missing head created, another task's refused), inference.py (a model over features in
length-sorted batches), predictions.py (logits -> the issue's prediction records and metrics) and predict.py
(`evaluate` and `predict`, the public entry points).
"""

from bertkit.tasks.examples import (
    TASKS,
    Answer,
    ChoiceExample,
    Example,
    QAExample,
    TagExample,
    TaskData,
    TextExample,
)
from bertkit.tasks.features import Features, collate, encode, word_values
from bertkit.tasks.readers import FORMATS, check_labels, detect_format, label_names, read_task_file
from bertkit.tasks.settings import ReadingOptions, TaskSettings, saved_settings

__all__ = [
    "FORMATS",
    "TASKS",
    "Answer",
    "ChoiceExample",
    "Example",
    "Features",
    "QAExample",
    "ReadingOptions",
    "TagExample",
    "TaskData",
    "TaskSettings",
    "TextExample",
    "check_labels",
    "collate",
    "detect_format",
    "encode",
    "label_names",
    "read_task_file",
    "saved_settings",
    "word_values",
]
