"""The model card (README.md): YAML front matter for the Hub, then what a reader needs to know.

Everything in it comes from artifacts: the checkpoint's trainer_state.json and config, the
tokenizer's london_tokenizer.json, the training documents (licences, sources, periods) and
stage 05's results. Nothing is typed in by hand, so the card cannot drift from the model.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from london_llm.tags import KINDS

from .corpus import CorpusStats, period_label
from .eval_results import Evaluation
from .licences import combine


@dataclass
class TrainingFacts:
    """What the card says about the run, read from trainer_state.json and metrics.jsonl."""

    step: int
    total_steps: Optional[int]
    tokens_seen: Optional[int]
    train_loss: Optional[float]
    best_val_loss: Optional[float]
    last_val_loss: Optional[float]
    precision: Optional[str]
    world_size: Optional[int]
    hardware: Optional[str]
    wall_seconds: Optional[float]
    config: dict[str, Any]
    preset: Optional[str]
    last_val_step: Optional[int] = None  # where last_val_loss was measured (None: unknown)
    best_val_step: Optional[int] = None  # where best_val_loss was measured (None: unknown)


def _this_val(t: TrainingFacts) -> str:
    """This checkpoint's own validation loss, or the carried one marked as measured elsewhere."""
    if t.last_val_loss is None:
        return _fmt(None)
    ppl = f" (perplexity {math.exp(t.last_val_loss):.1f})" if t.last_val_loss < 50 else ""
    if t.last_val_step == t.step:
        return _fmt(t.last_val_loss) + ppl
    where = f"step {t.last_val_step:,}" if t.last_val_step is not None else "an earlier step"
    return f"not measured at this step; the last measured, at {where}: {_fmt(t.last_val_loss)}{ppl}"


@dataclass
class CardInputs:
    repo_id: str
    model_name: str                  # the preset, e.g. "slm"
    checkpoint_name: str
    parameters: int
    shape: dict[str, Any]            # n_layer, n_head, n_embd, n_positions, vocab_size
    tokenizer: dict[str, Any]        # london_tokenizer.json
    training: TrainingFacts
    corpus: CorpusStats
    evaluation: Optional[Evaluation]
    dataset_repo_id: Optional[str] = None
    notes: list[str] = field(default_factory=list)  # e.g. "documents changed since training"


def front_matter(inp: CardInputs) -> dict[str, Any]:
    licence, _why = combine(inp.corpus.licences)
    meta: dict[str, Any] = {
        "license": licence,
        "language": ["en"],
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "tags": ["gpt2", "historical", "london", "early-modern-english", "text-generation", "from-scratch"],
    }
    if inp.dataset_repo_id:
        meta["datasets"] = [inp.dataset_repo_id]
    if inp.evaluation is not None:
        meta["model-index"] = model_index(inp)
    return meta


def model_index(inp: CardInputs) -> list[dict[str, Any]]:
    """One result per stage-05 task, each metric with its value (the Hub's model-index schema)."""
    results = []
    by_task: dict[str, list] = {}
    for row in inp.evaluation.rows:
        by_task.setdefault(row.task, []).append(row)
    for task, rows in by_task.items():
        results.append({
            "task": {"type": "text-generation", "name": "Text Generation"},
            "dataset": {"name": f"London historical evaluation: {task}", "type": f"london-historical-{task}"},
            "metrics": [{"type": r.metric, "name": f"{task} {r.metric}", "value": _round(r.value)} for r in rows],
        })
    return [{"name": inp.repo_id.split("/")[-1], "results": results}]


def render(inp: CardInputs) -> str:
    meta = front_matter(inp)
    yaml_text = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=100)
    parts = [f"---\n{yaml_text}---\n", _intro(inp), _data(inp, meta["license"]), _tokenizer(inp), _usage(inp),
             _training(inp), _evaluation(inp), _limitations(inp)]
    return "\n".join(p.rstrip() + "\n" for p in parts)


# --- sections ---------------------------------------------------------------------------------

def _intro(inp: CardInputs) -> str:
    s = inp.shape
    period = _period_span(inp.corpus)
    lines = [f"# {inp.repo_id.split('/')[-1]}", "",
             f"A GPT-2-style language model trained from scratch on historical London texts{period}: "
             f"{_millions(inp.parameters)} parameters ({s['n_layer']} layers, {s['n_head']} heads, "
             f"{s['n_embd']}-dimensional embeddings, a context of {s['n_positions']} tokens), with its own "
             f"byte-level BPE tokenizer of {inp.tokenizer.get('vocab_size', '?'):,} tokens.", "",
             f"This is `{inp.checkpoint_name}` of the `{inp.model_name}` run of the London Historical LLM "
             "project, exported unchanged: the weights are the trained ones, byte for byte."]
    for note in inp.notes:
        lines += ["", f"> Note: {note}"]
    return "\n".join(lines)


