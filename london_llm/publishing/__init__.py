"""Stage 10: export a trained model as a Hugging Face folder and publish it to the Hub.

Empty until issue 14 builds it. It may import evaluation, inference and everything below them
(london_llm/__init__.py gives the order), never a `cli` module.
"""
