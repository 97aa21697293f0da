"""Stage 05 end to end, the way a user runs it: 05_evaluation/run_evaluation.py as a subprocess on
checkpoints trained here (the tiny preset, real period text from ../shared/corpus), with every
socket to anywhere but loopback refused and recorded; and the hand-computable cases that need a
real tokenizer (a model that puts all its probability on one token, a uniform model)."""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TRAIN = REPO / "04_training" / "train_model_slm.py"
EVAL = REPO / "05_evaluation" / "run_evaluation.py"
TASKS = REPO / "05_evaluation" / "tasks"
STEPS = 24

pytestmark = [pytest.mark.slow, pytest.mark.corpus]

GUARD = '''
import os, socket
_log = os.environ["NET_GUARD_LOG"]
_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex
def _allowed(self, address):
    if self.family not in (socket.AF_INET, socket.AF_INET6):
        return True
    return str(address[0]) in ("127.0.0.1", "::1", "localhost")
def connect(self, address):
    if not _allowed(self, address):
        with open(_log, "a") as fh:
            fh.write(repr(address) + "\\n")
        raise OSError("non-loopback connection refused in tests: %r" % (address,))
    return _connect(self, address)
def connect_ex(self, address):
    if not _allowed(self, address):
        with open(_log, "a") as fh:
            fh.write(repr(address) + "\\n")
        return 111
    return _connect_ex(self, address)
socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
open(_log + ".active", "a").close()
'''


