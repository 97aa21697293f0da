"""The inference core: loading, prompts with tags, our decoding loop against transformers' own
`generate`, the KV cache against uncached decoding, batching, seeds, stop strings, UTF-8 streaming."""
from __future__ import annotations

import json
import shutil

import pytest
import torch

from inference_fixtures import tiny_checkpoint  # noqa: F401 - session fixture

from london_llm.inference.engine import Engine, IncrementalDecoder
from london_llm.inference.errors import ContextOverflowError, InferenceError
from london_llm.inference.loading import load_model
from london_llm.inference.prompts import build_prompt, split_prompt
from london_llm.inference.sampling import SamplingParams

pytestmark = pytest.mark.corpus  # the test model is trained on ../shared/corpus

PROMPTS = ["The prisoner was indicted for", "In the year 1834, I walked through the streets of London", "Sir,"]


@pytest.fixture(scope="module")
def loaded(tiny_checkpoint):  # noqa: F811
    return load_model("checkpoint-30", checkpoints_dir=tiny_checkpoint.parent, device="cpu")


@pytest.fixture(scope="module")
def engine(loaded):
    return Engine(loaded)


@pytest.fixture(scope="module")
def random_folder(tiny_checkpoint, tmp_path_factory):  # noqa: F811
    """The same tokenizer with a freshly initialised model: its greedy choices vary from step to step."""
    from transformers import AutoConfig, AutoModelForCausalLM

    folder = tmp_path_factory.mktemp("random_model")
    for f in tiny_checkpoint.iterdir():
        if f.name.endswith((".json", ".txt")) and f.name not in ("manifest.json", "trainer_state.json"):
            shutil.copy2(f, folder / f.name)
    torch.manual_seed(3)
    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(str(tiny_checkpoint)))
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(4.0)  # sharper distributions than the default init: greedy paths that wander
    model.save_pretrained(folder)
    return folder


def hf_greedy(loaded, engine, prompt_ids, max_new_tokens, **kwargs):
    ids = torch.tensor([prompt_ids])
    out = loaded.model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                                do_sample=False, suppress_tokens=engine.suppressed, pad_token_id=engine.pad_id,
                                eos_token_id=sorted(engine.eos_ids), **kwargs)
    new = out[0, ids.shape[1]:].tolist()
    eos = sorted(engine.eos_ids)
    while new and new[-1] in eos and len(new) > 1 and new[-2] in eos:  # generate pads after eos with eos
        new.pop()
    return new


# --- loading --------------------------------------------------------------------------------

def test_load_reports_provenance_and_tags(loaded, tiny_checkpoint):  # noqa: F811
    assert loaded.path == tiny_checkpoint.resolve() and loaded.step == 30
    assert loaded.model.training is False and loaded.device.type == "cpu" and loaded.dtype == torch.float32
    manifest = json.loads((tiny_checkpoint / "manifest.json").read_text())
    assert loaded.sha256 == manifest["files"]["model.safetensors"]["sha256"]
    assert "<|kind:book|>" in loaded.conditioning_tags and any(t.startswith("<|period:") for t in loaded.conditioning_tags)
    same = load_model(tiny_checkpoint, device="cpu")  # a folder path works too
    assert same.path == loaded.path and same.step == 30


