#!/usr/bin/env python3
"""Training throughput: tokens/s and MFU of the real training step for any preset or shape, on any
device, in fp32 and bf16 in the same run, beside nanoGPT's model and train.py step (the yardstick,
bench/nanogpt_reference.py), and evaluation's forward-only tokens/s beside training's.

    python bench/bench_train.py --model tiny --n_layer 4 --n_head 4 --n_embd 256 --max_length 256 \\
        --batch_size 8 --vocab_size 30016          # the issue's CPU comparison shape
    python bench/bench_train.py --model slm --dtypes bf16 --compile on --device cuda

Step time is measured over --steps optimizer steps after --warmup, on random token ids (the data
path is benchmarked by bench/bench_pretokenize.py). Note the machine load (printed) when quoting.
On a CPU, training tunes glibc's malloc (london_llm/allocator.py); this process does the same for
every contender (like for like), then a child process measures both again with glibc's defaults,
which is how nanoGPT's train.py runs as shipped, and prints ours-by-default against that.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import config  # noqa: E402
from london_llm.settings import add_config_flags, resolve  # noqa: E402
from _machine import ChildFailed, cpu_description, load_line, rerun_with_allocator, set_allocator  # noqa: E402


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", choices=sorted(config.PRESETS), default="tiny", help="preset to start from")
    p.add_argument("--dtypes", default="fp32,bf16", help="comma-separated precisions to measure (auto = hardware's)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--steps", type=int, default=3, help="timed optimizer steps per round and contender")
    p.add_argument("--rounds", type=int, default=5, help="round-robin rounds (the median is reported)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (allocations, oneDNN, compile)")
    p.add_argument("--no_reference", "--no-reference", action="store_true", help="skip the nanoGPT yardstick")
    p.add_argument("--reference_compile", "--reference-compile", action="store_true",
                   help="torch.compile the nanoGPT yardstick (its train.py default; slower on CPUs)")
    p.add_argument("--no_eval", "--no-eval", action="store_true",
                   help="skip the evaluation (forward-only, no_grad) figure")
    p.add_argument("--peak_flops", "--peak-flops", type=float, help="peak FLOP/s for MFU (default: detected)")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    p.add_argument("--allocator", choices=("tuned", "default"), default="tuned",
                   help="CPU: tuned = what training does (london_llm/allocator.py, for every contender "
                        "alike); default = glibc's own malloc settings")
    p.add_argument("--no_as_shipped", "--no-as-shipped", action="store_true",
                   help="CPU: skip re-measuring in a child process with glibc's defaults (how nanoGPT's "
                        "train.py runs as shipped)")
    p.add_argument("--json", action="store_true", help="also print the tok/s figures as one JSON line")
    p.add_argument("--project_tokens", "--project-tokens", type=float, default=0,
                   help="also print how long training this many tokens would take at the measured rate")
    add_config_flags(p, config.PRESETS["tiny"])
    args = p.parse_args(argv)
    return args, resolve(config.PRESETS[args.model], args)


def batches(vocab: int, batch: int, context: int, seed: int = 0):
    import torch

    g = torch.Generator().manual_seed(seed)
    data = [torch.randint(0, vocab, (batch, context + 1), generator=g) for _ in range(4)]
    i = 0
    while True:
        row = data[i % len(data)]
        i += 1
        yield row[:, :-1].contiguous(), row[:, 1:].contiguous()


def sync(device):
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def ours(cfg, precision):
    """A step function running the trainer's own optimizer_step on our model."""
    import torch

    from london_llm.training.fused_loss import CausalLMLoss
    from london_llm.training.model import build_model, flops_per_token, whole_sequence_attention
    from london_llm.training.optim import make_optimizer
    from london_llm.training.loop import optimizer_step

    device = precision.device
    model = build_model(cfg, cfg.vocab_size, 0, 0, seed=cfg.seed).to(device).train()
    optimizer = make_optimizer(model, cfg, device)
    scaler = precision.grad_scaler()
    use_compile = cfg.compile == "on" or (cfg.compile == "auto" and device.type == "cuda")
    run_model = CausalLMLoss(whole_sequence_attention(model))  # as the trainer runs it
    run_model = torch.compile(run_model) if use_compile else run_model
    data = batches(cfg.vocab_size, cfg.batch_size, cfg.max_length)

    def step():
        loss, _ = optimizer_step(run_model, model, optimizer, scaler, lambda: next(data), precision,
                                 cfg.gradient_accumulation_steps, cfg.grad_clip, device)
        return loss

    return step, flops_per_token(model, cfg.n_layer, cfg.n_embd, cfg.max_length)


