"""Stage 05: evaluation of checkpoints (likelihood tasks on lm-evaluation-harness, generation tasks on
the inference core), written as a versioned results artifact (results.py)."""
