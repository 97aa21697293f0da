"""The interactive prompt (inference_unified.py --interactive and the checkpoint check's --interactive).

Type text to continue it; commands start with `/`. One Ctrl-C stops a generation and keeps the
session, a second in a row exits; Ctrl-D exits; `quit` and `exit` are commands, not prompts.
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional, TextIO

from london_llm.inference.engine import Completion, Engine
from london_llm.inference.errors import InferenceError
from london_llm.inference.prompts import build_prompt, describe_tags, default_kind
from london_llm.inference.sampling import SamplingParams

MAX_READ_BYTES = 1_000_000
HISTORY_LINES = 1000
HELP = """Commands:
  /help              this list
  /show              the current settings and the model
  /set KEY=VALUE     change a setting, e.g. /set temperature=0.7  /set max_new_tokens=200  /set kind=trial
                     keys: max_new_tokens (max_length), temperature, top_k, top_p, min_p, repetition_penalty,
                     greedy (on/off), seed (a number, or none for a fresh one each time), stop (text; \\n for a
                     newline; empty clears), num_samples (n), kind, period, year (none clears), stream (on/off)
  /seed N            the same as /set seed=N (/seed none: a fresh seed each time)
  /regen             generate again from the last prompt
  /read FILE         use the text of FILE as the prompt
  /clear             forget the last prompt and clear the screen
  /exit              leave (also: exit, quit, Ctrl-D, or Ctrl-C twice)
Anything else is a prompt for the model to continue. Ctrl-C stops a generation."""


@dataclass
class Settings:
    """What a generation uses: sampling parameters, samples per prompt, conditioning tags, streaming."""
    params: SamplingParams = field(default_factory=SamplingParams)
    num_samples: int = 1
    kind: Optional[str] = None  # None: the documented default (book when the model knows it)
    period: Optional[str] = None
    year: Optional[int] = None
    stream: bool = True

    def prompt(self, text: str, known_tags) -> str:
        return build_prompt(text, kind=self.kind, period=self.period, year=self.year, known_tags=known_tags)


_ON = {"on", "true", "yes", "1"}
_OFF = {"off", "false", "no", "0"}
_ALIASES = {"max_length": "max_new_tokens", "n": "num_samples", "samples": "num_samples"}


def _none(value: str) -> bool:
    return value.strip().lower() in ("none", "")


def apply_setting(settings: Settings, key: str, value: str, known_tags) -> Settings:
    """A new Settings with KEY=VALUE applied and checked; InferenceError says what is wrong."""
    key = _ALIASES.get(key.strip().lower(), key.strip().lower())
    value = value.strip()
    params = settings.params
    try:
        if key in ("max_new_tokens", "top_k"):
            params = replace(params, **{key: None if key == "top_k" and _none(value) else int(value)})
        elif key in ("temperature", "top_p", "min_p", "repetition_penalty"):
            params = replace(params, **{key: None if key in ("top_p", "min_p") and _none(value) else float(value)})
        elif key == "seed":
            params = replace(params, seed=None if _none(value) else int(value))
        elif key in ("greedy", "stream"):
            if value.lower() not in _ON | _OFF:
                raise InferenceError(f"{key} is on or off, not {value!r}")
            flag = value.lower() in _ON
            if key == "greedy":
                params = replace(params, greedy=flag)
            else:
                settings = replace(settings, stream=flag)
        elif key == "stop":
            text = value.encode("utf-8").decode("unicode_escape") if "\\" in value else value
            params = replace(params, stop=(text,) if text else ())
        elif key == "num_samples":
            settings = replace(settings, num_samples=int(value))
            if not 1 <= settings.num_samples <= 16:
                raise InferenceError("num_samples must be from 1 to 16")
        elif key in ("kind", "period"):
            settings = replace(settings, **{key: None if key == "period" and _none(value) else value})
        elif key == "year":
            settings = replace(settings, year=None if _none(value) else int(value), period=None)
        else:
            raise InferenceError(f"unknown setting {key!r}; /help lists them")
    except ValueError:
        raise InferenceError(f"{key}={value!r} is not a number") from None
    params = params.validated()
    if key in ("kind", "period", "year"):
        settings.prompt("", known_tags)  # raises, listing the valid values, when the model lacks the tag
    return replace(settings, params=params)


def describe_settings(settings: Settings, known_tags) -> str:
    p = settings.params
    kind = settings.kind if settings.kind is not None else f"{default_kind(known_tags) or 'none'} (default)"
    when = f"year {settings.year}" if settings.year is not None else (settings.period or "none")
    stop = ", ".join(json.dumps(s) for s in p.stop) or "none"
    mode = "greedy" if p.greedy else (f"temperature {p.temperature}, top_k {p.top_k or 'off'}, top_p "
                                      f"{p.top_p or 'off'}, min_p {p.min_p or 'off'}")
    return (f"max_new_tokens {p.max_new_tokens}; {mode}; repetition_penalty {p.repetition_penalty}; "
            f"seed {p.seed if p.seed is not None else 'fresh each time'}; stop {stop}; num_samples "
            f"{settings.num_samples}; kind {kind}; period {when}; stream {'on' if settings.stream else 'off'}")


def stats_line(c: Completion) -> str:
    seed = f" · seed {c.seed}" if c.seed is not None else ""
    return (f"[{c.completion_tokens} tokens · first token {c.time_to_first_token_s:.3f} s · "
            f"{c.tokens_per_s:.1f} tokens/s · {c.finish_reason}{seed}]")


def completion_record(c: Completion, *, prompt: str, full_prompt: str, sample: int, settings: Settings,
                      provenance: dict) -> dict:
    """One JSON line of --json output: the text, its timings and the model's provenance."""
    return {"prompt": prompt, "prompt_with_tags": full_prompt, "sample": sample, "text": c.text,
            "token_ids": c.token_ids, "finish_reason": c.finish_reason, "seed": c.seed,
            "prompt_tokens": c.prompt_tokens, "completion_tokens": c.completion_tokens,
            "time_to_first_token_s": round(c.time_to_first_token_s, 6), "tokens_per_s": round(c.tokens_per_s, 3),
            "params": settings.params.to_dict(), **provenance}


