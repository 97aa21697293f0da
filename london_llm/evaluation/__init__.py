"""Stage 05: evaluation of checkpoints - likelihood tasks on lm-evaluation-harness, generation
tasks on the inference core, baselines - written as a versioned results artifact (results.py).

It may import the inference core and everything below it (london_llm/__init__.py gives the
order), never a `cli` module.
"""