def test_load_errors_name_the_thing(tiny_checkpoint, tmp_path):  # noqa: F811
    with pytest.raises(InferenceError, match="checkpoint-30") as err:
        load_model("checkpoint-999", checkpoints_dir=tiny_checkpoint.parent)
    assert "checkpoint-999" in str(err.value)
    with pytest.raises(InferenceError, match="no model folder"):
        load_model(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InferenceError, match="config.json"):
        load_model(tmp_path / "empty")
    with pytest.raises(InferenceError, match="not in the local Hugging Face cache"):
        load_model("somebody/not-downloaded-model")
    broken = tmp_path / "checkpoint-30"
    shutil.copytree(tiny_checkpoint, broken)
    data = bytearray((broken / "model.safetensors").read_bytes())
    data[-10] ^= 0xFF
    (broken / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(InferenceError, match="sha256"):
        load_model(broken)
    with pytest.raises(InferenceError, match="--device"):
        load_model(tiny_checkpoint, device="tpu")


# --- prompts --------------------------------------------------------------------------------

def test_prompts_carry_tags_as_training_documents_do(loaded, engine):
    tags = loaded.conditioning_tags
    assert build_prompt("Hello", known_tags=tags) == "<|kind:book|>Hello"  # the documented default
    assert build_prompt("Hello", kind="none", known_tags=tags) == "Hello"
    period = next(t for t in tags if t.startswith("<|period:"))
    start = int(period[len("<|period:"):].split("-")[0])
    assert build_prompt("Hi", kind="ordinary", year=start + 3, known_tags=tags) == f"<|kind:ordinary|>{period}Hi"
    assert build_prompt("Hi", period=period[len("<|period:"):-2], known_tags=tags).endswith(f"{period}Hi")
    with pytest.raises(InferenceError, match="unknown --kind 'trialz'") as err:
        build_prompt("Hi", kind="trialz", known_tags=tags)
    assert "book" in str(err.value) and "ordinary" in str(err.value)  # the valid values are listed
    with pytest.raises(InferenceError, match="--year 1400"):
        build_prompt("Hi", year=1400, known_tags=tags)
    assert split_prompt(f"<|kind:book|>{period}<|kind:nope|>x", tags) == (["<|kind:book|>", period], "<|kind:nope|>x")
    ids = engine.encode(f"<|kind:book|>{period}The end")
    tok = loaded.tokenizer
    assert ids[:3] == [tok.bos_token_id, tok.convert_tokens_to_ids("<|kind:book|>"), tok.convert_tokens_to_ids(period)]
    assert tok.decode(ids[3:]) == "The end"
    assert engine.encode("<|endoftext|>")[1:] != [tok.eos_token_id]  # text is never a special id


# --- decoding -------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["checkpoint", "random"])
def test_greedy_matches_transformers_generate(which, loaded, engine, random_folder):
    if which == "random":
        loaded = load_model(random_folder, device="cpu")
        engine = Engine(loaded)
    for text in PROMPTS:
        prompt = build_prompt(text, known_tags=loaded.conditioning_tags)
        ours = engine.generate(prompt, SamplingParams(max_new_tokens=40, greedy=True))[0]
        theirs = hf_greedy(loaded, engine, engine.encode(prompt), 40)
        ours_ids = ours.token_ids
        assert ours_ids == theirs[:len(ours_ids)], text
        assert ours.finish_reason == ("length" if len(ours_ids) == 40 else "stop")
        if which == "random":
            assert len(set(ours_ids)) > 3  # a real test: the path wanders
    penalised = engine.generate(PROMPTS[0], SamplingParams(max_new_tokens=30, greedy=True, repetition_penalty=1.5))[0]
    assert penalised.token_ids == hf_greedy(loaded, engine, engine.encode(PROMPTS[0]), 30,
                                            repetition_penalty=1.5)[:len(penalised.token_ids)]


def test_cached_and_uncached_decoding_give_the_same_logits(loaded, random_folder):
    model = load_model(random_folder, device="cpu")
    runs = {}
    for use_cache in (True, False):
        engine = Engine(model, use_cache=use_cache)
        seen = []
        forward = engine._forward

        def recording(*args, _forward=forward, _seen=seen):
            logits = _forward(*args)
            _seen.append(logits.clone())
            return logits

        engine._forward = recording
        reqs = [engine.request(p, SamplingParams(max_new_tokens=12, greedy=True)) for p in PROMPTS]
        engine.run(reqs)
        runs[use_cache] = ([r.completions[0].token_ids for r in reqs], seen)
    assert runs[True][0] == runs[False][0]
    assert len(runs[True][1]) == len(runs[False][1]) > 5
    for a, b in zip(runs[True][1], runs[False][1]):
        torch.testing.assert_close(a, b, atol=2e-4, rtol=1e-4)


def test_a_batch_of_different_prompts_decodes_as_each_alone(random_folder):
    engine = Engine(load_model(random_folder, device="cpu"))
    params = [SamplingParams(max_new_tokens=15, greedy=True), SamplingParams(max_new_tokens=25, temperature=0.8, seed=7),
              SamplingParams(max_new_tokens=5, temperature=1.2, top_k=20, top_p=0.9, min_p=0.01, seed=9)]
    alone = [engine.generate(p, q)[0].token_ids for p, q in zip(PROMPTS, params)]
    reqs = [engine.request(p, q) for p, q in zip(PROMPTS, params)]
    engine.run(reqs)
    assert [r.completions[0].token_ids for r in reqs] == alone
    assert [len(t) for t in alone] == [15, 25, 5]


def test_seeds_make_samples_reproducible(engine):
    params = SamplingParams(max_new_tokens=30, temperature=1.0, top_k=50, seed=42)
    a = engine.generate(PROMPTS[0], params, n=3)
    b = engine.generate(PROMPTS[0], params, n=3)
    assert [c.token_ids for c in a] == [c.token_ids for c in b]
    assert [c.seed for c in a] == [42, 43, 44]
    assert len({tuple(c.token_ids) for c in a}) == 3  # different samples
    # sample j of seed s is the single sample of seed s + j
    alone = engine.generate(PROMPTS[0], SamplingParams(max_new_tokens=30, temperature=1.0, top_k=50, seed=43))[0]
    assert alone.token_ids == a[1].token_ids
    unseeded = engine.generate(PROMPTS[0], SamplingParams(max_new_tokens=30), n=2)
    assert unseeded[0].seed != unseeded[1].seed


def test_filters_that_leave_one_token_are_greedy(engine):
    greedy = engine.generate(PROMPTS[1], SamplingParams(max_new_tokens=20, greedy=True))[0].token_ids
    for params in (SamplingParams(max_new_tokens=20, top_k=1, seed=1), SamplingParams(max_new_tokens=20, min_p=1.0, seed=2),
                   SamplingParams(max_new_tokens=20, top_p=1e-6, seed=3), SamplingParams(max_new_tokens=20, temperature=0)):
        assert engine.generate(PROMPTS[1], params)[0].token_ids == greedy, params


def test_padded_embedding_ids_are_never_generated(loaded, engine):
    real = len(loaded.tokenizer)
    assert loaded.model.get_input_embeddings().num_embeddings > real  # the embedding really is padded
    assert set(range(real, loaded.model.get_input_embeddings().num_embeddings)) <= set(engine.suppressed)
    for c in engine.generate(PROMPTS[0], SamplingParams(max_new_tokens=60, temperature=8.0, seed=0), n=4):
        assert max(c.token_ids) < real and loaded.tokenizer.pad_token_id not in c.token_ids


def test_stop_strings_end_the_text_and_are_never_streamed(random_folder):
    engine = Engine(load_model(random_folder, device="cpu"))
    params = SamplingParams(max_new_tokens=40, temperature=0.9, seed=11)
    full = engine.generate(PROMPTS[0], params)[0].text
    assert len(full) > 12
    stop = full[6:9]
    cut = engine.generate(PROMPTS[0], SamplingParams(**{**params.to_dict(), "stop": [stop, "\u00a7never"]}))[0]
    assert cut.finish_reason == "stop" and cut.text == full[:full.index(stop)]
    pieces = list(engine.stream(PROMPTS[0], SamplingParams(**{**params.to_dict(), "stop": [stop]})))
    assert "".join(pieces) == cut.text and engine.last_stream.text == cut.text
    streamed = list(engine.stream(PROMPTS[0], params))
    assert "".join(streamed) == full and len(streamed) > 3


def test_streaming_never_splits_a_character(loaded):
    text = "£5 10s. — the Œuvres of Molière, naïve café; 日本 🙂 end"
    ids = loaded.tokenizer(text, add_special_tokens=False).input_ids
    assert len(ids) > len(text.split())  # some characters span several byte-level tokens
    decoder = IncrementalDecoder(loaded.tokenizer)
    pieces = [decoder.push(i) for i in ids] + [decoder.flush()]
    assert all("\ufffd" not in p for p in pieces)
    assert "".join(pieces) == text


def test_max_new_tokens_past_the_context_is_refused_not_cut(engine, loaded):
    context = loaded.context_length
    prompt_len = len(engine.encode(PROMPTS[0]))
    with pytest.raises(ContextOverflowError, match=f"at most {context - prompt_len} new tokens"):
        engine.generate(PROMPTS[0], SamplingParams(max_new_tokens=context))
    exact = engine.generate(PROMPTS[0], SamplingParams(max_new_tokens=context - prompt_len, greedy=True))[0]
    assert exact.completion_tokens <= context - prompt_len
    with pytest.raises(ContextOverflowError, match="shorten the prompt"):
        engine.generate("word " * (context + 5), SamplingParams(max_new_tokens=1))


@pytest.mark.parametrize("bad", [dict(max_new_tokens=0), dict(temperature=-1), dict(top_k=-2), dict(top_p=0),
                                 dict(top_p=1.5), dict(min_p=2), dict(repetition_penalty=0), dict(seed=-1),
                                 dict(stop=[""]), dict(stop=["x"] * 20), dict(max_new_tokens="5")])
def test_bad_sampling_values_are_refused_by_name(bad):
    with pytest.raises(InferenceError, match=next(iter(bad))):
        SamplingParams(**bad).validated()


def test_timings_and_counter(engine):
    before = engine.tokens_generated
    c = engine.generate(PROMPTS[0], SamplingParams(max_new_tokens=10, greedy=True))[0]
    assert c.prompt_tokens == len(engine.encode(PROMPTS[0])) and c.completion_tokens == len(c.token_ids)
    assert c.time_to_first_token_s > 0 and (c.tokens_per_s > 0 or c.completion_tokens < 2)
    assert engine.tokens_generated - before == c.completion_tokens


def test_score_gives_per_token_log_probs(engine):
    (scores,) = engine.score([PROMPTS[0]])
    assert len(scores) == len(engine.encode(PROMPTS[0])) - 1 and all(s <= 0 for s in scores)


def test_requests_joining_a_running_batch_decode_as_each_alone(random_folder):
    engine = Engine(load_model(random_folder, device="cpu"))
    params = [SamplingParams(max_new_tokens=30, greedy=True), SamplingParams(max_new_tokens=12, temperature=0.9, seed=4),
              SamplingParams(max_new_tokens=20, temperature=1.1, top_k=30, seed=8, repetition_penalty=1.3)]
    prompts = [PROMPTS[1], PROMPTS[2], PROMPTS[0]]  # a long prompt first: later, shorter ones are left-padded
    alone = [engine.generate(p, q)[0].token_ids for p, q in zip(prompts, params)]
    reqs = [engine.request(p, q, n=2 if i == 2 else 1) for i, (p, q) in enumerate(zip(prompts, params))]
    waiting = list(reqs[1:])
    live_counts = []

    def admit(free):  # one request joins every few steps
        if waiting and len(live_counts) % 4 == 3:
            return [waiting.pop(0)]
        return []

    for live in engine.steps(reqs[:1], admit=admit):
        live_counts.append(live)
    assert [r.completions[0].token_ids for r in reqs] == alone
    assert max(live_counts) >= 3  # they really decoded together
    assert reqs[2].completions[1].seed == 9 and reqs[2].completions[1].token_ids != alone[2]


def test_a_cancelled_row_leaves_before_the_next_step(engine):
    req = engine.request(PROMPTS[0], SamplingParams(max_new_tokens=50, temperature=1.0, seed=1), n=2)
    other = engine.request(PROMPTS[1], SamplingParams(max_new_tokens=20, greedy=True))
    seen = []
    for live in engine.steps([req, other]):
        seen.append(live)
        if len(seen) == 3:
            req.cancel.set()
    assert seen[3] == 1  # the cancelled request's two rows were gone at the very next step
    assert [c.finish_reason for c in req.completions] == ["cancelled", "cancelled"]
    assert other.completions[0].completion_tokens == 20


def test_the_top_k_fast_path_samples_the_same_distribution_as_filtering_the_vocabulary():
    from london_llm.inference.sampling import filter_logits, top_k_distribution

    torch.manual_seed(0)
    logits = torch.randn(4, 3000) * 3
    rows = [SamplingParams(top_k=50, temperature=0.7), SamplingParams(top_k=200, top_p=0.8),
            SamplingParams(top_k=10, min_p=0.2, temperature=1.5), SamplingParams(top_k=3000, top_p=0.5, min_p=0.05)]
    rows = [r.validated() for r in rows]
    full = filter_logits(logits, rows).softmax(dim=-1)
    probs, ids = top_k_distribution(logits, rows)
    fast = torch.zeros_like(full).scatter_add_(1, ids, probs)
    torch.testing.assert_close(fast, full, atol=1e-6, rtol=1e-5)
    assert (full > 0).sum(1).tolist()[0] == 50 and (full[1] > 0).sum() < 200  # the filters really filtered
