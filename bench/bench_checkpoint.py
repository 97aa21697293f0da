#!/usr/bin/env python3
"""Checkpoint write time and size for a preset's shape: our save (the one a stop, mid-step or at a
step boundary, waits for) beside nanoGPT's one-file `torch.save` of model and optimizer.

    python bench/bench_checkpoint.py                       # slm and regular, on the CPU
    python bench/bench_checkpoint.py --presets slm --rounds 3 --dir /fast/disk

The model is built and its AdamW state filled as training builds them (build_model, make_optimizer,
one optimizer step on random gradients, so exp_avg and exp_avg_sq exist); then the real
`london_llm.training.checkpoint.save_checkpoint` writes checkpoint-N, timed as a whole and by part
(weights through save_pretrained/safetensors, optimizer.pt, the manifest's sha256 of every file),
beside the finite-weights check a save runs first (glibc's malloc tuned, as training on a CPU has it). nanoGPT saves `{"model", "optimizer", ...}` with
one torch.save and no manifest: the peer a user would otherwise pick. Neither fsyncs (the folder
appears by rename); `sync after` is how long the kernel then takes to put the dirty pages on disk,
which a stop does not wait for. The contenders take turns within a round; medians over --rounds.
Quote the figures with the CPU, the disk and the load average printed first.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import config  # noqa: E402
from _machine import cpu_description, load, load_line  # noqa: E402


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--presets", default="slm,regular", help="comma-separated presets")
    p.add_argument("--rounds", type=int, default=2, help="saves per contender (the median is reported)")
    p.add_argument("--dir", default=str(ROOT / "09_models"),
                   help="where the checkpoints are written (a temporary folder inside; the disk matters)")
    return p.parse_args(argv)


def build(preset: str):
    """Model and optimizer as training makes them, the optimizer's state filled by one step."""
    import torch

    from london_llm.training.model import build_model
    from london_llm.training.optim import make_optimizer

    cfg = config.PRESETS[preset]
    model = build_model(cfg, cfg.vocab_size, 0, 0, pad_id=1, seed=0)
    model.train()
    optimizer = make_optimizer(model, cfg, torch.device("cpu"))
    for p in model.parameters():
        p.grad = torch.randn_like(p) * 1e-3
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return cfg, model, optimizer, torch.amp.GradScaler("cpu", enabled=False)


@contextlib.contextmanager
def parts_timed(times: dict):
    """Time save_checkpoint's parts by wrapping the functions it calls (restored afterwards)."""
    import torch

    from london_llm.training import checkpoint as ckpt

    originals = {"weights": (ckpt, "_save_model_quietly"), "manifest": (ckpt, "_write_manifest"),
                 "torch.save": (torch, "save")}
    saved = {k: getattr(m, n) for k, (m, n) in originals.items()}

    def wrap(key, fn):
        def timed(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                times[key] = times.get(key, 0.0) + time.perf_counter() - t
        return timed

    for key, (module, name) in originals.items():
        setattr(module, name, wrap(key, saved[key]))
    try:
        yield
    finally:
        for key, (module, name) in originals.items():
            setattr(module, name, saved[key])


def sync_s() -> float:
    t = time.perf_counter()
    os.sync()
    return time.perf_counter() - t


def folder_bytes(path: Path) -> dict:
    files = [path] if path.is_file() else sorted(f for f in path.iterdir() if f.is_file())
    return {f.name: f.stat().st_size for f in files}


def ours(model, optimizer, scaler, cfg, root: Path, step: int) -> tuple[float, dict, Path]:
    from london_llm.training import checkpoint as ckpt
    from london_llm.training import rng
    from london_llm.training.model import generation_config
    from london_llm.training.nonfinite import weights_are_finite

    times: dict = {}
    t = time.perf_counter()
    assert weights_are_finite(model)
    times["finite check"] = time.perf_counter() - t
    with parts_timed(times):
        path = ckpt.save_checkpoint(
            root, step, model=model,
            optimizer_state={"optimizer": optimizer.state_dict(), "scaler": scaler.state_dict()},
            rng_states=[rng.capture()], trainer_state={"config": cfg.to_dict(), "data": {}, "final": False},
            tokenizer_dir=None, generation_config=generation_config(model.config), save_total_limit=0,
            log=lambda m: None)
    return time.perf_counter() - t, times, path


def nanogpt(model, optimizer, cfg, root: Path, step: int) -> tuple[float, dict, Path]:
    import torch

    path = root / f"nanogpt-{step}.pt"
    t = time.perf_counter()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "model_args": cfg.to_dict(),
                "iter_num": step, "best_val_loss": 0.0, "config": cfg.to_dict()}, path)
    return time.perf_counter() - t, {}, path


def bench(preset: str, root: Path, rounds: int) -> dict:
    t = time.perf_counter()
    cfg, model, optimizer, scaler = build(preset)
    params = sum(p.numel() for p in model.parameters())
    print(f"\n{preset}: {cfg.n_layer} layers x {cfg.n_embd}, vocab {cfg.vocab_size}, {params / 1e6:.1f}M parameters "
          f"(fp32 weights + AdamW exp_avg, exp_avg_sq), built in {time.perf_counter() - t:.1f} s; load {load()}")
    contenders = {"ours (save_checkpoint)": lambda step: ours(model, optimizer, scaler, cfg, root, step),
                  "nanoGPT torch.save": lambda step: nanogpt(model, optimizer, cfg, root, step)}
    got: dict = {k: {"wall": [], "sync": [], "parts": []} for k in contenders}
    sizes: dict = {}
    step = 0
    for _ in range(rounds):
        for label, fn in contenders.items():
            sync_s()  # start each save with no one else's dirty pages queued
            step += 1
            wall, parts, path = fn(step)
            got[label]["sync"].append(sync_s())
            got[label]["wall"].append(wall)
            got[label]["parts"].append(parts)
            sizes[label] = folder_bytes(path)
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    summary = {}
    for label, g in got.items():
        wall, total = statistics.median(g["wall"]), sum(sizes[label].values())
        parts = {k: statistics.median(p[k] for p in g["parts"]) for k in g["parts"][0]}
        summary[label] = {"save_s": round(wall, 2), "sync_after_s": round(statistics.median(g["sync"]), 2),
                          "bytes": total, "files": sizes[label], "parts_s": {k: round(v, 2) for k, v in parts.items()}}
        print(f"  {label:<24} {wall:6.2f} s  {total / 2**20:8.1f} MiB  {total / 2**20 / wall:6.0f} MiB/s;"
              f"  sync after {statistics.median(g['sync']):5.2f} s")
        if parts:
            print("    " + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items()))
            print("    " + ", ".join(f"{k} {v / 2**20:.1f} MiB" for k, v in sizes[label].items() if v > 2**20))
    a, b = (summary[k]["save_s"] for k in contenders)
    print(f"  ours / nanoGPT's save time: {a / b:.2f}x; load now {load()}")
    return summary


def main(argv=None) -> int:
    args = parse(argv)
    import torch

    from london_llm.allocator import keep_tensor_memory_warm

    malloc = keep_tensor_memory_warm()  # as training on a CPU runs
    print(cpu_description())
    print(load_line("before"))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; malloc: {malloc}; writing under {args.dir}")
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    summary = {}
    with tempfile.TemporaryDirectory(prefix=".bench_checkpoint_", dir=args.dir) as tmp:
        for preset in [p.strip() for p in args.presets.split(",") if p.strip()]:
            summary[preset] = bench(preset, Path(tmp), args.rounds)
    print(load_line("after"))
    print("\n" + json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
