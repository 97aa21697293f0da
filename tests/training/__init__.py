"""Tests of london_llm.training (a package, so test modules may share basenames across folders)."""
