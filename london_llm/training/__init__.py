"""Stage 04: train the GPT-2-style model from pretokenized data, resumably, on one device or under torchrun.

`loop` is the training loop (set-up, loop, finish); `resume` decides what a checkpoint restores,
`saving` writes checkpoints through `checkpoint` (the one owner of the checkpoint format),
`reporting` is the terminal, log file, progress bar and W&B; `metrics` owns metrics.jsonl (writer and
reader); `status` and `plots` summarise a run; `cli` is the command line of 04_training's scripts.
Nothing here imports torch at package import: the status script answers without it.
"""
