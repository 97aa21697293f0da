"""Tests of london_llm.tokenization (a package, so test modules may share basenames across folders)."""
