"""Stage 05: evaluate trained models (likelihood benchmarks through lm-eval, historical probes).

Empty until issue 12 builds it. It may import the inference core and everything below it
(london_llm/__init__.py gives the order), never a `cli` module.
"""
