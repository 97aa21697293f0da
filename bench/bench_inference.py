#!/usr/bin/env python3
"""Generation speed: our KV-cache decoding loop beside transformers' own `generate` and beside
uncached decoding, for the `tiny` and `slm` shapes; then the API's time to first token (p50, p95)
and throughput with 1 and 8 concurrent clients.

    python bench/bench_inference.py                           # both shapes, then the API on tiny
    python bench/bench_inference.py --shapes slm --new_tokens 200 --rounds 5
    python bench/bench_inference.py --api_shape slm --api_requests 4 --device cuda
    python bench/bench_inference.py --memory                  # malloc: tuned vs glibc's defaults

`--memory` measures instead what the CPU allocator costs generation (london_llm/allocator.py, which
training turns on): sys time, minor page faults, tokens/s and peak RSS of our loop at several
batches and lengths, with the tuned malloc and with glibc's defaults, each in its own child process
(the setting is process-wide). `--allocator` picks the malloc of this process's own tables.

Models are randomly initialised at the preset's shape (the speed does not depend on the weights),
with a word-level tokenizer of the preset's vocabulary size, saved as a model folder and loaded by
the inference core as a user's checkpoint is. Every contender generates exactly --new_tokens tokens
(eos is suppressed) with the same sampling settings; figures are medians over --rounds, the
contenders taking turns within a round. Quote them with the CPU and the load printed first:
the targets are ratios (ours >= generate; 8 clients >= 2.5x one client's throughput).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import config  # noqa: E402
from _machine import (ChildFailed, cpu_description, cpu_seconds, load, load_line, rerun_with_allocator,  # noqa: E402
                      set_allocator)


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--shapes", default="tiny,slm", help="comma-separated presets to measure decoding on")
    p.add_argument("--prompt_tokens", type=int, default=16, help="prompt length")
    p.add_argument("--new_tokens", type=int, default=100, help="tokens generated per sequence")
    p.add_argument("--rounds", type=int, default=3, help="rounds (the median is reported)")
    p.add_argument("--batch", type=int, default=8, help="also measure n samples in one call (0: skip)")
    p.add_argument("--no_uncached", action="store_true", help="skip uncached decoding (slow on big shapes)")
    p.add_argument("--api_shape", default="tiny", help="preset served for the API figures ('' skips the API)")
    p.add_argument("--api_requests", type=int, default=6, help="requests per client")
    p.add_argument("--api_tokens", type=int, default=48, help="max_tokens per API request")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | mps")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    p.add_argument("--allocator", choices=("shipped", "tuned", "default"), default="shipped",
                   help="glibc malloc here: as the inference core leaves it, london_llm.allocator's tuning, "
                        "or glibc's defaults (LONDON_LLM_MALLOC=default)")
    p.add_argument("--memory", action="store_true",
                   help="only the allocator comparison: tuned vs glibc defaults, a child process each")
    p.add_argument("--memory_cases", default="tiny:1x100,tiny:8x100,slm:1x100,slm:1x400,slm:8x200",
                   help="shape:samples x new tokens, comma-separated, for --memory")
    p.add_argument("--memory_probe", help=argparse.SUPPRESS)  # a child of --memory: FOLDER of one shape
    return p.parse_args(argv)


def torch_line() -> str:
    """What the common CPU line lacks: the kernels torch picked (its CPU capability), threads, any GPU."""
    import torch

    capability = getattr(torch.backends.cpu, "get_cpu_capability", lambda: "?")()
    gpu = f"; GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ""
    return f"torch {torch.__version__}, capability {capability}, {torch.get_num_threads()} threads{gpu}"


def make_folder(preset: str, root: Path) -> Path:
    """A random model of the preset's shape with a word-level tokenizer of its vocabulary, saved as a folder."""
    import tokenizers
    import torch
    from transformers import PreTrainedTokenizerFast

    from london_llm.tags import END_OF_TEXT, PAD
    from london_llm.training.model import build_model, generation_config

    cfg = config.PRESETS[preset]
    words = [END_OF_TEXT, PAD] + [f"w{i}" for i in range(cfg.vocab_size - 2)]
    backend = tokenizers.Tokenizer(tokenizers.models.WordLevel({w: i for i, w in enumerate(words)}, unk_token=PAD))
    backend.pre_tokenizer = tokenizers.pre_tokenizers.WhitespaceSplit()
    backend.decoder = tokenizers.decoders.WordPiece(prefix="##")  # joins words with spaces
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token=END_OF_TEXT, eos_token=END_OF_TEXT,
                                  pad_token=PAD, unk_token=PAD)
    model = build_model(cfg, cfg.vocab_size, 0, 0, pad_id=1, seed=0)
    folder = root / preset
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    gen = generation_config(model.config)
    gen.suppress_tokens = sorted(set(gen.suppress_tokens or []) | {0})  # no eos: every run makes new_tokens tokens
    gen.save_pretrained(folder)
    del model
    torch.manual_seed(0)
    return folder


