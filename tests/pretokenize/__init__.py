"""Tests of london_llm.pretokenize (a package, so test modules may share basenames across folders)."""
