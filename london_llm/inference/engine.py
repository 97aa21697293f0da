"""The decoding loop: batched prefill, then one token per row per step with the KV cache.

Our own loop on GPT2LMHeadModel (not `generate`) because the server needs what `generate` does not
give together: rows with their own sampling parameters and seeds in one batch, a row that can be
cancelled (a client gone) between two steps, streamed text that never splits a UTF-8 character,
and stop strings held back until they are known not to match. Rows are left-padded (attention mask
and position ids per row), each prompt is prefilled once and its cache copied for its n samples,
and a finished row leaves the batch at once, so the remaining rows run at their own size.
"""
from __future__ import annotations

import inspect
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Optional, Sequence

import torch

from london_llm.inference.errors import ContextOverflowError, InferenceError
from london_llm.inference.loading import LoadedModel
from london_llm.inference.prompts import split_prompt
from london_llm.inference.sampling import SamplingParams, make_generator, next_tokens

MAX_PROMPT_CHARS = 100_000  # bounds the tokenizing; the context bounds the tokens anyway
MAX_SAMPLES = 16
HOLD_BACK_TOKENS = 8  # a genuine U+FFFD in the text is let through after this many tokens


@dataclass
class Completion:
    text: str
    token_ids: list[int]
    finish_reason: str  # "stop" | "length" (| "cancelled": a request whose caller went away)
    prompt_tokens: int
    completion_tokens: int
    time_to_first_token_s: float
    tokens_per_s: float  # decoding speed after the first token (the first's cost is the prefill's)
    seed: Optional[int] = None  # the seed this sample was drawn with (None for greedy)


class IncrementalDecoder:
    """Text deltas for a growing list of byte-level BPE ids, never ending inside a character.

    Decodes a short window (the last emitted piece and what came since) and emits what it adds,
    holding it back while the window ends in U+FFFD (the bytes of a character still arriving).
    """

    def __init__(self, tokenizer):
        backend = getattr(tokenizer, "backend_tokenizer", None)
        if backend is not None:
            self._decode = lambda ids: backend.decode(ids, skip_special_tokens=True)
        else:
            self._decode = lambda ids: tokenizer.decode(ids, skip_special_tokens=True,
                                                        clean_up_tokenization_spaces=False)
        self.ids: list[int] = []
        self._prefix = 0  # window start (already emitted context, keeps word-boundary spaces right)
        self._read = 0  # ids up to here are emitted

    def push(self, token_id: int) -> str:
        self.ids.append(int(token_id))
        return self._advance(final=False)

    def flush(self) -> str:
        return self._advance(final=True)

    def _advance(self, final: bool) -> str:
        if self._read == len(self.ids):
            return ""
        before = self._decode(self.ids[self._prefix:self._read])
        now = self._decode(self.ids[self._prefix:])
        incomplete = now.endswith("\ufffd") and len(self.ids) - self._read < HOLD_BACK_TOKENS
        if len(now) <= len(before) and not final or (incomplete and not final):
            return ""
        delta = now[len(before):] if now.startswith(before) else now
        self._prefix, self._read = self._read, len(self.ids)
        return delta


class _StopMatcher:
    """Finds the earliest stop string and says how much text is safe to emit before it is known."""

    def __init__(self, stops: Sequence[str]):
        self.stops = tuple(stops)
        self.longest = max((len(s) for s in self.stops), default=0)

    def find(self, text: str, start: int) -> int:
        """Index of the earliest stop string that ends after `start`, or -1."""
        best = -1
        lo = max(0, start - self.longest + 1)
        for s in self.stops:
            i = text.find(s, lo)
            if i != -1 and (best == -1 or i < best):
                best = i
        return best

    def safe_end(self, text: str) -> int:
        """Length of `text` that cannot be the start of a stop string still being written."""
        for hold in range(min(self.longest - 1, len(text)), 0, -1):
            tail = text[-hold:]
            if any(s.startswith(tail) for s in self.stops):
                return len(text) - hold
        return len(text)


class GenerationRequest:
    """One prompt with n samples; `on_text(sample, delta)` gets streamed text, `on_finish(sample,
    completion)` each finished sample, and setting `cancel` stops it before the next step."""

    def __init__(self, prompt_ids: list[int], params: SamplingParams, n: int = 1,
                 on_text: Optional[Callable[[int, str], None]] = None,
                 cancel: Optional[threading.Event] = None,
                 on_finish: Optional[Callable[[int, "Completion"], None]] = None):
        self.prompt_ids = prompt_ids
        self.on_finish = on_finish
        self.params = params
        self.n = n
        self.on_text = on_text
        self.cancel = cancel or threading.Event()
        self.created = time.perf_counter()
        self.completions: list[Optional[Completion]] = [None] * n


