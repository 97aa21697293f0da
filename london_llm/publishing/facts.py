"""Gather what the model card says, from the checkpoint and the artifacts next to it."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from london_llm.training import checkpoint as ckpt
from london_llm.hashing import sha256_file
from london_llm.tokenization.loading import tokenizer_info

from .card import CardInputs, TrainingFacts
from .corpus import corpus_stats
from .eval_results import Evaluation
from .export import parameter_count


def training_facts(checkpoint: Path) -> TrainingFacts:
    state = ckpt.read_trainer_state(checkpoint)
    metrics = state.get("metrics") or {}
    step = int(state.get("step") or ckpt.step_of(checkpoint) or 0)
    return TrainingFacts(
        step=step, last_val_step=ckpt.measured_val(state, step)[1],
        best_val_step=ckpt.best_val_step(state), total_steps=state.get("total_steps"),
        tokens_seen=state.get("tokens_seen"), train_loss=metrics.get("train/loss"),
        best_val_loss=state.get("best_val_loss"), last_val_loss=state.get("last_val_loss"),
        precision=state.get("precision"), world_size=state.get("world_size"),
        hardware=state.get("hardware") or state.get("device"), wall_seconds=training_seconds(checkpoint, state),
        config=state.get("config") or {}, preset=state.get("model"))


def training_seconds(checkpoint: Path, state: dict) -> Optional[float]:
    """Wall time of the run up to this checkpoint: the recorded figure, else the metrics log's
    segments (a resumed run's pause between segments is not training time)."""
    if isinstance(state.get("train_seconds"), (int, float)):
        return float(state["train_seconds"])
    try:
        from london_llm.training.metrics import MonitorError, read_metrics
        log = read_metrics(Path(checkpoint).parent)
    except (ImportError, OSError):
        return None
    except MonitorError:
        return None
    step = int(state.get("step") or 0)
    records = [r for r in log.records]
    if not records:
        return None
    starts = list(log.segment_starts or [0]) + [len(records)]
    total = 0.0
    for a, b in zip(starts, starts[1:]):
        seg = [r for r in records[a:b] if r["step"] <= step]
        if seg:
            first_dt = (seg[0].get("train/dt_ms") or 0) / 1000
            total += seg[-1]["time"] - seg[0]["time"] + first_dt
    return total or None


def documents_file_for(checkpoint: Path, given: Optional[Path], default: Path) -> Path:
    """--documents_file, else the one the run recorded, else the configured one."""
    if given:
        return Path(given)
    recorded = ckpt.read_trainer_state(checkpoint).get("documents_file")
    if recorded and Path(recorded).is_file():
        return Path(recorded)
    return Path(default)


def documents_note(checkpoint: Path, documents: Path) -> list[str]:
    """A note for the card when the documents file is not the one the run was trained on."""
    data_dir = ckpt.read_trainer_state(checkpoint).get("data_dir")
    meta_file = Path(data_dir) / "metadata.json" if data_dir else None
    if not meta_file or not meta_file.is_file():
        return []
    import json
    try:
        recorded = json.loads(meta_file.read_text(encoding="utf-8")).get("documents_file", {}).get("sha256")
    except (OSError, ValueError, AttributeError):
        return []
    if recorded and recorded != sha256_file(documents):
        return [f"the documents file described here ({documents.name}) has changed since the model was "
                "trained; its statistics describe the current file"]
    return []


def card_inputs(checkpoint: Path, config: dict, *, repo_id: str, model_name: str, documents: Path,
                evaluation: Optional[Evaluation], dataset_repo_id: Optional[str],
                log: Callable[[str], None] = print) -> CardInputs:
    params, _shapes = parameter_count(Path(checkpoint) / ckpt.WEIGHTS)
    return CardInputs(
        repo_id=repo_id, model_name=model_name, checkpoint_name=Path(checkpoint).name, parameters=params,
        shape={k: config.get(k) for k in ("n_layer", "n_head", "n_embd", "n_positions", "vocab_size")},
        tokenizer=tokenizer_info(checkpoint), training=training_facts(checkpoint),
        corpus=corpus_stats(documents), evaluation=evaluation, dataset_repo_id=dataset_repo_id,
        notes=documents_note(checkpoint, documents))
