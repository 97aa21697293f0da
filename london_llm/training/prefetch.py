"""Training batches on the device, the next one prepared while the accelerator computes.

On CUDA each batch is gathered on the host, put in pinned (page-locked) memory and copied on a side
stream as soon as the previous one is handed out, so the copy and the host work overlap the GPU's
forward and backward; the compute stream waits for the copy only when it uses the batch. On the CPU
there is nothing to overlap: batches are handed out as they are read.

The data position saved in a checkpoint is that of the batches handed out, never of the one
prepared ahead, so a resumed run takes the same batches.
"""
from __future__ import annotations

from typing import Any, Optional

import torch


class DevicePrefetcher:
    """Wraps an EpochBatches-like source (next_batch, state_dict, load_state_dict, epoch_progress)."""

    def __init__(self, source: Any, device: torch.device, ahead: Optional[bool] = None):
        self.source = source
        self.device = device
        self.ahead = device.type == "cuda" if ahead is None else ahead
        self._stream = torch.cuda.Stream(device) if self.ahead and device.type == "cuda" else None
        self._pending: Optional[tuple[dict, tuple[torch.Tensor, torch.Tensor]]] = None

    def _prepare(self) -> tuple[dict, tuple[torch.Tensor, torch.Tensor]]:
        state = self.source.state_dict()  # the position before this batch
        x, y = self.source.next_batch()
        if self._stream is not None:
            x, y = x.pin_memory(), y.pin_memory()
            with torch.cuda.stream(self._stream):
                x = x.to(self.device, non_blocking=True)
                y = y.to(self.device, non_blocking=True)
        elif self.device.type != "cpu":
            x, y = x.to(self.device), y.to(self.device)
        return state, (x, y)

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next (x, y) on the device; on CUDA the one after it starts copying now."""
        _, (x, y) = self._pending if self._pending is not None else self._prepare()
        self._pending = None
        if self._stream is not None:
            current = torch.cuda.current_stream(self.device)
            current.wait_stream(self._stream)  # on the device: the host does not wait
            x.record_stream(current)  # the copy stream's memory is in use on the compute stream
            y.record_stream(current)
        if self.ahead:
            self._pending = self._prepare()
        return x, y

    def state_dict(self) -> dict:
        return self._pending[0] if self._pending is not None else self.source.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self._pending = None
        self.source.load_state_dict(state)

    @property
    def epoch_progress(self) -> float:
        """As the source counts it, at the position of the batches handed out."""
        if self._pending is None:
            return self.source.epoch_progress
        state = self._pending[0]
        usable = self.source.batches_per_epoch * self.source.global_batch
        return state["epoch"] + min(1.0, state["position"] / usable)

    def __getattr__(self, name: str) -> Any:  # batches_per_epoch, windows_per_epoch, ...
        if name.startswith("_") or name in ("source", "device", "ahead"):
            raise AttributeError(name)
        return getattr(self.source, name)