def generate_and_print(engine: Engine, text: str, settings: Settings, out: TextIO, *, as_json: bool = False,
                       stats: Optional[TextIO] = None) -> list[Completion]:
    """Generate for one prompt and write it: streamed text (one sample), each sample, or JSON lines."""
    known = engine.loaded.conditioning_tags
    full_prompt = settings.prompt(text, known)
    stats = stats or out
    if settings.num_samples == 1 and settings.stream and not as_json:
        out.write(text)
        out.flush()
        for piece in engine.stream(full_prompt, settings.params):
            out.write(piece)
            out.flush()
        completions = [engine.last_stream]
        out.write("\n")
        stats.write(stats_line(completions[0]) + "\n")
        stats.flush()
        return completions
    completions = engine.generate(full_prompt, settings.params, settings.num_samples)
    for i, c in enumerate(completions):
        if as_json:
            out.write(json.dumps(completion_record(c, prompt=text, full_prompt=full_prompt, sample=i,
                                                   settings=settings, provenance=engine.loaded.provenance()),
                                 ensure_ascii=False) + "\n")
        else:
            if settings.num_samples > 1:
                out.write(f"--- sample {i + 1} of {settings.num_samples} ---\n")
            out.write(text + c.text + "\n")
            stats.write(stats_line(c) + "\n")
    out.flush()
    stats.flush()
    return completions


def model_banner(engine: Engine) -> str:
    lm = engine.loaded
    sha = f", sha256 {lm.sha256[:12]}" if lm.sha256 else ""
    step = f"step {lm.step}" if lm.step is not None else "no training step recorded"
    return (f"Loaded {lm.path} ({step}{sha}) on {lm.device.type}, {str(lm.dtype).replace('torch.', '')}; "
            f"context {lm.context_length} tokens")


