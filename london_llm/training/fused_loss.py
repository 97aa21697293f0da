"""Next-token loss fused with the output projection, computed in row chunks.

The plain way materialises the logits (tokens x vocabulary: 100M numbers for 8 x 256 tokens and
a 50k vocabulary), upcasts them, takes a log-softmax, then in the backward pass fills a zero
gradient of the same size, runs the log-softmax backward and downcasts again: several full passes
over the largest tensor of the step. Here each chunk of rows gets its logits, log-sum-exp, loss
and gradient (softmax - one-hot) in one go, in fp32, and the gradient for the hidden states and the
(tied) embedding are formed right away, so the backward pass only hands them on. Same maths as
cross-entropy over `hidden @ weight.T`, mean over tokens.
"""
from __future__ import annotations

import torch
from torch import nn

# logits per chunk. Low precision: a 16 MB fp32 scratch chunk that stays in cache while it is
# reduced, normalised and cast; fp32: chunks written straight into the gradient buffer, so larger
# ones only mean fewer, better-shaped matmuls (measured on the 2-core AVX-512 machine, vocab 50k).
# On a GPU, cache is not the point and each chunk costs kernel launches: a few large chunks.
CHUNK_ELEMENTS = 1 << 22
CHUNK_ELEMENTS_FP32 = 1 << 26
CHUNK_ELEMENTS_GPU = 1 << 26


def _compute_dtype(hidden: torch.Tensor) -> torch.dtype:
    device = hidden.device.type
    if torch.is_autocast_enabled(device):
        return torch.get_autocast_dtype(device)
    return hidden.dtype


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, hidden, weight, targets, dtype, need_grad):
        n, vocab = hidden.shape[0], weight.shape[0]
        if hidden.device.type == "cuda":
            chunk = CHUNK_ELEMENTS_GPU
        else:
            # fp32 with or without a gradient (evaluation): each chunk's matmul streams the whole
            # weight (vocab x width) from memory, so small chunks made the forward-only loss
            # memory-bound (2.7x slower per FLOP at 139-row chunks on the 2-core AVX2 machine)
            chunk = CHUNK_ELEMENTS_FP32 if dtype == torch.float32 else CHUNK_ELEMENTS
        rows = max(1, min(n, chunk // vocab))
        w = weight.to(dtype)
        h = hidden.to(dtype)
        # d(mean loss)/d(logits) for every row, in the matmul dtype: two big matmuls at the end
        grad_logits = torch.empty((n, vocab), dtype=dtype, device=hidden.device) if need_grad else None
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        in_place = need_grad and dtype == torch.float32
        for start in range(0, n, rows):
            hc, tc = h[start:start + rows], targets[start:start + rows]
            if in_place:  # compute straight into the gradient buffer
                logits = torch.mm(hc, w.t(), out=grad_logits[start:start + rows])
            else:
                logits = (hc @ w.t()).float()
            target_logit = logits.gather(1, tc[:, None]).squeeze(1)
            peak = logits.amax(dim=1, keepdim=True)
            exp = logits.sub_(peak).exp_()  # in place: the chunk is never stored twice
            sums = exp.sum(dim=1)
            total += (peak.squeeze(1) + sums.log() - target_logit).sum()
            if need_grad:
                g = exp.mul_((1.0 / (sums * n))[:, None])  # softmax / n
                g[torch.arange(len(tc), device=tc.device), tc] -= 1.0 / n  # minus one-hot / n
                if not in_place:
                    grad_logits[start:start + rows].copy_(g)
        if need_grad:
            ctx.save_for_backward(grad_logits @ w, (grad_logits.t() @ h).float())
            ctx.hidden_dtype = hidden.dtype
        return total / n

    @staticmethod
    def backward(ctx, grad_loss):
        grad_h, grad_w = ctx.saved_tensors
        return (grad_h * grad_loss).to(ctx.hidden_dtype), grad_w * grad_loss, None, None, None


def linear_cross_entropy(hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """mean(cross_entropy(hidden @ weight.T, targets)) without keeping the logits; hidden (N, d), targets (N,)."""
    dtype = _compute_dtype(hidden)
    # decided here, not from ctx.needs_input_grad inside forward: that is true for a weight that
    # requires grad even under torch.no_grad(), and evaluation would then build the tokens x vocab
    # gradient and run both backward matmuls for nothing
    need_grad = torch.is_grad_enabled() and (hidden.requires_grad or weight.requires_grad)
    with torch.autocast(hidden.device.type, enabled=False):
        return _LinearCrossEntropy.apply(hidden, weight, targets, dtype, need_grad)


class CausalLMLoss(nn.Module):
    """GPT2LMHeadModel -> a module whose forward is the training loss (what DDP and compile wrap)."""

    def __init__(self, lm: nn.Module):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        hidden = self.lm.transformer(input_ids=input_ids, use_cache=False).last_hidden_state
        hidden, targets = hidden.reshape(-1, hidden.size(-1)), targets.reshape(-1)
        if _compute_dtype(hidden) == torch.float16:
            # fp16 (older GPUs, with a GradScaler): per-token gradients of size ~1/tokens would
            # underflow before the scale reaches them, so take the plain path there
            logits = self.lm.lm_head(hidden)
            return nn.functional.cross_entropy(logits.float(), targets)
        return linear_cross_entropy(hidden, self.lm.lm_head.weight, targets)