def _data(inp: CardInputs, licence: str) -> str:
    c = inp.corpus
    _lic, why = combine(c.licences)
    lines = ["## Training data and licences", "",
             f"{c.documents:,} documents ({c.words:,} words, {c.chars:,} characters) from "
             f"{len(c.sources)} source(s):", "",
             "| Source | Documents | Words | Years | Kinds | Licence |", "|---|---:|---:|---|---|---|"]
    for s in sorted(c.sources.values(), key=lambda s: -s.chars):
        years = f"{s.first_year}-{s.last_year}" if s.first_year is not None else "undated"
        kinds = ", ".join(f"{k} ({n:,})" for k, n in s.kinds.most_common())
        lic = "; ".join(sorted(t or "not recorded" for t in s.licence_texts))
        lines.append(f"| {s.source or s.source_id} (`{s.source_id}`) | {s.documents:,} | {s.words:,} | {years} | "
                     f"{kinds} | {lic} |")
    lines += ["", "Documents per period (quarter-century of the document's date):", "",
              "| Period | Documents | Characters |", "|---|---:|---:|"]
    for tag in sorted(c.periods, key=lambda t: (t == "undated", t)):
        lines.append(f"| {period_label(tag)} | {c.periods[tag]:,} | {c.period_chars[tag]:,} |")
    lines += ["", f"**Licence: `{licence}`**, because {why}. The original documents of 1500-1913 are in the "
              "public domain; the licences are those of the transcriptions and editions the model learnt from."]
    cites = sorted({cite for s in c.sources.values() for cite in s.citations})
    if cites:
        lines += ["", "Please cite the projects whose transcriptions the model was trained on:", ""]
        lines += [f"- {cite}" for cite in cites]
    return "\n".join(lines)


def _tokenizer(inp: CardInputs) -> str:
    tags = list(inp.tokenizer.get("conditioning_tags") or [])
    kinds = [t for t in tags if t.startswith("<|kind:")]
    periods = [t for t in tags if t.startswith("<|period:")]
    lines = ["## Tokenizer and conditioning tags", "",
             f"Byte-level BPE, {inp.tokenizer.get('vocab_size', 0):,} tokens, trained on the same documents. "
             "`<|endoftext|>` separates documents (and is the beginning-of-sequence token); `<|pad|>` pads. "
             "Every training document begins with tags for its kind and its period, so a prompt that starts "
             "with them steers what the model writes:", ""]
    for tag in kinds:
        kind = tag[len("<|kind:"):-2]
        lines.append(f"- `{tag}`: {KINDS.get(kind, kind)}")
    if periods:
        lines.append(f"- period tags, one per quarter-century: {', '.join(f'`{t}`' for t in periods)}")
    lines += ["", "Tags enter a prompt **by id** (`tokenizer.convert_tokens_to_ids`), after a leading "
              "`<|endoftext|>`, exactly as documents began in training. Text that merely contains "
              "`<|kind:book|>` is encoded as ordinary characters (`split_special_tokens` is on), so user text "
              "can never forge a tag."]
    return "\n".join(lines)


def usage_snippet(inp: CardInputs) -> str:
    tags = list(inp.tokenizer.get("conditioning_tags") or [])
    chosen = [next((t for t in tags if t.startswith("<|kind:")), None),
              next((t for t in reversed(tags) if t.startswith("<|period:")), None)]
    chosen = [t for t in chosen if t]
    return "\n".join([
        "import torch",
        "from transformers import AutoModelForCausalLM, AutoTokenizer",
        "",
        f'repo = "{inp.repo_id}"',
        "tokenizer = AutoTokenizer.from_pretrained(repo)",
        "model = AutoModelForCausalLM.from_pretrained(repo)",
        "",
        "# a document opens with <|endoftext|>, then its kind and period tags (by id), then its text",
        f"tags = {chosen!r}",
        "prompt = [tokenizer.eos_token_id] + tokenizer.convert_tokens_to_ids(tags)",
        'prompt += tokenizer("It was upon a Monday that", add_special_tokens=False).input_ids',
        "input_ids = torch.tensor([prompt])",
        "torch.manual_seed(0)",
        "out = model.generate(input_ids, attention_mask=torch.ones_like(input_ids), max_new_tokens=60,",
        "                     do_sample=True, temperature=0.8, top_k=50)",
        "print(tokenizer.decode(out[0, input_ids.shape[1]:], skip_special_tokens=True))",
    ])


def _usage(inp: CardInputs) -> str:
    return "\n".join(["## Usage", "", "```python", usage_snippet(inp), "```", "",
                      "`generation_config.json` holds the sampling defaults used in training's samples "
                      "(temperature 0.8, top-k 50) and suppresses the embedding's padding rows, which are not "
                      "tokens."])


