"""Tests of london_llm.collect (a package, so test modules may share basenames across folders)."""