def reference(cfg, device, compile_it: bool = False):
    """nanoGPT's model and train.py step (fp32 on the CPU, its autocast on CUDA), eager unless asked."""
    import torch

    import nanogpt_reference as ref

    torch.manual_seed(0)
    model, optimizer = ref.make(cfg.vocab_size, cfg.max_length, cfg.n_layer, cfg.n_head, cfg.n_embd,
                                device=device)
    run_model = torch.compile(model) if compile_it else model
    ctx, scaler = ref.precision_context(device)
    data = batches(cfg.vocab_size, cfg.batch_size, cfg.max_length)

    def next_batch():
        return tuple(t.to(device, non_blocking=True) for t in next(data))

    def step():
        return ref.step(run_model, optimizer, *next_batch(), ctx=ctx, scaler=scaler,
                        accum=cfg.gradient_accumulation_steps, next_batch=next_batch)

    return step


def ours_eval(cfg, precision):
    """Forward-only loss batches as the trainer's estimate_loss runs them (no_grad, eval mode)."""
    import torch

    from london_llm.training.fused_loss import CausalLMLoss
    from london_llm.training.model import build_model, whole_sequence_attention

    device = precision.device
    model = build_model(cfg, cfg.vocab_size, 0, 0, seed=cfg.seed).to(device)
    run_model = CausalLMLoss(whole_sequence_attention(model)).eval()
    use_compile = cfg.compile == "on" or (cfg.compile == "auto" and device.type == "cuda")
    run_model = torch.compile(run_model) if use_compile else run_model
    data = batches(cfg.vocab_size, cfg.batch_size, cfg.max_length)

    @torch.no_grad()
    def step():  # one "step" = as many batches as a training step's micro-batches, for like tokens
        total = None
        for _ in range(cfg.gradient_accumulation_steps):
            x, y = (t.to(device, non_blocking=True) for t in next(data))
            with precision.autocast():
                loss = run_model(x, y)
            total = loss if total is None else total + loss
        return total

    return step


def timed(step, n: int, device) -> float:
    """Seconds per step over n steps, with one host sync at the end (as the training loop does)."""
    sync(device)
    t0 = time.perf_counter()
    total = None
    for _ in range(n):
        loss = step()
        total = loss if total is None else total + loss
    total.item()
    sync(device)
    return (time.perf_counter() - t0) / n


