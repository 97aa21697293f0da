"""London Historical LLM: the library behind the numbered stage scripts.

Layers, lowest first; a module imports only from its own layer and those before it
(tests/test_layering.py enforces it), and no library module imports a `cli` module:

    basics        atomic, errors, hashing, jsonl, logs, tags, settings, environment
    collect       stage 02: download the sources (02_data_collection/historical_data_collector.py)
    cleaning      stage 02: import, clean, deduplicate into documents.jsonl (clean_corpus.py, count_tokens.py)
    tokenization  stage 03: train, load and check the BPE tokenizer
    pretokenize   stage 04: documents -> uint16 token files (format owner: pretokenize.format)
    training      stage 04: the model, the loop, checkpoints (training.checkpoint), metrics, status
    inference     stage 06: load a checkpoint and generate (the checkpoint check lives here)
    evaluation    stage 05: evaluate models
    publishing    stage 10: export and publish
    pipeline      the whole guide in one run (10_scripts/run_pipeline.py)

Each stage's command line is its `cli.py` with `main(argv) -> int`; the numbered scripts are thin
doors to it. Every known failure is a london_llm.errors.LondonLLMError, exit status 2.
Nothing here reads config.py or depends on the current directory: callers pass explicit paths.
"""
__version__ = "0.1.0"
