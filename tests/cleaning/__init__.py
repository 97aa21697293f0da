"""Tests of london_llm.cleaning (a package, so test modules may share basenames across folders)."""
