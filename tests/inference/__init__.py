"""Tests of london_llm.inference (a package, so test modules may share basenames across folders)."""