class _Row:
    """One sample being decoded."""

    def __init__(self, request: GenerationRequest, index: int, engine: "Engine"):
        self.request = request
        self.index = index
        params = request.params
        if params.greedy:
            self.generator, self.seed = None, None
        else:
            seed = None if params.seed is None else params.seed + index  # sample j of seed s: seed s+j
            self.generator, self.seed = make_generator(seed, engine.device)
        self.decoder = IncrementalDecoder(engine.tokenizer)
        self.stops = _StopMatcher(params.stop)
        self.text = ""
        self.emitted = 0
        self.first_token_at: Optional[float] = None
        self.finish_reason: Optional[str] = None

    def _emit(self, upto: int) -> None:
        if upto > self.emitted:
            if self.request.on_text is not None:
                self.request.on_text(self.index, self.text[self.emitted:upto])
            self.emitted = upto

    def add(self, token_id: int, is_eos: bool, now: float) -> None:
        """Take one generated token; sets finish_reason when the row is done."""
        if self.first_token_at is None:
            self.first_token_at = now
        if is_eos:
            self.finish(self.decoder.flush(), "stop")
            return
        start = len(self.text)
        self.text += self.decoder.push(token_id)
        if self._check_stop(start):
            return
        if len(self.decoder.ids) >= self.request.params.max_new_tokens:
            self.finish(self.decoder.flush(), "length")
            return
        self._emit(self.stops.safe_end(self.text) if self.stops.stops else len(self.text))

    def _check_stop(self, start: int) -> bool:
        if self.stops.stops:
            hit = self.stops.find(self.text, start)
            if hit != -1:
                self.text = self.text[:hit]
                self._emit(hit)
                self.finish_reason = "stop"
                return True
        return False

    def finish(self, tail: str, reason: str) -> None:
        start = len(self.text)
        self.text += tail
        if self._check_stop(start):
            return
        self._emit(len(self.text))
        self.finish_reason = reason

    def completion(self, prompt_tokens: int, now: float) -> Completion:
        ids = list(self.decoder.ids)
        first = self.first_token_at if self.first_token_at is not None else now
        speed = (len(ids) - 1) / (now - first) if len(ids) > 1 and now > first else 0.0
        return Completion(text=self.text, token_ids=ids, finish_reason=self.finish_reason or "length",
                          prompt_tokens=prompt_tokens, completion_tokens=len(ids),
                          time_to_first_token_s=first - self.request.created, tokens_per_s=speed, seed=self.seed)


@dataclass
class _Batch:
    """The live rows' tensors: tokens so far, attention mask, position ids, seen-token mask, KV cache."""
    live: list[int]
    ids: torch.Tensor
    mask: torch.Tensor
    positions: torch.Tensor
    seen: Optional[torch.Tensor]
    cache: object
    padded: bool = False  # some row is left-padded: the attention mask must be passed