def main(argv=None) -> int:
    args, cfg = parse(argv)
    import torch

    from london_llm.training.mfu import device_peak, mfu
    from london_llm.training.precision import choose_device, choose_precision

    if args.threads:
        torch.set_num_threads(args.threads)
    device = choose_device(args.device)
    allocator = set_allocator(args.allocator) if device.type == "cpu" else "n/a"
    tokens_per_step = cfg.batch_size * cfg.max_length * cfg.gradient_accumulation_steps
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(cpu_description())
    print(load_line("before"), flush=True)
    print(f"device {device} ({name}); torch {torch.__version__}; allocator: {allocator}")
    print(f"shape: {cfg.n_layer} layers, {cfg.n_head} heads, width {cfg.n_embd}, context {cfg.max_length}, "
          f"batch {cfg.batch_size} x accum {cfg.gradient_accumulation_steps}, vocab {cfg.vocab_size}; "
          f"median of {args.rounds} rounds x {args.steps} steps after {args.warmup} warm-up")
    contenders = {}  # label -> (step function, flops per token or None, peak)
    if not args.no_reference:
        ref_precision = "fp32" if device.type != "cuda" else "autocast"
        contenders[f"nanoGPT {ref_precision} (yardstick)"] = (reference(cfg, device, args.reference_compile),
                                                              None, None)
    for requested in [d.strip() for d in args.dtypes.split(",") if d.strip()]:
        try:
            precision = choose_precision(device, requested)
        except ValueError as exc:
            print(f"  {requested}: skipped ({exc})")
            continue
        step, fpt = ours(cfg, precision)
        label = f"ours {precision.name}" + (" (auto)" if requested == "auto" else "")
        contenders[label] = (step, fpt, device_peak(device, precision.name, args.peak_flops))
        if not args.no_eval:
            contenders[f"{label} eval (no_grad)"] = (ours_eval(cfg, precision), None, label)
    peak_memory = {}
    for label, (step, _, _) in contenders.items():
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        t0 = time.perf_counter()
        for _ in range(args.warmup):
            step()
        sync(device)
        # printed as it goes: on a GPU compilation is most of a run's time, and a run ended by a
        # time limit (bench/gpu_check.sh) still says how far it got
        print(f"  warm-up of {label}: {args.warmup} steps in {time.perf_counter() - t0:.1f} s (any compilation "
              "included)", flush=True)
        if device.type == "cuda":
            peak_memory[label] = torch.cuda.max_memory_allocated(device)
    if len(peak_memory) > 1:
        print("  (peak mem: this process's while each ran, every contender's weights resident; "
              "a contender alone uses less)")
    # round-robin, so load from other processes falls on every contender alike; median per contender
    times = {label: [] for label in contenders}
    for _ in range(args.rounds):
        for label, (step, _, _) in contenders.items():
            times[label].append(timed(step, args.steps, device))
    yard = None
    speeds = {}
    for label, (step, fpt, peak) in contenders.items():
        dt = statistics.median(times[label])
        tok_s = speeds[label] = tokens_per_step / dt
        line = f"  {label:<32} {dt * 1000:8.1f} ms/step {tok_s:10,.0f} tok/s"
        if label in peak_memory:
            line += f"  peak mem {peak_memory[label] / 2**30:5.1f} GiB"
        if fpt is None and isinstance(peak, str):  # an evaluation figure, beside its training one
            line += f"  {tok_s / speeds[peak]:.2f}x training tok/s (target >= 2.5x)"
        elif fpt is None:
            yard = tok_s
        else:
            fraction = mfu(fpt, tok_s, peak)
            line += (f"  MFU {100 * fraction:5.1f}% of {peak.label}" if fraction is not None
                     else f"  MFU n/a ({peak.label})")
            if yard:
                line += f"  {tok_s / yard:.2f}x yardstick"
            if args.project_tokens:
                line += f"  ({args.project_tokens:.3g} tokens in {args.project_tokens / tok_s / 60:,.0f} min)"
        print(line)
    if device.type == "cpu" and args.allocator == "tuned" and yard and not args.no_as_shipped:
        as_shipped(argv, speeds)
    print(load_line("after"))
    if args.json:  # last: rerun_with_allocator reads a child's last line
        print(json.dumps({"tok_s": speeds, "allocator": args.allocator}))
    return 0


def as_shipped(argv, speeds: dict) -> None:
    """nanoGPT's train.py as a user runs it gets glibc's malloc defaults (one process-wide setting,
    so a child process measures it), while ours tunes malloc by default: print both comparisons."""
    print("re-measuring with glibc's malloc defaults in a child process ...", flush=True)
    argv = sys.argv[1:] if argv is None else argv
    try:
        result, lines = rerun_with_allocator(__file__, "default", [*argv, "--no_eval", "--json"])
    except ChildFailed as exc:
        print(f"  {exc}")
        return
    for line in lines:
        if line.startswith("  ") and not line.startswith(("  warm-up", "  (peak")):
            print("  [glibc defaults]" + line[1:])
    shipped = next((v for k, v in result["tok_s"].items() if k.startswith("nanoGPT")), None)
    for label, tok_s in speeds.items():
        if label.startswith("ours") and "eval" not in label and shipped:
            print(f"  {label} (tuned malloc, our default) vs nanoGPT as shipped (glibc defaults): "
                  f"{tok_s / shipped:.2f}x (target >= 1.3x on a CPU without bf16)")


if __name__ == "__main__":
    raise SystemExit(main())