class InteractiveSession:
    def __init__(self, engine: Engine, settings: Settings, *, history_file: Optional[Path] = None,
                 stdin: TextIO = sys.stdin, out: TextIO = sys.stdout):
        self.engine = engine
        self.settings = settings
        self.history_file = history_file
        self.stdin = stdin
        self.out = out
        self.last_prompt: Optional[str] = None
        self.interrupted = False  # the previous event was a Ctrl-C: the next one exits

    def _setup_history(self):
        if self.history_file is None or not self.stdin.isatty():
            return None
        try:
            import readline
        except ImportError:  # Windows without pyreadline: no history, everything else works
            return None
        try:
            readline.read_history_file(str(self.history_file))
        except (OSError, UnicodeDecodeError):
            pass
        readline.set_history_length(HISTORY_LINES)
        return readline

    def _save_history(self, readline) -> None:
        if readline is None:
            return
        try:
            Path(self.history_file).parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(str(self.history_file))
        except OSError:
            pass

    def _read_line(self) -> str:
        if self.stdin is sys.stdin:
            return input("> ")
        self.out.write("> ")
        self.out.flush()
        line = self.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")

    def run(self) -> int:
        readline = self._setup_history()
        self.out.write(f"{model_banner(self.engine)}\nType a prompt to continue it, /help for commands, "
                       "Ctrl-D or /exit to leave.\n")
        self.out.flush()
        try:
            while True:
                try:
                    line = self._read_line()
                except EOFError:
                    self.out.write("\n")
                    return 0
                except KeyboardInterrupt:
                    if self.interrupted:
                        self.out.write("\n")
                        return 0
                    self.interrupted = True
                    self.out.write("\n(Ctrl-C again to exit, or /exit)\n")
                    continue
                self.interrupted = False
                if not self.handle(line):
                    return 0
        finally:
            self._save_history(readline)
            self.out.flush()

    def handle(self, line: str) -> bool:
        """Run one line; False when the session should end."""
        stripped = line.strip()
        if not stripped:
            return True
        if stripped.lower() in ("exit", "quit", "/exit", "/quit"):
            return False
        if stripped.startswith("/"):
            return self._command(stripped)
        self._generate(line)
        return True

    def _command(self, line: str) -> bool:
        name, _, arg = line[1:].partition(" ")
        name, arg = name.lower(), arg.strip()
        known = self.engine.loaded.conditioning_tags
        try:
            if name == "help":
                self.out.write(HELP + "\n")
            elif name == "show":
                self.out.write(model_banner(self.engine) + "\n" + describe_settings(self.settings, known) + "\n"
                               + describe_tags(known) + "\n")
            elif name == "set":
                key, eq, value = arg.partition("=")
                if not eq or not key.strip():
                    raise InferenceError("usage: /set KEY=VALUE, e.g. /set temperature=0.7")
                self.settings = apply_setting(self.settings, key, value, known)
                self.out.write(describe_settings(self.settings, known) + "\n")
            elif name == "seed":
                self.settings = apply_setting(self.settings, "seed", arg, known)
                self.out.write(f"seed {self.settings.params.seed if self.settings.params.seed is not None else 'fresh each time'}\n")
            elif name == "regen":
                if self.last_prompt is None:
                    self.out.write("nothing to regenerate yet: type a prompt first\n")
                else:
                    self._generate(self.last_prompt)
            elif name == "read":
                self._generate(self._read_file(arg))
            elif name == "clear":
                self.last_prompt = None
                if self.out.isatty():
                    self.out.write("\033[2J\033[H")
                self.out.write("(cleared)\n")
            else:
                self.out.write(f"unknown command /{name}; /help lists them\n")
        except InferenceError as exc:
            self.out.write(f"ERROR: {exc}\n")
        self.out.flush()
        return True

    def _read_file(self, arg: str) -> str:
        if not arg:
            raise InferenceError("usage: /read FILE")
        path = Path(os.path.expanduser(arg))
        try:
            if path.stat().st_size > MAX_READ_BYTES:
                raise InferenceError(f"{path} is {path.stat().st_size:,} bytes; /read takes at most "
                                     f"{MAX_READ_BYTES:,} (and the context holds {self.engine.context_length} tokens)")
            return path.read_text(encoding="utf-8").rstrip("\n")
        except FileNotFoundError:
            raise InferenceError(f"no file {path}") from None
        except IsADirectoryError:
            raise InferenceError(f"{path} is a folder, not a text file") from None
        except UnicodeDecodeError:
            raise InferenceError(f"{path} is not UTF-8 text") from None
        except OSError as exc:
            raise InferenceError(f"cannot read {path}: {exc.strerror}") from None

    def _generate(self, text: str) -> None:
        self.last_prompt = text
        try:
            generate_and_print(self.engine, text, self.settings, self.out)
        except InferenceError as exc:
            self.out.write(f"ERROR: {exc}\n")
        except KeyboardInterrupt:
            self.interrupted = True
            self.out.write("\n[stopped; Ctrl-C again to exit]\n")
        self.out.flush()
