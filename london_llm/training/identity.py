"""A training run's identity, recorded as `run` in every checkpoint's trainer_state.json.

    {"id": "3f9a2c81d0e4", "model": "slm", "output_dir": "/…/09_models/checkpoints/slm",
     "tokenizer_sha256": "…", "branch": "b81bd0e",
     "lineage": [{"run": "…", "branch": "…", "model": "slm", "output_dir": "…", "step": 120,
                  "checkpoint": "/…/checkpoint-120"}]}

A run belongs to one model and one output folder. Resuming a checkpoint of another model or of
another folder is refused, naming what resumes it (that is how two runs once mixed silently);
`--branch` continues it here instead, as a new branch whose lineage names where it came from.
Going back to an older checkpoint of the same folder is a branch too: the abandoned branch's later
checkpoints are moved aside (training.cli) and its metrics stay in metrics.jsonl under its own id.
Checkpoints written before runs had an identity still resume: their model is the trainer state's
`model`, their folder the one they lie in, and their metrics' branch is LEGACY_BRANCH.
"""
from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from london_llm.training.errors import TrainingError

STATE_KEY = "run"
LEGACY_BRANCH = "legacy"  # the branch of checkpoints and metric records written before branches


def _new_id(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex[:12 - len(prefix)]


def new_branch_id() -> str:
    return _new_id("b")


@dataclass
class RunIdentity:
    id: str
    model: str
    output_dir: str
    tokenizer_sha256: Optional[str]
    branch: str
    lineage: list[dict] = field(default_factory=list)
    new_branch: bool = False  # this process started the branch (not recorded)
    forked_from: Optional[dict] = None  # lineage[-1] when this process started the branch (not recorded)

    def to_state(self) -> dict:
        state = asdict(self)
        state.pop("new_branch")
        state.pop("forked_from")
        return state


def fresh(model: str, output_dir: Path, tokenizer_sha256: Optional[str]) -> RunIdentity:
    return RunIdentity(id=_new_id(), model=model, output_dir=str(output_dir), tokenizer_sha256=tokenizer_sha256,
                       branch=new_branch_id(), new_branch=True)


def recorded(state: dict, checkpoint: Path) -> RunIdentity:
    """The identity a checkpoint records, or the one a checkpoint from before identities implies."""
    saved = state.get(STATE_KEY)
    if isinstance(saved, dict) and saved.get("branch"):
        return RunIdentity(id=str(saved.get("id") or _new_id()), model=str(saved.get("model") or state.get("model")),
                           output_dir=str(saved.get("output_dir") or Path(checkpoint).parent),
                           tokenizer_sha256=saved.get("tokenizer_sha256") or state.get("tokenizer_sha256"),
                           branch=str(saved["branch"]), lineage=list(saved.get("lineage") or []))
    return RunIdentity(id=_new_id(), model=str(state.get("model") or ""), output_dir=str(Path(checkpoint).parent),
                       tokenizer_sha256=state.get("tokenizer_sha256"), branch=LEGACY_BRANCH)


def script_for(model: str) -> str:
    """The guide's training script of a model (as launch_common.sh's training_script says)."""
    return "04_training/train_model.py" if model == "regular" else "04_training/train_model_slm.py"


def continue_from(state: dict, checkpoint: Path, *, model: str, output_dir: Path, tokenizer_sha256: Optional[str],
                  branch: bool, later_checkpoints: bool) -> RunIdentity:
    """The identity this run continues from `checkpoint` with, or TrainingError when the checkpoint is
    another model's or another folder's and `branch` (--branch) was not given.

    `later_checkpoints`: this folder holds checkpoints past the one resumed from (going back: a branch).
    """
    checkpoint, output_dir = Path(checkpoint).resolve(), Path(output_dir).resolve()
    parent = recorded(state, checkpoint)
    home = checkpoint.parent
    if not branch:
        if parent.model and parent.model != model:
            raise TrainingError(
                f"{checkpoint} belongs to the '{parent.model}' model, not '{model}': resume it with "
                f"python {script_for(parent.model)} --model {parent.model} --resume_from_checkpoint {checkpoint} "
                f"(or ./resume_training.sh {checkpoint}), or pass --branch to continue it in {output_dir} "
                f"as a new branch of the '{model}' run")
        if home != output_dir:
            raise TrainingError(
                f"{checkpoint} belongs to the run in {home}, not to {output_dir}: resume it there with "
                f"--output_dir {home} (./resume_training.sh {checkpoint} does), or pass --branch to continue "
                f"it in {output_dir} as a new branch")
    if branch or later_checkpoints:
        fork = {"run": parent.id, "branch": parent.branch, "model": parent.model or None,
                "output_dir": str(home), "step": int(state["step"]), "checkpoint": str(checkpoint)}
        run_id = parent.id if home == output_dir else _new_id()
        return RunIdentity(id=run_id, model=model, output_dir=str(output_dir), tokenizer_sha256=tokenizer_sha256,
                           branch=new_branch_id(), lineage=parent.lineage + [fork], new_branch=True,
                           forked_from=fork)
    parent.model, parent.output_dir, parent.tokenizer_sha256 = model, str(output_dir), tokenizer_sha256
    return parent
