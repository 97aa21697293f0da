"""London Historical LLM: the library behind the numbered stage scripts.

Layers, lowest first; a module imports only from its own layer and those before it
(tests/test_layering.py enforces it), and no library module imports a `cli` module:

    basics        atomic, errors, hashing, jsonl, logs, tags, settings, environment
    collect       stage 02: download the sources
    cleaning      stage 02: import, clean, deduplicate into documents.jsonl; the 02 scripts' command
                  lines (historical_data_collector.py downloads, then cleans: so it sits here)
    tokenization  stage 03: train, load and check the BPE tokenizer (format owner: tokenization.format)
    pretokenize   stage 04: documents -> uint16 token files (format owner: pretokenize.format)
    training      stage 04: the model, the loop, checkpoints (training.checkpoint), metrics, status
    inference     stage 06: load a checkpoint and generate (the checkpoint check lives here)
    evaluation    stage 05: evaluate models
    publishing    stage 10: export and publish
    pipeline      the whole guide in one run (10_scripts/run_pipeline.py)

Each stage's command line is its `cli.py` (`<name>_cli.py` where a stage has several scripts), with
`main(argv, ...) -> int`; the numbered scripts are thin doors to it through errors.run_command.
Every known failure is a london_llm.errors.LondonLLMError, exit status 2. The stage that writes an
artifact owns the one module defining its format (tokenization.format, pretokenize.format,
training.checkpoint, training.metrics); other stages import its reader.
Nothing here reads config.py or depends on the current directory: callers pass explicit paths.
"""
__version__ = "0.1.0"
