"""What a run that ran out of device memory says (the guide's "Out of memory" and "CUDA out of memory":
reduce the batch size, or the context): one line with the flags that fit the same step in less memory,
and the command that goes on from the last checkpoint with them, instead of torch's traceback."""
from __future__ import annotations

from pathlib import Path
from typing import Optional


def is_out_of_memory(exc: BaseException) -> bool:
    """torch's own out-of-memory error (CUDA and the other accelerators; a CPU run is killed by the kernel)."""
    import torch

    return isinstance(exc, getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError))


def smaller_step_flags(batch_size: int, accumulation: int) -> Optional[str]:
    """A smaller micro-batch (the largest proper divisor of the batch: half an even one) and the
    accumulation that keeps the same sequences per optimizer step, so the learning-rate schedule and the
    results stay comparable; None when the batch is one sequence already."""
    if batch_size <= 1:
        return None
    smaller = next(d for d in range(batch_size // 2, 0, -1) if batch_size % d == 0)
    return f"--batch_size {smaller} --gradient_accumulation_steps {accumulation * (batch_size // smaller)}"


def out_of_memory_message(device: str, batch_size: int, accumulation: int, max_length: int,
                          checkpoint: Optional[Path], go_on: Optional[str]) -> str:
    """The one line for an out-of-memory failure. `checkpoint`: the newest good one (None: nothing saved
    yet); `go_on`: the command that resumes it (training.cli.resume_advice)."""
    where = (f"out of memory on {device} with --batch_size {batch_size} sequences of --max_length {max_length} "
             f"tokens per micro-batch (--gradient_accumulation_steps {accumulation})")
    flags = smaller_step_flags(batch_size, accumulation)
    if flags is None:
        return (f"{where}: one sequence does not fit. Train a smaller model (--model slm, or tiny on a small "
                "GPU) or a shorter --max_length (a fresh run: the context is part of the model), or free the GPU "
                "of other processes (nvidia-smi)")
    fix = f"the same step (as many sequences) fits in less memory with {flags}"
    if checkpoint is None:
        return f"{where}: {fix}; nothing was saved yet, so rerun with them"
    return f"{where}: {fix}. Go on from {checkpoint} with them: {go_on}, adding {flags}"