class Engine:
    """Generates from a LoadedModel. One thread at a time (the server gives it a worker thread)."""

    def __init__(self, loaded: LoadedModel, *, use_cache: bool = True):
        self.loaded = loaded
        self.model = loaded.model
        self.tokenizer = loaded.tokenizer
        self.device = loaded.device
        self.use_cache = use_cache
        self.context_length = loaded.context_length
        self.tokens_generated = 0  # every token any row produced: the server's counter
        config = self.model.config
        vocab = self.model.get_input_embeddings().num_embeddings
        gen = getattr(self.model, "generation_config", None)
        eos = gen.eos_token_id if gen is not None and gen.eos_token_id is not None else config.eos_token_id
        if eos is None:
            eos = self.tokenizer.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, (list, tuple)) else [eos]) - {None}
        self.bos_id = self.tokenizer.bos_token_id if self.tokenizer.bos_token_id is not None else config.bos_token_id
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else next(iter(self.eos_ids), 0)
        self.suppressed = sorted(self._suppressed_ids(vocab, gen))
        self.suppress_mask = torch.zeros(vocab, dtype=torch.bool, device=self.device)
        if self.suppressed:
            self.suppress_mask[torch.tensor(self.suppressed, device=self.device)] = True
        self.tag_ids = {t: self.tokenizer.convert_tokens_to_ids(t) for t in loaded.conditioning_tags}
        self._cache_arg = "cache" if "cache" in inspect.signature(self.model.forward).parameters else "past_key_values"

    def _suppressed_ids(self, vocab: int, gen) -> set[int]:
        """Padded embedding rows (not tokens), the pad token, and the generation_config's own lists."""
        real = getattr(self.model.config, "tokenizer_vocab_size", None) or len(self.tokenizer)
        ids = set(range(min(real, vocab), vocab))
        if self.tokenizer.pad_token_id is not None and self.tokenizer.pad_token_id not in self.eos_ids:
            ids.add(self.tokenizer.pad_token_id)
        if gen is not None:
            ids.update(gen.suppress_tokens or [])
            ids.update(w[0] for w in (gen.bad_words_ids or []) if len(w) == 1)
        return {i for i in ids if 0 <= i < vocab}

    # --- prompts ---------------------------------------------------------------------------
    def encode(self, prompt: str) -> list[int]:
        """bos, the prompt's leading conditioning tags as their ids, then its text's tokens."""
        if not isinstance(prompt, str):
            raise InferenceError(f"a prompt must be text, not {type(prompt).__name__}")
        if len(prompt) > MAX_PROMPT_CHARS:
            raise ContextOverflowError(f"the prompt is {len(prompt):,} characters; at most {MAX_PROMPT_CHARS:,} "
                                       f"are read (the context holds {self.context_length} tokens)")
        tags, text = split_prompt(prompt, self.loaded.conditioning_tags)
        ids = [] if self.bos_id is None else [self.bos_id]
        ids += [self.tag_ids[t] for t in tags]
        if text:
            ids += self._encode_text(text)
        return ids

    def _encode_text(self, text: str) -> list[int]:
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        # the Rust tokenizer directly (thread-safe, no Python wrapper state) when it splits specials alike
        if backend is not None and bool(getattr(self.tokenizer, "split_special_tokens", False)) == bool(
                getattr(backend, "encode_special_tokens", False)):
            return backend.encode(text, add_special_tokens=False).ids
        return self.tokenizer(text, add_special_tokens=False).input_ids

    def check_fits(self, prompt_tokens: int, max_new_tokens: int) -> None:
        room = self.context_length - prompt_tokens
        if room < 1:
            raise ContextOverflowError(
                f"the prompt is {prompt_tokens} tokens (with bos and tags), which fills the model's context of "
                f"{self.context_length} tokens: shorten the prompt")
        if max_new_tokens > room:
            raise ContextOverflowError(
                f"the prompt ({prompt_tokens} tokens) plus max_new_tokens {max_new_tokens} exceeds the model's "
                f"context of {self.context_length} tokens: ask for at most {room} new tokens, or shorten the prompt")

    def request(self, prompt: str, params: SamplingParams, n: int = 1,
                on_text: Optional[Callable[[int, str], None]] = None,
                cancel: Optional[threading.Event] = None,
                on_finish: Optional[Callable[[int, Completion], None]] = None) -> GenerationRequest:
        """A checked request: parameters validated, prompt encoded, prompt + max_new_tokens within the context."""
        params = params.validated()
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_SAMPLES:
            raise InferenceError(f"n={n!r}: the number of samples must be from 1 to {MAX_SAMPLES}")
        ids = self.encode(prompt)
        self.check_fits(len(ids), params.max_new_tokens)
        return GenerationRequest(ids, params, n, on_text=on_text, cancel=cancel, on_finish=on_finish)

    # --- generating ------------------------------------------------------------------------
    def generate(self, prompt: str, params: SamplingParams, n: int = 1) -> list[Completion]:
        req = self.request(prompt, params, n)
        self.run([req])
        return list(req.completions)

    def stream(self, prompt: str, params: SamplingParams) -> Iterator[str]:
        """Text pieces as they are decided (never a split character, never part of a stop string).
        The finished Completion is `self.last_stream` once the iterator is exhausted."""
        pieces: list[str] = []
        req = self.request(prompt, params, 1, on_text=lambda _i, delta: pieces.append(delta))
        self.last_stream: Optional[Completion] = None
        try:
            for _ in self.steps([req]):
                if pieces:
                    yield "".join(pieces)
                    pieces.clear()
        finally:  # a consumer that stops early (Ctrl-C, closed client) cancels the rest
            req.cancel.set()
        if pieces:
            yield "".join(pieces)
        self.last_stream = req.completions[0]

    def run(self, requests: Sequence[GenerationRequest],
            admit: Optional[Callable[[int], list[GenerationRequest]]] = None, max_rows: int = 64) -> None:
        for _ in self.steps(requests, admit=admit, max_rows=max_rows):
            pass

    @torch.inference_mode()
    def steps(self, requests: Sequence[GenerationRequest],
              admit: Optional[Callable[[int], list[GenerationRequest]]] = None, max_rows: int = 64) -> Iterator[int]:
        """Decode `requests` together; yields the number of live rows after each step. Each request's
        `completions` are filled as its rows finish. Between two steps `admit(free_rows)` may hand in
        more requests: they are prefilled and join the running batch (continuous batching)."""
        rows: list[_Row] = []
        state: Optional[_Batch] = None
        logits = None
        pending = [r for r in requests if not r.cancel.is_set()]
        while True:
            if pending:
                start = len(rows)
                rows += [_Row(req, j, self) for req in pending for j in range(req.n)]
                new_state, new_logits = self._prefill(pending, start)
                if state is None or not state.live:
                    state, logits = new_state, new_logits
                else:
                    state, logits = self._merge(state, logits, new_state, new_logits)
                pending = []
            if state is None or not state.live:
                return
            batch_rows = [rows[i] for i in state.live]
            chosen = next_tokens(logits, [r.request.params for r in batch_rows],
                                 [r.generator for r in batch_rows], state.seen, self.suppress_mask)
            now = time.perf_counter()
            chosen_list = chosen.tolist()
            self.tokens_generated += len(chosen_list)
            for row, token in zip(batch_rows, chosen_list):
                if row.request.cancel.is_set():
                    row.finish_reason = "cancelled"
                else:
                    row.add(token, token in self.eos_ids, now)
            if state.seen is not None:
                state.seen.scatter_(1, chosen[:, None], True)
            state.ids = torch.cat([state.ids, chosen[:, None]], dim=1)
            state.mask = torch.cat([state.mask, state.mask.new_ones((len(state.live), 1))], dim=1)
            state.positions = torch.cat([state.positions, state.positions[:, -1:] + 1], dim=1)
            self._drop_finished(rows, state, now)
            yield len(state.live)
            # a caller that went away while the step was out is dropped before the next forward pass
            for i in state.live:
                if rows[i].request.cancel.is_set():
                    rows[i].finish_reason = "cancelled"
            self._drop_finished(rows, state, time.perf_counter())
            if admit is not None and (self.use_cache or not state.live) and self._can_merge(state):
                pending = [r for r in admit(max_rows - len(state.live)) if not r.cancel.is_set()]
            if state.live:
                if state.cache is not None:
                    logits = self._forward(state.ids[:, -1:], state.mask if state.padded else None,
                                           state.positions[:, -1:], state.cache)
                else:
                    logits = self._forward(state.ids, state.mask if state.padded else None, state.positions, None)

    def _prefill(self, requests: Sequence[GenerationRequest], first_row: int) -> tuple["_Batch", torch.Tensor]:
        """One forward pass over the left-padded prompts; cache, state and logits copied for each prompt's n."""
        dev = self.device
        lengths = [len(r.prompt_ids) for r in requests]
        width = max(lengths)
        ids = torch.full((len(requests), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(requests), width), dtype=torch.long)
        for i, r in enumerate(requests):
            ids[i, width - lengths[i]:] = torch.tensor(r.prompt_ids, dtype=torch.long)
            mask[i, width - lengths[i]:] = 1
        ids, mask = ids.to(dev), mask.to(dev)
        padded = any(n != width for n in lengths)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        expand = torch.tensor([i for i, r in enumerate(requests) for _ in range(r.n)], device=dev)
        cache = self._new_cache() if self.use_cache else None
        logits = self._forward(ids, mask if padded else None, positions, cache)
        if len(expand) != len(requests):
            logits = logits[expand]
            if cache is not None:
                cache.batch_select_indices(expand)
        mask, positions, ids = mask[expand], positions[expand], ids[expand]
        seen = None
        if any(r.params.repetition_penalty != 1.0 for r in requests):
            seen = torch.zeros((len(expand), self.suppress_mask.numel()), dtype=torch.bool, device=dev)
            for b, i in enumerate(expand.tolist()):
                seen[b, torch.tensor(requests[i].prompt_ids, device=dev)] = True
        live = list(range(first_row, first_row + len(expand)))
        return _Batch(live=live, ids=ids, mask=mask, positions=positions, seen=seen, cache=cache,
                      padded=padded), logits

    @staticmethod
    def _layers(cache) -> list:
        return list(getattr(cache, "layers", None) or [])

    def _can_merge(self, state: "_Batch") -> bool:
        """Joining a running batch edits the cache's tensors: only with a cache whose layers hold keys/values."""
        if state.cache is None:
            return True
        layers = self._layers(state.cache)
        return bool(layers) and all(hasattr(layer, "keys") and hasattr(layer, "values") for layer in layers)

    def _merge(self, a: "_Batch", logits_a: torch.Tensor, b: "_Batch", logits_b: torch.Tensor
               ) -> tuple["_Batch", torch.Tensor]:
        """One batch of `a`'s rows then `b`'s: the shorter is left-padded to the longer (masked out)."""
        width = max(a.mask.shape[1], b.mask.shape[1])

        def pad(t: torch.Tensor, k: int, value, dim: int) -> torch.Tensor:
            if k == 0:
                return t
            shape = list(t.shape)
            shape[dim] = k
            return torch.cat([t.new_full(shape, value), t], dim=dim)

        ka, kb = width - a.mask.shape[1], width - b.mask.shape[1]
        ids = torch.cat([pad(a.ids, ka, self.pad_id, 1), pad(b.ids, kb, self.pad_id, 1)])
        mask = torch.cat([pad(a.mask, ka, 0, 1), pad(b.mask, kb, 0, 1)])
        positions = torch.cat([pad(a.positions, ka, 0, 1), pad(b.positions, kb, 0, 1)])
        seen = None
        if a.seen is not None or b.seen is not None:
            vocab = self.suppress_mask.numel()
            sa = a.seen if a.seen is not None else torch.zeros((len(a.live), vocab), dtype=torch.bool, device=self.device)
            sb = b.seen if b.seen is not None else torch.zeros((len(b.live), vocab), dtype=torch.bool, device=self.device)
            seen = torch.cat([sa, sb])
        if a.cache is not None:
            for la, lb in zip(self._layers(a.cache), self._layers(b.cache)):
                la.keys = torch.cat([pad(la.keys, ka, 0, -2), pad(lb.keys, kb, 0, -2)])
                la.values = torch.cat([pad(la.values, ka, 0, -2), pad(lb.values, kb, 0, -2)])
        merged = _Batch(live=a.live + b.live, ids=ids, mask=mask, positions=positions, seen=seen, cache=a.cache,
                        padded=True)
        return merged, torch.cat([logits_a, logits_b])

    def _drop_finished(self, rows: list["_Row"], state: "_Batch", now: float) -> None:
        """Record the finished rows' completions and take them out of the batch (cache included)."""
        keep = []
        for b, i in enumerate(state.live):
            row = rows[i]
            if row.finish_reason is None:
                keep.append(b)
            else:
                done = row.completion(len(row.request.prompt_ids), now)
                row.request.completions[row.index] = done
                if row.request.on_finish is not None:
                    row.request.on_finish(row.index, done)
        if len(keep) == len(state.live):
            return
        state.live = [state.live[b] for b in keep]
        if not keep:
            return
        index = torch.tensor(keep, device=self.device)
        state.ids, state.mask, state.positions = state.ids[index], state.mask[index], state.positions[index]
        if state.seen is not None:
            state.seen = state.seen[index]
        if state.cache is not None:
            state.cache.batch_select_indices(index)
        if state.padded:  # columns that are padding for every remaining row go (the cache stays bounded)
            lead = int((state.mask.cumsum(1) == 0).sum(1).min())
            if lead:
                state.ids, state.mask, state.positions = (state.ids[:, lead:], state.mask[:, lead:],
                                                          state.positions[:, lead:])
                if state.cache is not None:
                    for layer in self._layers(state.cache):
                        layer.keys, layer.values = layer.keys[..., lead:, :], layer.values[..., lead:, :]
            state.padded = bool((state.mask == 0).any())

    def _new_cache(self):
        from transformers import DynamicCache

        return DynamicCache(config=self.model.config)

    def _forward(self, ids: torch.Tensor, mask: Optional[torch.Tensor], positions: torch.Tensor, cache) -> torch.Tensor:
        """Logits [B, V] (float32) of the last position; only that position goes through the lm head."""
        kwargs = {self._cache_arg: cache} if cache is not None else {}
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=cache is not None,
                         logits_to_keep=1, **kwargs)
        return out.logits[:, -1, :].float()

    @torch.inference_mode()
    def score(self, texts: list[str]) -> list[list[float]]:
        """Per-token log-probabilities of each text (after bos and leading tags), one sequence at a time."""
        out = []
        for text in texts:
            ids = self.encode(text)
            if len(ids) > self.context_length:
                raise ContextOverflowError(f"a text of {len(ids)} tokens exceeds the context of {self.context_length}")
            x = torch.tensor([ids], device=self.device)
            logits = self.model(input_ids=x, use_cache=False).logits[0, :-1].float()
            logp = torch.log_softmax(logits, dim=-1).gather(1, x[0, 1:, None])[:, 0]
            out.append(logp.tolist())
        return out
