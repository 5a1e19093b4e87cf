"""Training: one loop (loop.py) for every objective (objective.py; the pre-training ones, MLM + NSP and a
causal LM, in pretraining.py), its settings (config.py), optimizers (optim.py), learning-rate schedules
(schedule.py), checkpoints (state.py), torchrun setup (distributed.py), metrics.jsonl (metrics.py), curves
(plot.py)."""
