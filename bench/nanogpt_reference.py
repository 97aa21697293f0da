"""nanoGPT's model and training step as its train.py runs them by default, written here as the speed
yardstick (github.com/karpathy/nanoGPT, model.py + train.py; written from its documented behaviour,
not copied).

What its defaults are, and so what this is:
- train.py sets `bias = False` (model.py's GPTConfig defaults to True, train.py overrides it): no
  bias in any Linear nor in LayerNorm (its own LayerNorm with an optional bias), eps 1e-5;
- dropout 0.0; exact GELU (`nn.GELU()`); SDPA causal attention ("flash");
- the loss is cross-entropy over the full logits (tokens x vocabulary), `ignore_index=-1`;
- init: N(0, 0.02) for Linear and Embedding weights, the residual projections (`c_proj`) scaled
  by 1/sqrt(2 n_layer); the output head tied to the token embedding;
- AdamW lr 6e-4, betas (0.9, 0.95), weight decay 0.1 on parameters with >= 2 dims, none on the rest,
  `fused=True` only on CUDA; grad clip 1.0; zero_grad(set_to_none=True);
- precision: fp32 on the CPU (train.py autocasts only on CUDA), bf16 autocast on CUDA where
  supported (else fp16 with a GradScaler); train.py compiles by default (`compile = True`): the
  bench runs it eager on the CPU, as measured in the issue (compile slows it there), and compiled
  on CUDA when asked.
Known gaps: its learning-rate schedule and data loader (a memmap read per batch) are not part of
the timed step here; the bench feeds both contenders the same in-memory batches.
"""
from __future__ import annotations

import contextlib
import inspect
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class LayerNorm(nn.Module):
    """LayerNorm with an optional bias (PyTorch's own had no bias=False when nanoGPT was written)."""

    def __init__(self, ndim: int, bias: bool):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd: int, n_head: int, bias: bool, dropout: float):
        super().__init__()
        self.n_head, self.dropout = n_head, dropout
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.resid_dropout = nn.Dropout(dropout)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=None,
                                           dropout_p=self.dropout if self.training else 0.0, is_causal=True)
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c)))


class MLP(nn.Module):
    def __init__(self, n_embd: int, bias: bool, dropout: float):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=bias)
        self.gelu = nn.GELU()  # exact (erf) GELU, nanoGPT's choice
        self.c_proj = nn.Linear(4 * n_embd, n_embd, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, n_embd: int, n_head: int, bias: bool, dropout: float):
        super().__init__()
        self.ln_1 = LayerNorm(n_embd, bias)
        self.attn = CausalSelfAttention(n_embd, n_head, bias, dropout)
        self.ln_2 = LayerNorm(n_embd, bias)
        self.mlp = MLP(n_embd, bias, dropout)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class ReferenceGPT(nn.Module):
    def __init__(self, vocab_size: int, context: int, n_layer: int, n_head: int, n_embd: int,
                 bias: bool = False, dropout: float = 0.0):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(context, n_embd)
        self.drop = nn.Dropout(dropout)
        self.h = nn.ModuleList(Block(n_embd, n_head, bias, dropout) for _ in range(n_layer))
        self.ln_f = LayerNorm(n_embd, bias)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.wte.weight = self.lm_head.weight  # tied, as nanoGPT ties them
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, mean=0.0, std=0.02)
                if isinstance(m, nn.Linear) and m.bias is not None:
                    nn.init.zeros_(m.bias)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))

    def forward(self, idx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(0, idx.shape[1], dtype=torch.long, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for block in self.h:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)


def make(vocab_size: int, context: int, n_layer: int, n_head: int, n_embd: int, lr: float = 6e-4,
         device: torch.device = torch.device("cpu")):
    """The model and nanoGPT's configure_optimizers() AdamW, on `device`."""
    model = ReferenceGPT(vocab_size, context, n_layer, n_head, n_embd).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    fused = "fused" in inspect.signature(torch.optim.AdamW).parameters and device.type == "cuda"
    optimizer = torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95), **({"fused": True} if fused else {}))
    return model, optimizer


def precision_context(device: torch.device):
    """train.py's rule: no autocast on the CPU; bf16 on CUDA where supported, else fp16 (+ GradScaler)."""
    if device.type != "cuda":
        return contextlib.nullcontext(), None
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    return torch.autocast("cuda", dtype=dtype), scaler


def step(model, optimizer, x: torch.Tensor, y: torch.Tensor, ctx=None, scaler=None,
         accum: int = 1, next_batch=None) -> torch.Tensor:
    """One optimizer step as train.py takes it: accum micro-steps, clip 1.0, step, zero_grad."""
    ctx = ctx or contextlib.nullcontext()
    total = None
    for micro in range(accum):
        with ctx:
            loss = model(x, y) / accum
        if next_batch is not None and micro < accum - 1:
            x, y = next_batch()
        (scaler.scale(loss) if scaler else loss).backward()
        total = loss.detach() if total is None else total + loss.detach()
    if scaler:
        scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    if scaler:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return total