def timed(fn, device) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds): on a shared machine the CPU time is the steadier figure."""
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()
    t, c = time.perf_counter(), cpu_seconds()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t, cpu_seconds() - c


def bench_decoding(preset: str, folder: Path, args) -> dict:
    import torch

    from london_llm.inference.engine import Engine
    from london_llm.inference.loading import load_model
    from london_llm.inference.sampling import SamplingParams

    loaded = load_model(folder, device=args.device)
    cfg = config.PRESETS[preset]
    new = min(args.new_tokens, cfg.max_length - args.prompt_tokens - 1)
    g = torch.Generator().manual_seed(1)
    prompt_ids = [0] + torch.randint(2, cfg.vocab_size, (args.prompt_tokens - 1,), generator=g).tolist()
    prompt = " ".join(loaded.tokenizer.convert_ids_to_tokens(prompt_ids[1:]))
    cached, uncached = Engine(loaded), Engine(loaded, use_cache=False)
    assert cached.encode(prompt) == prompt_ids, "the benchmark prompt must encode to its ids"
    params = SamplingParams(max_new_tokens=new, temperature=0.8, top_k=50, seed=0)
    ids = torch.tensor([prompt_ids], device=loaded.device)
    model = loaded.model

    def hf(n=1):
        with torch.inference_mode():
            out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=new, min_new_tokens=new,
                                 do_sample=True, temperature=0.8, top_k=50, num_return_sequences=n,
                                 pad_token_id=1)
        assert out.shape[1] == ids.shape[1] + new

    def ours(n=1, engine=cached):
        out = engine.generate(prompt, params, n=n)
        assert all(c.completion_tokens == new for c in out)

    contenders = {"ours (KV cache)": lambda: ours(), "transformers generate": lambda: hf()}
    if not args.no_uncached:
        contenders["ours, uncached"] = lambda: ours(engine=uncached)
    if args.batch > 1:
        contenders[f"ours, n={args.batch} in one call"] = lambda: ours(args.batch)
        contenders[f"generate, num_return_sequences={args.batch}"] = lambda: hf(args.batch)
    for fn in contenders.values():  # warm-up: allocations, oneDNN kernels
        fn()
    times: dict[str, list[float]] = {k: [] for k in contenders}
    cpu: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(args.rounds):
        for label, fn in contenders.items():
            wall, used = timed(fn, loaded.device)
            times[label].append(wall)
            cpu[label].append(used)
    rows = {}
    print(f"\n{preset}: {cfg.n_layer} layers x {cfg.n_embd}, vocab {cfg.vocab_size}, prompt {args.prompt_tokens} "
          f"tokens, {new} new tokens, top-k 50 sampling, median of {args.rounds}; {loaded.device}, "
          f"{str(loaded.dtype).replace('torch.', '')}")
    base = base_cpu = None
    per_cpu = {}
    for label, ts in times.items():
        n = args.batch if "n=" in label or "num_return" in label else 1
        rows[label] = round(n * new / statistics.median(ts), 1)
        per_cpu[label] = round(n * new / max(statistics.median(cpu[label]), 1e-9), 1)
        if label == "transformers generate":
            base, base_cpu = rows[label], per_cpu[label]
    print(f"  {'':<38}{'tokens/s':>10}  {'vs generate':>11}  {'tokens/CPU-s':>12}  {'vs generate':>11}")
    for label, rate in rows.items():
        single = "n=" not in label and "num_return" not in label
        ratio = f"{rate / base:10.2f}x" if base and single else " " * 11
        ratio_cpu = f"{per_cpu[label] / base_cpu:10.2f}x" if base_cpu and single else ""
        print(f"  {label:<38}{rate:>10.1f}  {ratio}  {per_cpu[label]:>12.1f}  {ratio_cpu}")
    if args.batch > 1:
        b, h = f"ours, n={args.batch} in one call", f"generate, num_return_sequences={args.batch}"
        print(f"  batched: ours {rows[b] / rows[h]:.2f}x generate's num_return_sequences (wall), "
              f"{per_cpu[b] / per_cpu[h]:.2f}x (CPU time)")
    return {"tokens_per_s": rows, "tokens_per_cpu_s": per_cpu}


def _status_kib(field: str) -> Optional[int]:
    """VmRSS / VmHWM of this process in KiB (Linux), else None."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    """Linux resets VmHWM to the current RSS on `5` written to clear_refs (since 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def memory_probe(folder: Path, preset: str, args) -> dict:
    """In a child process whose malloc is set: per case, one warm-up call then --rounds measured calls."""
    import resource

    import torch

    from london_llm.inference.engine import Engine
    from london_llm.inference.loading import load_model, set_threads
    from london_llm.inference.sampling import SamplingParams

    loaded = load_model(folder, device="cpu")
    set_threads(loaded.model, args.threads, loaded.device)  # as the CLI and the evaluation do
    engine = Engine(loaded)
    cfg = config.PRESETS[preset]
    g = torch.Generator().manual_seed(1)
    prompt_ids = torch.randint(2, cfg.vocab_size, (args.prompt_tokens - 1,), generator=g).tolist()
    prompt = " ".join(loaded.tokenizer.convert_ids_to_tokens(prompt_ids))
    out = {"rss_after_load_mib": round((_status_kib("VmRSS") or 0) / 1024, 1), "threads": torch.get_num_threads(),
           "cases": {}}
    for case in cases_of(args.memory_cases, preset):
        n, new = case
        new = min(new, cfg.max_length - args.prompt_tokens - 1)
        params = SamplingParams(max_new_tokens=new, temperature=0.8, top_k=50, seed=0)
        engine.generate(prompt, params, n=n)  # warm-up: the first call faults its memory in either way
        reset = _reset_peak_rss()
        walls, sys_s, user_s, faults = [], [], [], []
        for _ in range(args.rounds):
            before, t = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            done = engine.generate(prompt, params, n=n)
            wall, after = time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF)
            assert all(c.completion_tokens == new for c in done)
            walls.append(wall)
            sys_s.append(after.ru_stime - before.ru_stime)
            user_s.append(after.ru_utime - before.ru_utime)
            faults.append(after.ru_minflt - before.ru_minflt)
        tokens = n * new
        out["cases"][f"{n}x{new}"] = {
            "tokens_per_s": round(tokens / statistics.median(walls), 1),
            "tokens_per_cpu_s": round(tokens / max(statistics.median(u + k for u, k in zip(user_s, sys_s)), 1e-9), 1),
            "sys_s": round(statistics.median(sys_s), 3), "user_s": round(statistics.median(user_s), 3),
            "faults_per_token": round(statistics.median(faults) / tokens, 1),
            "peak_rss_mib": round((_status_kib("VmHWM") or 0) / 1024, 1) if reset else None}
    out["process_peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def cases_of(spec: str, preset: str) -> list[tuple[int, int]]:
    cases = []
    for item in (c.strip() for c in spec.split(",")):
        if item.startswith(preset + ":"):
            n, new = item.split(":", 1)[1].lower().split("x")
            cases.append((int(n), int(new)))
    return cases


def bench_memory(folders: dict, args) -> dict:
    """Each shape's cases in two child processes, tuned malloc then glibc's defaults, side by side."""
    results = {}
    for preset, folder in folders.items():
        if not cases_of(args.memory_cases, preset):
            continue
        probe = ["--memory_probe", str(folder), "--shapes", preset, "--memory_cases", args.memory_cases,
                 "--rounds", str(args.rounds), "--prompt_tokens", str(args.prompt_tokens)]
        probe += ["--threads", str(args.threads)] if args.threads else []
        try:
            got = {choice: rerun_with_allocator(__file__, choice, probe)[0] for choice in ("tuned", "default")}
        except ChildFailed as exc:
            raise SystemExit(str(exc)) from None
        cfg = config.PRESETS[preset]
        print(f"\nmalloc on {preset} ({cfg.n_layer} x {cfg.n_embd}, vocab {cfg.vocab_size}; {got['tuned']['threads']} "
              f"thread(s); prompt {args.prompt_tokens} tokens; median of {args.rounds} calls after one warm-up; "
              f"load average now {load()})")
        print(f"  RSS after loading: tuned {got['tuned']['rss_after_load_mib']} MiB, "
              f"defaults {got['default']['rss_after_load_mib']} MiB")
        print(f"  {'samples x tokens':<17}{'malloc':<10}{'tokens/s':>9}{'tokens/CPU-s':>13}{'sys s':>8}{'user s':>8}"
              f"{'faults/token':>13}{'peak RSS MiB':>13}")
        for case in got["tuned"]["cases"]:
            for choice in ("tuned", "default"):
                r = got[choice]["cases"][case]
                print(f"  {case if choice == 'tuned' else '':<17}{choice:<10}{r['tokens_per_s']:>9.1f}"
                      f"{r['tokens_per_cpu_s']:>13.1f}{r['sys_s']:>8.3f}"
                      f"{r['user_s']:>8.3f}{r['faults_per_token']:>13.1f}{r['peak_rss_mib'] or float('nan'):>13.1f}")
            t, d = got["tuned"]["cases"][case], got["default"]["cases"][case]
            print(f"  {'':<17}tuned/defaults: {t['tokens_per_s'] / d['tokens_per_s']:.2f}x tokens/s, "
                  f"{t['tokens_per_cpu_s'] / d['tokens_per_cpu_s']:.2f}x tokens/CPU-s")
        print(f"  process peak RSS: tuned {got['tuned']['process_peak_rss_mib']} MiB, "
              f"defaults {got['default']['process_peak_rss_mib']} MiB")
        results[preset] = got
    return results


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_api(preset: str, folder: Path, args) -> dict:
    import httpx

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(folder.parent / "serve.log", "w")
    proc = subprocess.Popen([sys.executable, str(ROOT / "06_inference" / "serve.py"), "--checkpoint", str(folder),
                             "--port", str(port), "--device", args.device, "--log_level", "warning"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                raise SystemExit(f"the server exited: {(folder.parent / 'serve.log').read_text()}")
            time.sleep(0.1)
        prompt = "w1 w2 w3 w4 w5 w6 w7 w8"

        def one_request(seed: int) -> tuple[float, int]:
            body = {"prompt": prompt, "max_tokens": args.api_tokens, "temperature": 0.8, "top_k": 50,
                    "seed": seed, "stream": True, "kind": "none"}
            start, first, pieces = time.perf_counter(), None, 0
            with httpx.stream("POST", url + "/v1/completions", json=body, timeout=300) as r:
                for line in r.iter_lines():
                    if line.startswith("data: {") and first is None:
                        first = time.perf_counter() - start
                    if line.startswith("data: {") and '"finish_reason": null' in line:
                        pieces += 1
            return first or float("nan"), pieces

        def client(i: int) -> list[float]:
            return [one_request(1000 * i + k)[0] for k in range(args.api_requests)]

        one_request(0)  # warm-up
        results = {}
        print(f"\nAPI on {preset} (a real serve.py process; {args.api_tokens} tokens a request, "
              f"{args.api_requests} requests per client, streamed)")
        for clients in (1, 8):
            before = httpx.get(url + "/health", timeout=30).json()["tokens_generated"]
            start = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(clients) as pool:
                ttfts = [t for ts in pool.map(client, range(clients)) for t in ts]
            wall = time.perf_counter() - start
            tokens = httpx.get(url + "/health", timeout=30).json()["tokens_generated"] - before
            ttfts.sort()
            p50 = statistics.median(ttfts)
            p95 = ttfts[min(len(ttfts) - 1, int(round(0.95 * (len(ttfts) - 1))))]
            results[clients] = {"tokens_per_s": round(tokens / wall, 1), "ttft_p50_s": round(p50, 4),
                                "ttft_p95_s": round(p95, 4)}
            print(f"  {clients} client{'s' if clients > 1 else ' '}: {tokens / wall:8.1f} tokens/s aggregate; "
                  f"time to first token p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")
        ratio = results[8]["tokens_per_s"] / results[1]["tokens_per_s"]
        print(f"  8 clients: {ratio:.2f}x one client's throughput (target >= 2.5x)")
        results["ratio_8_over_1"] = round(ratio, 2)
        return results
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def main(argv=None) -> int:
    args = parse(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Writing model shards" bars between the tables

    allocator = set_allocator(args.allocator)
    if args.memory_probe:  # a child of --memory: one JSON line
        print(json.dumps(memory_probe(Path(args.memory_probe), args.shapes.strip(), args)))
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    print(cpu_description())
    print(load_line("before"), flush=True)
    print(f"{torch_line()}; malloc: {allocator if not args.memory else 'see below'}")
    summary = {}
    with tempfile.TemporaryDirectory(prefix="bench_inference_") as tmp:
        folders = {}
        for preset in [s.strip() for s in args.shapes.split(",") if s.strip()]:
            folders[preset] = make_folder(preset, Path(tmp))
            if not args.memory:
                summary[preset] = bench_decoding(preset, folders[preset], args)
        if args.memory:
            summary["malloc"] = bench_memory(folders, args)
        elif args.api_shape:
            folder = folders.get(args.api_shape) or make_folder(args.api_shape, Path(tmp))
            summary["api"] = bench_api(args.api_shape, folder, args)
    print(load_line("after"))
    print("\n" + json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
