"""Stage 05 units (london_llm/evaluation), each against a case computable by hand."""