def _training(inp: CardInputs) -> str:
    t = inp.training
    cfg = t.config
    rows = [("Steps", f"{t.step:,}" + (f" of {t.total_steps:,}" if t.total_steps else "")),
            ("Tokens seen", f"{t.tokens_seen:,}" if t.tokens_seen else "not recorded"),
            ("Batch", f"{cfg.get('batch_size')} sequences x {cfg.get('gradient_accumulation_steps', 1)} accumulation "
                      f"x {t.world_size or 1} process(es), {cfg.get('max_length')} tokens each"),
            ("Optimiser", f"AdamW, peak learning rate {cfg.get('learning_rate')}, {cfg.get('warmup_steps')} warm-up "
                          f"steps, cosine decay, weight decay {cfg.get('weight_decay')}"),
            ("Precision", t.precision or "not recorded"),
            ("Hardware", t.hardware or f"{t.world_size or 1} process(es); the device was not recorded"),
            ("Training time", _duration(t.wall_seconds)),
            ("Final training loss", _fmt(t.train_loss)),
            ("Validation loss (this checkpoint)", _this_val(t)),
            ("Best validation loss of the run", _fmt(t.best_val_loss) +
             (f" (step {t.best_val_step:,})" if t.best_val_loss is not None and t.best_val_step is not None else ""))]
    lines = ["## Training", "", "Trained from scratch with the project's own PyTorch loop (nanoGPT's recipe) on "
             "transformers' `GPT2LMHeadModel`; validation documents are held out by a seeded hash of their id.", "",
             "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines)


def _evaluation(inp: CardInputs) -> str:
    ev = inp.evaluation
    if ev is None:
        return "## Evaluation\n\nThis checkpoint has not been evaluated (stage 05 wrote no results for it)."
    bases = sorted({b for r in ev.rows for b in r.baselines})
    lines = ["## Evaluation", "", f"Stage 05 ({ev.mode or 'evaluation'}, {ev.created}):", "",
             "| Task | Metric | Value | ± stderr | n |" + "".join(f" {b} |" for b in bases),
             "|---|---|---:|---:|---:|" + "---:|" * len(bases)]
    for r in ev.rows:
        lines.append(f"| {r.task} | {r.metric}{'' if r.higher_is_better else ' (lower is better)'} | "
                     f"{_fmt(r.value)} | {_fmt(r.stderr)} | {r.n if r.n is not None else ''} |"
                     + "".join(f" {_fmt(r.baselines.get(b))} |" for b in bases))
    return "\n".join(lines)


def _limitations(inp: CardInputs) -> str:
    return "\n".join([
        "## Limitations and biases", "",
        "- The model writes the English of its sources: period spelling and grammar, long-s and keying slips "
        "of the transcriptions, legal and clerical formulae. It knows nothing after its latest text and is not a "
        "source of facts about the past: it invents names, dates and events.",
        "- Its sources carry their period's views: court records and criminal biographies of the poor, "
        "paupers examined by parish officers, colonial and religious attitudes, and the racism, misogyny, "
        "antisemitism and class contempt common in their time. The model reproduces them; its text needs "
        "reading with the same care as the originals.",
        "- The corpus over-represents what was printed, kept and transcribed (London, the Old Bailey, "
        "well-known authors), and under-represents the voices those records leave out.",
        "- It is a small research model: fluent in short passages, incoherent over long ones. Do not use it to "
        "make decisions about people.",
    ])


# --- formatting helpers ------------------------------------------------------------------------

def _period_span(c: CorpusStats) -> str:
    years = [(s.first_year, s.last_year) for s in c.sources.values() if s.first_year is not None]
    if not years:
        return ""
    return f" ({min(y[0] for y in years)}-{max(y[1] for y in years)})"


def _millions(n: int) -> str:
    return f"{n / 1e6:.1f}M" if n >= 1e5 else f"{n:,}"


def _fmt(x: Optional[float]) -> str:
    return "" if x is None else f"{x:.4f}"


def _round(x: float) -> float:
    return float(f"{x:.6g}")


def _duration(seconds: Optional[float]) -> str:
    if not seconds:
        return "not recorded"
    h, rem = divmod(int(round(seconds)), 3600)
    m, s = divmod(rem, 60)
    return f"{h} h {m:02d} min" if h else f"{m} min {s:02d} s"


def read_front_matter(readme: Path) -> dict[str, Any]:
    """The YAML mapping between the leading `---` lines of a card (ValueError if there is none)."""
    text = Path(readme).read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        raise ValueError(f"{readme} has no YAML front matter")
    end = text.find("\n---\n", 4)
    if end < 0:
        raise ValueError(f"{readme}: the front matter is not closed by ---")
    meta = yaml.safe_load(text[4:end])
    if not isinstance(meta, dict):
        raise ValueError(f"{readme}: the front matter is not a mapping")
    return meta
