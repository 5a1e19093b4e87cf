"""Hugging Face BERT checkpoints in and out: the one package that knows Hugging Face's files and names.

    checkpoint.py  Checkpoint: a directory or Hub id opened once (config, architecture, task settings,
                   tokenizer, a lazy WeightReader), the one description every loader takes
    files.py    finding and reading weight files (WeightReader)
    names.py    stored names <-> canonical (Hugging Face task-model) names
    load.py     read_config, build_model, load_weights, load_pretrained
    save.py     unwrap_model, export_state_dict, save_pretrained
    info.py     what a directory holds: architecture, parameters, FLOPs (`bertkit info`)

All sit below the model: they take the model class or instance as an argument, so bertkit.model imports load
and save. Converting a directory (bertkit.export.convert) builds models by class name and so sits above it.
This file imports nothing, so importing one module never drags in the others.
"""
