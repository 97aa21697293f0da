"""torchrun / DistributedDataParallel plumbing: one process per device, NCCL on GPUs, gloo on CPU.

Without torchrun's environment (RANK, WORLD_SIZE) everything here is a single-process no-op, so
the training loop is written once.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import time
from dataclasses import dataclass
from typing import Any, Optional

import torch
import torch.distributed as dist

from london_llm.training.precision import choose_device


@dataclass(frozen=True)
class DistContext:
    rank: int
    local_rank: int
    world_size: int
    device: torch.device
    backend: Optional[str]  # None when not distributed

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.backend is not None


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def setup(device_arg: Optional[str] = None, timeout_minutes: float = 180) -> DistContext:
    """Join the process group torchrun describes (if any) and pick this rank's device.

    The long timeout covers the other ranks waiting while rank 0 pretokenizes a large corpus once.
    """
    if not launched_by_torchrun() or not dist.is_available():
        return DistContext(0, 0, 1, choose_device(device_arg), None)
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    world_size = int(os.environ["WORLD_SIZE"])
    device = choose_device(device_arg, local_rank)
    if world_size == 1:
        return DistContext(0, 0, 1, device, None)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend=backend, rank=rank, world_size=world_size,
                            timeout=datetime.timedelta(minutes=timeout_minutes))
    return DistContext(rank, local_rank, world_size, device, backend)


def record_error_for_torchrun(message: str) -> None:
    """Write `message` where torchrun reads a worker's error (TORCHELASTIC_ERROR_FILE, set for each
    worker), so plain torchrun's ChildFailedError report shows it as the root cause's `traceback`
    instead of "<N/A>" (the JSON torch's own @record writes). Outside torchrun a no-op."""
    path = os.environ.get("TORCHELASTIC_ERROR_FILE")
    if not path:
        return
    data = {"message": {"message": message,
                        "extraInfo": {"py_callstack": message, "timestamp": str(int(time.time()))}}}
    try:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
    except OSError:
        pass  # torchrun then prints "<N/A>", as before; the run's own ERROR line stands


def shutdown(ctx: DistContext) -> None:
    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()


def barrier(ctx: DistContext) -> None:
    if ctx.enabled:
        if ctx.backend == "nccl":
            dist.barrier(device_ids=[ctx.device.index])
        else:
            dist.barrier()


def mean(ctx: DistContext, tensor: torch.Tensor) -> torch.Tensor:
    """The mean of `tensor` over all ranks (in place; returned for convenience)."""
    if ctx.enabled:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        tensor /= ctx.world_size
    return tensor


def sum_(ctx: DistContext, tensor: torch.Tensor) -> torch.Tensor:
    """The sum of `tensor` over all ranks (in place; returned for convenience)."""
    if ctx.enabled:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def any_true_and_max(ctx: DistContext, flag: bool, value: float) -> tuple[bool, float]:
    """any_true of `flag` and the largest `value` over all ranks, in one reduction (the loop's stop
    check and its slowest step time, which every rank must agree on: training.midstep)."""
    if not ctx.enabled:
        return flag, value
    t = torch.tensor([1.0 if flag else 0.0, float(value)], dtype=torch.float64, device=ctx.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    flag_max, value_max = t.tolist()
    return flag_max > 0, value_max


def gather_objects(ctx: DistContext, obj: Any) -> list[Any]:
    if not ctx.enabled:
        return [obj]
    out: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(ctx: DistContext, obj: Any) -> Any:
    """Rank 0's `obj` on every rank."""
    if not ctx.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


@torch.no_grad()
def weights_digest(model: torch.nn.Module) -> str:
    """sha256 over every parameter's bytes, in order: equal only for bit-identical weights (a sum of
    floats would call swapped values, or +0.0 and -0.0, the same)."""
    digest = hashlib.sha256()
    for name, p in model.named_parameters():
        digest.update(name.encode())
        digest.update(p.detach().contiguous().cpu().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def weights_agree(ctx: DistContext, model: torch.nn.Module) -> bool:
    """True when every rank holds bit-identical parameters (DDP's promise; checked at the end of training)."""
    digests = gather_objects(ctx, weights_digest(model))
    return all(d == digests[0] for d in digests[1:])
