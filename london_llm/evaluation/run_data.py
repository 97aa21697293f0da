"""A run's data: where each checkpoint's training data and held-out documents are, the check that its
tokenizer is the one they were built with, and the passages sampled from them (once per document
file: checkpoints of one run share them) and from modern text.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

from london_llm.evaluation.errors import EvaluationError
from london_llm.evaluation.heldout import (Passage, document_starts, held_out_documents, sample_passages,
                                           split_source, write_passages)
from london_llm.evaluation.run_settings import Budget, Settings


class RunData:
    """One run's data, shared by its checkpoints (see the module doc)."""

    def __init__(self, s: Settings, budget: Budget):
        self.s = s
        self.budget = budget
        self.data_dir_out = s.output_dir / "data"
        self._heldout_cache: dict[tuple, Any] = {}
        self._modern: Optional[list[Passage]] = None

    def run_files(self, loaded) -> dict[str, Any]:
        """Where the run's data and held-out documents are (flags first, then trainer_state.json)."""
        state = {}
        try:
            state = json.loads((loaded.path / "trainer_state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
        data_dir = self.s.data_dir or (Path(state["data_dir"]) if state.get("data_dir") else None)
        documents = self.s.documents_file or (Path(state["documents_file"]) if state.get("documents_file") else None)
        return {"state": state, "data_dir": data_dir, "documents_file": documents}

    def check_tokenizer(self, loaded, files) -> None:
        """A checkpoint folder's tokenizer must be the one its weights were trained with."""
        from london_llm.tokenization.format import tokenizer_fingerprint

        current = tokenizer_fingerprint(loaded.path)
        recorded = files["state"].get("tokenizer_sha256")
        if recorded and current and current != recorded:
            raise EvaluationError(f"{loaded.path}: tokenizer.json is not the tokenizer this model was trained with "
                                  f"(sha256 {current[:12]}, trainer_state.json says {recorded[:12]}); "
                                  "the folder mixes files of two runs - copy the run's tokenizer back or pick "
                                  "another checkpoint")
        meta_file = files["data_dir"] / "metadata.json" if files["data_dir"] else None
        if meta_file is not None and meta_file.is_file() and current:
            built_with = json.loads(meta_file.read_text(encoding="utf-8")).get("tokenizer_sha256")
            if built_with and built_with != current:
                raise EvaluationError(f"{loaded.path}: its tokenizer.json is not the one the training data in "
                                      f"{files['data_dir']} was built with; pass the run's own --data_dir")

    def heldout(self, files) -> Optional[dict[str, Any]]:
        if files["data_dir"] is None or not (Path(files["data_dir"]) / "metadata.json").is_file():
            return None
        source = split_source(files["data_dir"], files["documents_file"])
        key = (str(source.documents_file), source.seed, source.val_fraction)
        if key not in self._heldout_cache:
            self.s.log(f"Finding the held-out documents of {source.documents_file} (seed {source.seed}, "
                       f"val_fraction {source.val_fraction})")
            docs = held_out_documents(source)
            if not docs:
                raise EvaluationError(f"no held-out documents found in {source.documents_file}")
            b = self.budget
            passages = sample_passages(docs, b.passages, b.passage_chars, self.s.seed)
            tag = f"{len(self._heldout_cache)}"
            self._heldout_cache[key] = {
                "documents": docs, "passages": passages,
                "passages_file": write_passages(self.data_dir_out / f"heldout{tag}.jsonl", passages),
                "starts": document_starts(docs, b.conditioning_docs, b.passage_chars, self.s.seed + 1),
                "prompt_passages": sample_passages(docs, max(b.heldout_prompts, b.rouge_passages), 1200,
                                                   self.s.seed + 2),
                "source": source}
        return self._heldout_cache[key]

    def modern(self) -> tuple[list[Passage], Path]:
        if self._modern is None:
            from london_llm.evaluation.modern import modern_passages

            self._modern = modern_passages(self.budget.passages, self.budget.passage_chars, self.s.seed)
            self._modern_file = write_passages(self.data_dir_out / "modern.jsonl", self._modern)
        return self._modern, self._modern_file
