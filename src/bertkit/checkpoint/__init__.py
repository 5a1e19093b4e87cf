"""Hugging Face BERT checkpoints in and out: the one package that knows Hugging Face's files and names.

    files.py    finding and reading weight files (WeightReader)
    names.py    stored names <-> canonical (Hugging Face task-model) names
    load.py     read_config, build_model, load_weights, load_pretrained
    save.py     unwrap_model, export_state_dict, save_pretrained
    info.py     what a directory holds: architecture, parameters, FLOPs (`bertkit info`)
    convert.py  any BERT directory to config.json + one model.safetensors (`bertkit convert`)

All but convert.py sit below the model: they take the model class or instance as an argument, so
bertkit.model imports load and save. convert.py builds models by class name and so sits above it; this file
imports nothing, so importing one module never drags in the others.
"""
