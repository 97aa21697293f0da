"""Stage 10: publish a checkpoint (model card, round-trip gate, upload) and the corpus to the Hugging Face Hub."""