@pytest.fixture(scope="module")
def run(small_documents, tmp_path_factory):
    """LONDON_LLM_HOME with a tiny model trained STEPS steps (checkpoints 12 and 24), a network guard."""
    from london_llm.tokenization.training import train_tokenizer

    root = tmp_path_factory.mktemp("eval")
    home = root / "home"
    tok = train_tokenizer(small_documents, root / "tokenizer", vocab_size=1200, show_progress=False)
    guard = root / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD)
    env = dict(os.environ, LONDON_LLM_HOME=str(home), PYTHONPATH=f"{guard}{os.pathsep}{REPO}",
               NET_GUARD_LOG=str(root / "net.log"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               HF_DATASETS_OFFLINE="1", WANDB_MODE="disabled")
    env.pop("HF_DATASETS_CACHE", None)
    result = subprocess.run([sys.executable, str(TRAIN), "--model", "tiny", "--no_wandb", "--max_steps", str(STEPS),
                             "--save_steps", "12", "--eval_steps", "12", "--logging_steps", "4", "--eval_iters", "2",
                             "--batch_size", "4", "--max_length", "64", "--warmup_steps", "4",
                             "--tokenizer_dir", str(tok), "--documents_file", str(small_documents)],
                            cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    ckdir = home / "09_models" / "checkpoints" / "tiny"
    assert (ckdir / "checkpoint-24").is_dir() and (ckdir / "checkpoint-12").is_dir()
    return {"root": root, "home": home, "env": env, "ckdir": ckdir, "tokenizer": tok, "docs": small_documents,
            "net_log": root / "net.log"}


def evaluate(run, *args, timeout=900):
    return subprocess.run([sys.executable, str(EVAL), *args], cwd=run["root"], env=run["env"],
                          capture_output=True, text=True, timeout=timeout)


def evaluate_in_process(run, monkeypatch, capsys, *args) -> subprocess.CompletedProcess:
    """run_evaluation.py's main in this process, through its door (run_command), in the run's home: for
    runs refused before they evaluate (no interpreter start-up, whose torch and lm_eval imports cost more
    than the refusal). Exit code, stdout and stderr as `evaluate` gives them."""
    import config
    from london_llm.errors import run_command
    from london_llm.evaluation.cli import main

    monkeypatch.setenv("LONDON_LLM_HOME", str(run["home"]))
    capsys.readouterr()
    try:
        code = run_command(main, [str(a) for a in args], prog=EVAL.name, paths_fn=config.paths,
                           presets=list(config.PRESETS))
    except SystemExit as exc:  # argparse's refusals
        code = exc.code
    out = capsys.readouterr()
    return subprocess.CompletedProcess([EVAL, *args], code, out.out, out.err)


def no_network(run):
    assert Path(str(run["net_log"]) + ".active").exists(), "the network guard did not load"
    assert not run["net_log"].exists(), "non-loopback connections: " + run["net_log"].read_text()


def test_quick_mode_on_two_checkpoints(run):
    import time

    out = run["root"] / "quick"
    started = time.perf_counter()
    r = evaluate(run, "--mode", "quick", "--model", "tiny", "--checkpoint", "checkpoint-12,checkpoint-24",
                 "--output_dir", str(out))
    wall = time.perf_counter() - started
    assert r.returncode == 0, r.stdout + r.stderr
    from london_llm.evaluation.results import FORMAT_VERSION, read_results

    results = read_results(out)
    assert results["format_version"] == FORMAT_VERSION and results["mode"] == "quick"
    assert results["libraries"]["lm_eval"] == "0.4.13" and results["seed"] == 1234
    assert results["command"][1:3] == ["--mode", "quick"]
    names = [c["name"] for c in results["checkpoints"]]
    assert names == ["checkpoint-12", "checkpoint-24"]  # by step
    for ck in results["checkpoints"]:
        assert len(ck["sha256"]) == 64 and ck["step"] in (12, 24)
        tasks = ck["tasks"]
        assert set(tasks) >= {"bpb", "history", "cutoff", "vocabulary", "conditioning", "anachronism", "rouge"}
        for task, entry in tasks.items():
            for name, m in entry["metrics"].items():
                assert m["value"] is not None, (task, name)
                assert "stderr" in m and "n" in m
        bpb = tasks["bpb"]["metrics"]
        # trained on period text: it beats the untrained model and uniform chance on held-out text
        assert bpb["bpb_heldout"]["value"] < tasks["bpb"]["baselines"]["untrained"]["bpb_heldout"]["value"]
        assert bpb["bpb_heldout"]["value"] < tasks["bpb"]["baselines"]["chance"]["bpb_heldout"]["value"]
        assert bpb["bpb_heldout"]["stderr"] > 0
        assert set(tasks["bpb"]["baselines"]) == {"chance", "unigram", "untrained"}
        details = tasks["bpb"]["details"]
        assert set(details["by_kind"]) <= {"book", "ordinary"} and details["by_kind"]
        assert all("-" in q for q in details["by_quarter_century"])
        hist = tasks["history"]["metrics"]
        assert hist["acc"]["n"] == 60 and 0 <= hist["acc"]["value"] <= 1 and hist["acc"]["stderr"] > 0
        assert tasks["history"]["baselines"]["chance"]["acc"]["value"] == pytest.approx(0.25)
        assert "gap" in tasks["cutoff"]["metrics"]
        assert tasks["vocabulary"]["baselines"]["chance"]["acc"]["value"] == pytest.approx(0.5)
        ana = tasks["anachronism"]
        assert ana["metrics"]["per_1000_words"]["ci95"][1] > 0 and ana["details"]["words"] > 0
        definite = ana["metrics"]["per_1000_words_definite"]  # without the "sense" entries' hits
        assert definite["value"] <= ana["metrics"]["per_1000_words"]["value"]
        assert ana["details"]["definite_hits"] <= ana["details"]["hits"]
        assert all("per_1000_words_definite" in b for b in ana["baselines"].values())
        assert set(tasks["rouge"]["metrics"]) == {"rouge1", "rouge2", "rougeL"}
    report = (out / "report.md").read_text()
    assert "checkpoint-24" in report and "bpb_heldout" in report and "untrained" in report
    for png in ("bpb_by_kind.png", "bpb_by_quarter_century.png", "metrics_by_step.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "checkpoint-24: held-out" in r.stdout  # the headline lines
    assert (out / "evaluation.log").read_text().count("Evaluating") == 2
    print(f"quick mode, two tiny checkpoints: {wall:.0f} s")
    no_network(run)


def test_comprehensive_mode_newest_checkpoint(run):
    import time

    out = run["root"] / "comprehensive"
    started = time.perf_counter()
    r = evaluate(run, "--mode", "comprehensive", "--model", "tiny", "--output_dir", str(out))
    wall = time.perf_counter() - started
    assert r.returncode == 0, r.stdout + r.stderr
    results = json.loads((out / "results.json").read_text())
    (ck,) = results["checkpoints"]
    assert ck["name"] == "checkpoint-24"  # the newest by default
    tasks = ck["tasks"]
    assert tasks["history"]["metrics"]["acc"]["n"] == sum(1 for _ in open(TASKS / "data" / "history_mc.jsonl"))
    assert tasks["cutoff"]["metrics"]["acc_before"]["n"] >= 100 and tasks["cutoff"]["metrics"]["acc_after"]["n"] >= 100
    assert tasks["vocabulary"]["metrics"]["acc"]["n"] >= 150
    print(f"comprehensive mode, one tiny checkpoint: {wall:.0f} s")
    assert wall < 600 * 3  # generous: the machine is shared
    no_network(run)


def test_harness_numbers_equal_the_report(run):
    out = run["root"] / "limit"
    r = evaluate(run, "--model", "tiny", "--tasks", "history,vocabulary", "--limit", "25", "--output_dir", str(out),
                 "--no_baselines")
    assert r.returncode == 0, r.stdout + r.stderr
    ours = json.loads((out / "results.json").read_text())["checkpoints"][0]["tasks"]
    harness_out = run["root"] / "lm_eval_out"
    ck = run["ckdir"] / "checkpoint-24"
    r = subprocess.run([sys.executable, "-m", "lm_eval", "--model", "hf", "--model_args", f"pretrained={ck}",
                        "--include_path", str(TASKS), "--tasks", "london_history,london_vocabulary", "--limit", "25",
                        "--device", "cpu", "--output_path", str(harness_out)],
                       cwd=run["root"], env=run["env"], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    (result_file,) = harness_out.rglob("results_*.json")
    theirs = json.loads(result_file.read_text())["results"]
    for task, name in (("history", "london_history"), ("vocabulary", "london_vocabulary")):
        for metric in ("acc", "acc_norm"):
            assert ours[task]["metrics"][metric]["value"] == pytest.approx(theirs[name][f"{metric},none"], abs=1e-9)
            assert ours[task]["metrics"][metric]["stderr"] == pytest.approx(theirs[name][f"{metric}_stderr,none"],
                                                                           abs=1e-9)
    no_network(run)


def test_questions_file_and_human_evaluation_round_trip(run, tmp_path):
    questions = tmp_path / "mine.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in [
        {"context": "The prisoner was indicted for stealing a silver", "choices": ["watch", "aeroplane"], "answer": 0},
        {"question": "He was sentenced to be", "choices": ["transported", "televised", "emailed"], "answer": "transported",
         "year": 1780},
    ]) + "\n")
    out = tmp_path / "out"
    r = evaluate(run, "--model", "tiny", "--tasks", "questions", "--questions", str(questions), "--output_dir", str(out),
                 "--human_export", "--human_samples", "1", "--checkpoint", "checkpoint-12", "--checkpoint", "checkpoint-24")
    assert r.returncode == 0, r.stdout + r.stderr
    results = json.loads((out / "results.json").read_text())
    q = results["checkpoints"][0]["tasks"]["questions"]
    assert q["metrics"]["acc"]["n"] == 2
    assert q["baselines"]["chance"]["acc"]["value"] == pytest.approx((1 / 2 + 1 / 3) / 2)
    human = out / "human"
    form = (human / "form.html").read_text()
    assert "<script src" not in form and "http://" not in form and "https://" not in form
    key = json.loads((human / "key.json").read_text())["samples"]
    with open(human / "samples.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(key) and set(key.values()) == {"checkpoint-12", "checkpoint-24"}
    assert all(r["text"] and not r["period_voice"] for r in rows)
    for rater, offset in (("ann", 0), ("bob", 1)):  # checkpoint-24 rated 4 (ann) / 5 (bob), checkpoint-12 2 / 3
        with open(human / f"ratings_{rater}.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            for row in rows:
                score = (4 if key[row["sample_id"]] == "checkpoint-24" else 2) + offset
                w.writerow({**row, "period_voice": score, "coherence": score, "plausibility": score, "rater": rater})
    r = evaluate(run, "--human_import", str(human), "--output_dir", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    summary = json.loads((human / "human_evaluation.json").read_text())
    assert summary["by_checkpoint"]["checkpoint-24"]["coherence"]["mean"] == pytest.approx(4.5)
    assert summary["by_checkpoint"]["checkpoint-12"]["coherence"]["mean"] == pytest.approx(2.5)
    assert summary["raters"] == ["ann", "bob"]
    assert summary["alpha"]["coherence"] is not None and summary["alpha"]["coherence"] < 1
    merged = json.loads((out / "results.json").read_text())
    assert merged["checkpoints"][1]["tasks"]["human"]["metrics"]["coherence"]["value"] == pytest.approx(4.5)
    no_network(run)


@pytest.mark.parametrize("case", ["bad_name", "empty_questions", "malformed_questions", "unknown_task",
                                  "mismatched_tokenizer"])
def test_one_clear_error(run, tmp_path, case, monkeypatch, capsys):
    """Each refusal is one ERROR line naming the fix. bad_name goes through the real script (the door as a
    user meets it); the rest through the same door in this process."""
    args = ["--model", "tiny", "--output_dir", str(tmp_path / "out"), "--tasks", "history", "--limit", "2"]
    expect: list[str]
    if case == "bad_name":
        args += ["--checkpoint", "checkpoint-999"]
        expect = ["checkpoint-999", "checkpoint-12", "checkpoint-24"]
    elif case == "empty_questions":
        (tmp_path / "q.jsonl").write_text("\n\n")
        args += ["--questions", str(tmp_path / "q.jsonl")]
        expect = ["holds no questions", "q.jsonl"]
    elif case == "malformed_questions":
        good = json.dumps({"context": "a", "choices": ["b", "c"], "answer": 0})
        (tmp_path / "q.jsonl").write_text(good + "\n" + good.replace('"a"', '"x"') + "\n{not json\n")
        args += ["--questions", str(tmp_path / "q.jsonl")]
        expect = ["line 3", "not valid JSON"]
    elif case == "unknown_task":
        args[args.index("history")] = "history,trivia"
        expect = ["unknown task", "trivia"]
    else:
        from london_llm.tokenization.training import train_tokenizer

        other = train_tokenizer(run["docs"], tmp_path / "other_tok", vocab_size=700, show_progress=False)
        folder = tmp_path / "mixed"
        shutil.copytree(run["ckdir"] / "checkpoint-24", folder)
        (folder / "manifest.json").unlink()  # a hand-assembled folder, not a checkpoint the trainer wrote
        for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "london_tokenizer.json"):
            if (other / name).exists():
                shutil.copy(other / name, folder / name)
        args += ["--checkpoint", str(folder)]
        expect = ["tokenizer", "two runs"]
    r = evaluate(run, *args, timeout=300) if case == "bad_name" else evaluate_in_process(run, monkeypatch, capsys, *args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    err = r.stderr.strip().splitlines()[-1]
    assert err.startswith("ERROR: "), r.stderr
    for text in expect:
        assert text in err, err


# --- hand-computable cases on a real tokenizer ------------------------------------------------

def constant_model(folder: Path, tokenizer_dir: Path, favoured: int | None) -> Path:
    """A GPT-2 whose output ignores its input: uniform over every embedding row (favoured None), or
    all probability on one token (its logit 200 above the rest)."""
    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    config = GPT2Config(vocab_size=len(tok), n_positions=128, n_embd=16, n_layer=1, n_head=2,
                        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    model = GPT2LMHeadModel(config)
    with torch.no_grad():
        model.transformer.ln_f.weight.zero_()
        model.transformer.ln_f.bias.zero_()
        if favoured is not None:
            model.transformer.ln_f.bias[0] = 1.0
            model.transformer.wte.weight[:, 0] = 0.0
            model.transformer.wte.weight[favoured, 0] = 200.0
    model.save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    return folder


def test_a_model_with_all_probability_on_the_answer_scores_one(run, tmp_path, monkeypatch):
    from london_llm.evaluation import harness
    from london_llm.evaluation.questions import read_questions, write_questions
    from london_llm.inference.loading import load_model

    import socket

    real_connect = socket.socket.connect

    def refuse(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in ("127.0.0.1", "::1"):
            raise AssertionError(f"network contacted: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", refuse)
    tok_dir = run["ckdir"] / "checkpoint-24"
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tok_dir))
    (the,) = tok(" the", add_special_tokens=False).input_ids  # one token in any English BPE
    folder = constant_model(tmp_path / "oracle", tok_dir, favoured=the)
    src = tmp_path / "q.jsonl"
    src.write_text("\n".join(json.dumps({"context": f"Question {i}:", "choices": c, "answer": a}) for i, (c, a) in
                             enumerate([(["the the", "prisoner was"], 0), (["cart horse", "the", "gaol"], 1),
                                        (["Newgate", "Tyburn", "Bedlam", "the the the"], 3)])) + "\n")
    qfile = write_questions(tmp_path / "norm.jsonl", read_questions(src))
    loaded = load_model(folder)
    out = harness.evaluate(harness.make_lm(loaded.model, loaded.tokenizer), ["london_questions"], TASKS,
                           metadata={"questions_file": str(qfile)})
    m = harness.mc_metrics(out, "london_questions")
    assert m["acc"][0] == 1.0 and m["acc_norm"][0] == 1.0 and m["acc"][2] == 3
    # and the same model is sure of nothing else: per choice the log-likelihood is 0 or about -200 a token
    lls = [s["filtered_resps"] for s in out["samples"]["london_questions"]]
    assert all(abs(ll[0]) < 1e-6 or ll[0] < -150 for sample in lls for ll in sample)


def test_a_uniform_model_has_the_bits_per_byte_of_its_vocabulary(run, tmp_path):
    import math

    from london_llm.evaluation import harness
    from london_llm.inference.loading import load_model

    folder = constant_model(tmp_path / "uniform", run["ckdir"] / "checkpoint-24", favoured=None)
    loaded = load_model(folder)
    texts = ["The prisoner was indicted for stealing a silver watch, value 40 s.",
             "Sept. 2, 1666. This fatal night about ten, began the deplorable fire near Fish Street."]
    docs = tmp_path / "docs.jsonl"
    docs.write_text("".join(json.dumps({"text": t, "kind": "trial", "year": 1750}) + "\n" for t in texts))
    out = harness.evaluate(harness.make_lm(loaded.model, loaded.tokenizer), ["london_bpb"], TASKS,
                           metadata={"documents_file": str(docs)})
    vocab = loaded.model.get_input_embeddings().num_embeddings
    tokens = sum(len(loaded.tokenizer(t, add_special_tokens=False).input_ids) for t in texts)
    expected = tokens * math.log2(vocab) / sum(len(t.encode()) for t in texts)
    assert harness.bits_per_byte(out, "london_bpb") == pytest.approx(expected, rel=1e-5)
    rows = harness.rolling_samples(out, "london_bpb")
    assert sum(-r["loglikelihood"] for r in rows) / math.log(2) / sum(r["bytes"] for r in rows) == pytest.approx(expected, rel=1e-5)


def test_held_out_documents_are_exactly_the_validation_split(run):
    import numpy as np

    from london_llm.evaluation.heldout import held_out_documents, split_source
    from london_llm.pretokenize.text_encoder import load_text_encoder

    data_dir = run["ckdir"] / "pretokenized_data"
    meta = json.loads((data_dir / "metadata.json").read_text())
    docs = held_out_documents(split_source(data_dir))
    assert len(docs) == meta["splits"]["val"]["documents"]
    encoder = load_text_encoder(run["ckdir"] / "checkpoint-24")
    tokens = sum(len(encoder.prefix_ids(d.kind, d.year)) + len(ids) + 1
                 for d, ids in zip(docs, encoder.encode_texts([d.text for d in docs])))
    assert tokens == meta["splits"]["val"]["tokens"]
    val = np.fromfile(data_dir / "val.bin", dtype="<u2").tolist()
    starts = [list(encoder.prefix_ids(d.kind, d.year)) + list(ids)
              for d, ids in zip(docs, encoder.encode_texts([d.text for d in docs]))]
    assert any(val[: len(ids)] == ids for ids in starts)  # val.bin opens with one of them, token for token


def test_conditioning_gain_is_zero_for_a_model_that_ignores_its_input(run, tmp_path):
    import math

    from london_llm.evaluation.conditioning import score_passages
    from london_llm.evaluation.heldout import Passage
    from london_llm.inference.loading import load_model

    folder = constant_model(tmp_path / "uniform", run["ckdir"] / "checkpoint-24", favoured=None)
    loaded = load_model(folder)
    tags = json.loads((run["ckdir"] / "checkpoint-24" / "london_tokenizer.json").read_text())["conditioning_tags"]
    text = "The Ordinary of Newgate his Account of the Behaviour of the Malefactors that were Executed"
    scored = score_passages(loaded.model, loaded.tokenizer, [Passage("d", "ordinary", 1700, text, 0)], tags)
    (s,) = scored
    n = len(loaded.tokenizer(text, add_special_tokens=False).input_ids)
    vocab = loaded.model.get_input_embeddings().num_embeddings
    for condition in ("own", "wrong", "none"):
        assert s.bits[condition] == pytest.approx(n * math.log2(vocab), rel=1e-6)
    assert s.bytes == len(text.encode())


def test_mmlu_and_hellaswag_from_the_users_files(run, tmp_path):
    from london_llm.evaluation import harness
    from london_llm.inference.loading import load_model

    mmlu = tmp_path / "mmlu" / "test"
    mmlu.mkdir(parents=True)
    answers = {"world_history": ["A", "C", "A"], "astronomy": ["B", "A"]}
    for subject, letters in answers.items():
        with open(mmlu / f"{subject}_test.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            for i, letter in enumerate(letters):
                w.writerow([f"Question {i} on {subject}?", "one", "two", "three", "four", letter])
    hs = tmp_path / "hellaswag_val.jsonl"
    hs.write_text("".join(json.dumps({"activity_label": "Baking", "ctx_a": "She mixes the flour.", "ctx_b": "then",
                                      "endings": ["bakes [title] it.", "sings.", "runs.", "sleeps."], "label": i % 4})
                          + "\n" for i in range(5)))
    folder = constant_model(tmp_path / "uniform", run["ckdir"] / "checkpoint-24", favoured=None)
    loaded = load_model(folder)
    out = harness.evaluate(harness.make_lm(loaded.model, loaded.tokenizer), ["london_mmlu", "london_hellaswag"], TASKS,
                           metadata={"mmlu_dir": str(tmp_path / "mmlu"), "hellaswag_file": str(hs)})
    # a uniform model ties on the one-token letters A-D and the harness takes the first: acc = share of A
    mmlu_metrics = harness.mc_metrics(out, "london_mmlu")
    assert mmlu_metrics["acc"][:3:2] == (pytest.approx(3 / 5), 5) and "acc_norm" not in mmlu_metrics
    assert out["samples"]["london_hellaswag"][0]["doc"]["query"] == "Baking: She mixes the flour. Then"
    assert out["samples"]["london_hellaswag"][0]["doc"]["choices"][0] == "bakes. it."
    assert len(out["samples"]["london_hellaswag"]) == 5
    hs.write_text(json.dumps({"activity_label": "x", "ctx_a": "a", "ctx_b": "b", "endings": ["c", "d"], "label": ""}) + "\n")
    with pytest.raises(ValueError, match="no label"):
        harness.evaluate(harness.make_lm(loaded.model, loaded.tokenizer), ["london_hellaswag"], TASKS,
                         metadata={"hellaswag_file": str(hs)})


def test_mmlu_per_subject_and_category_through_the_script(run, tmp_path):
    mmlu = tmp_path / "mmlu" / "test"
    mmlu.mkdir(parents=True)
    sizes = {"astronomy": 3, "anatomy": 2, "philosophy": 4, "my_own_subject": 1}
    for subject, n in sizes.items():
        with open(mmlu / f"{subject}_test.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            for i in range(n):
                w.writerow([f"Question {i} on {subject}, with a comma?", "one", "two", "three", "four", "ABCD"[i % 4]])
    out = tmp_path / "out"
    r = evaluate(run, "--model", "tiny", "--tasks", "mmlu", "--mmlu_dir", str(tmp_path / "mmlu"), "--no_baselines",
                 "--output_dir", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    entry = json.loads((out / "results.json").read_text())["checkpoints"][0]["tasks"]["mmlu"]
    d = entry["details"]
    assert {s: v["n"] for s, v in d["by_subject"].items()} == sizes
    assert d["by_subject"]["philosophy"]["category"] == "humanities"
    assert d["by_subject"]["my_own_subject"]["category"] == "uncategorised"
    assert set(d["by_category"]) == {"stem", "humanities", "uncategorised"}
    assert d["by_category"]["stem"]["n"] == 5 and d["by_category"]["stem"]["stderr"] is not None
    overall = entry["metrics"]["acc"]
    assert overall["n"] == 10
    weighted = sum(v["acc"] * v["n"] for v in d["by_subject"].values()) / 10
    assert overall["value"] == pytest.approx(weighted) == pytest.approx(d["overall_as_harness_group"]["acc"])
    report = (out / "report.md").read_text()
    assert "| category | acc | n |" in report and "| philosophy |" in report
    assert "Overall as the harness's mmlu group" in report
    no_network(run)
