"""Stage 06: load a trained checkpoint or model folder and generate from it.

`check` is the checkpoint check (04_training/test_checkpoint*.py: list, load, validation loss,
sample), `check_cli` its command line. The shared inference core (loading, prompts, sampling,
engine, cli, server) is built here by issue 13; the checkpoint check, evaluation and publishing
all use it.
"""
