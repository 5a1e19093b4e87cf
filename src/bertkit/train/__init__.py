"""Pre-training: the loop (loop.py), its settings (config.py), optimizers (optim.py), learning-rate schedules
(schedule.py), checkpoints (state.py), torchrun setup (distributed.py), metrics.jsonl (metrics.py), curves (plot.py)."""
