"""10_scripts/publish_to_huggingface.py end to end, as a user runs it: a subprocess, on a tiny model trained on
real text, uploading to a loopback stub of the Hub's API (tests/hub_server.py; HF_ENDPOINT set, Xet off),
then downloading from it with the official client."""
from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from inference_fixtures import cli, tiny_checkpoint  # noqa: F401  (the session's trained tiny model)
from publishing_helpers import INFER, PUBLISH, TOKEN, hub, offline_env, online_env, relicensed, run  # noqa: F401

pytestmark = pytest.mark.slow


def publish_args(checkpoint: Path, out: Path, *extra) -> list:
    return ["--model", "tiny", "--checkpoints_dir", checkpoint.parent, "--output_dir", out,
            "--eval_results", out.parent / "no_results", *extra]


@pytest.fixture(scope="module")
def dry_run(tiny_checkpoint, tmp_path_factory):  # noqa: F811
    tmp = tmp_path_factory.mktemp("dry")
    out = tmp / "export"
    # as the guide runs it: cd 10_scripts && python publish_to_huggingface.py
    result = run(PUBLISH, *publish_args(tiny_checkpoint, out, "--dry_run"), env=offline_env(tmp), cwd=PUBLISH.parent)
    assert result.returncode == 0, result.stderr
    return {"out": out, "result": result, "tmp": tmp}


def front_matter(readme: Path) -> dict:
    from london_llm.publishing.card import read_front_matter

    return read_front_matter(readme)


# --- the export ----------------------------------------------------------------------------------

def test_dry_run_exports_checks_and_lists_every_file(dry_run, tiny_checkpoint):  # noqa: F811
    from london_llm.hashing import sha256_file

    out, stdout = dry_run["out"], dry_run["result"].stdout
    assert f"Publishing {tiny_checkpoint.name}: the lowest validation loss" in stdout
    assert "Round trip" in stdout and f"Exported folder: {out}" in stdout
    assert "no evaluation results" in stdout + dry_run["result"].stderr
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert names == sorted(["config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
                            "vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json",
                            "london_tokenizer.json", "README.md"])
    for name in names:  # every file listed with its size and sha256
        f = out / name
        assert re.search(rf"{re.escape(name)}\s+{f.stat().st_size:,} B\s+sha256 {sha256_file(f)}", stdout), name
    for training_only in ("optimizer.pt", "rng_state.pt", "trainer_state.json", "manifest.json"):
        assert not (out / training_only).exists()


def test_weights_are_the_checkpoints_with_the_tied_embedding_stored_once(dry_run, tiny_checkpoint):  # noqa: F811
    from safetensors import safe_open

    out = dry_run["out"]
    assert (out / "model.safetensors").read_bytes() == (tiny_checkpoint / "model.safetensors").read_bytes()
    with safe_open(str(out / "model.safetensors"), "pt") as f:
        keys = set(f.keys())
    assert "transformer.wte.weight" in keys and "lm_head.weight" not in keys
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr()  # tied on load


def test_special_ids_and_padded_rows_are_right(dry_run, tiny_checkpoint):  # noqa: F811
    out = dry_run["out"]
    info = json.loads((tiny_checkpoint / "london_tokenizer.json").read_text())
    eos, pad = info["special_token_ids"]["<|endoftext|>"], info["special_token_ids"]["<|pad|>"]
    config = json.loads((out / "config.json").read_text())
    gen = json.loads((out / "generation_config.json").read_text())
    assert (config["eos_token_id"], config["bos_token_id"], config["pad_token_id"]) == (eos, eos, pad)
    assert (gen["eos_token_id"], gen["bos_token_id"], gen["pad_token_id"]) == (eos, eos, pad)
    assert gen["suppress_tokens"] == list(range(info["vocab_size"], config["vocab_size"]))
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(out)
    assert (tok.eos_token_id, tok.pad_token_id, len(tok)) == (eos, pad, info["vocab_size"])


def test_card_front_matter_passes_the_schema_and_tells_the_truth(dry_run, tiny_checkpoint):  # noqa: F811
    from london_llm.publishing.card_schema import check_front_matter

    readme = dry_run["out"] / "README.md"
    meta = front_matter(readme)
    assert check_front_matter(meta) == []
    assert meta["library_name"] == "transformers" and meta["pipeline_tag"] == "text-generation"
    assert meta["language"] == ["en"] and "model-index" not in meta  # not evaluated
    text = readme.read_text()
    state = json.loads((tiny_checkpoint / "trainer_state.json").read_text())
    assert f"| Steps | {state['step']:,}" in text and f"{state['last_val_loss']:.4f}" in text
    for section in ("## Training data and licences", "## Tokenizer and conditioning tags", "## Usage",
                    "## Training", "## Evaluation", "## Limitations and biases"):
        assert section in text
    assert "<|kind:ordinary|>" in text and "Old Bailey Proceedings Online" in text  # tags and the citation


def cli_tokens(model: Path, prompt: str, kind: str, seed: str, *extra, env: dict | None = None, cli=None) -> dict:
    """What inference_unified.py generates: the script as a subprocess in `env`, or with `cli` its main in
    this process (the same door and flags, without an interpreter start-up)."""
    args = ["--checkpoint", model, "--prompt", prompt, "--kind", kind, "--seed", seed, "--max_length", "30",
            "--json", *extra]
    result = cli(*args) if cli is not None else run(INFER, *args, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_export_generates_exactly_what_the_inference_cli_generates(dry_run, tiny_checkpoint, cli):  # noqa: F811
    """Offline, seeded: the export with AutoModelForCausalLM/AutoTokenizer and transformers' generate gives
    the very tokens 06_inference/inference_unified.py generates from the checkpoint (greedy, and sampling
    with temperature: the engine draws over the whole vocabulary as generate does); with top-k the engine
    draws over the k candidates, so there the export run through the same CLI must match the checkpoint.
    The comparisons with generate call the CLI's main in this process; the last two run the script."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out, env = dry_run["out"], offline_env(dry_run["tmp"])
    tok = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out).eval()
    for seed, kind, prompt, extra in [("7", "ordinary", "The prisoner at the bar", ["--top_k", "0"]),
                                      ("1234", "book", "It was a fine morning", ["--top_k", "0"]),
                                      ("5", "ordinary", "The Ordinary", ["--greedy"])]:
        expected = cli_tokens(tiny_checkpoint, prompt, kind, seed, "--temperature", "0.8", *extra, cli=cli)
        ids = [tok.eos_token_id, tok.convert_tokens_to_ids(f"<|kind:{kind}|>")]
        ids += tok(prompt, add_special_tokens=False).input_ids
        assert expected["prompt_tokens"] == len(ids)
        x = torch.tensor([ids])
        sample = dict(do_sample=True, temperature=0.8, top_k=0) if "--greedy" not in extra else dict(do_sample=False)
        torch.manual_seed(int(seed))
        got = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=30, **sample)[0, len(ids):].tolist()
        assert got == expected["token_ids"], (seed, kind)
        if sample["do_sample"]:  # the seed decides: another one samples other tokens
            torch.manual_seed(int(seed) + 1)
            other = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=30, **sample)
            assert other[0, len(ids):].tolist() != expected["token_ids"]
    # the CLI's defaults (temperature 0.8, top-k 50): the export generates what the checkpoint does
    from_checkpoint = cli_tokens(tiny_checkpoint, "The prisoner", "ordinary", "99", env=env)
    from_export = cli_tokens(out, "The prisoner", "ordinary", "99", env=env)
    assert from_export["token_ids"] == from_checkpoint["token_ids"] and from_export["checkpoint"] == str(out)


def test_round_trip_gate_refuses_an_export_that_is_not_the_checkpoint(dry_run, tiny_checkpoint, tmp_path):  # noqa: F811
    import shutil
    from safetensors.torch import load_file, save_file
    from london_llm.publishing.errors import PublishError
    from london_llm.publishing.roundtrip import check_roundtrip

    assert check_roundtrip(tiny_checkpoint, dry_run["out"], ["<|kind:book|>"]) == 0.0
    bad = tmp_path / "bad"
    shutil.copytree(dry_run["out"], bad)
    weights = load_file(str(bad / "model.safetensors"))
    weights["transformer.ln_f.bias"] += 1e-3
    save_file(weights, str(bad / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(PublishError, match="logits differ"):
        check_roundtrip(tiny_checkpoint, bad, ["<|kind:book|>"])


def test_card_takes_the_model_index_from_stage_05_and_the_licence_from_the_data(tiny_checkpoint, small_documents,  # noqa: F811
                                                                               tmp_path):
    """--require_eval refuses an unevaluated checkpoint; with stage 05's results the card has a model-index;
    a CC BY-NC source (documents whose licence says so) makes the card cc-by-nc-4.0 and says why."""
    from london_llm.evaluation.results import metric, new_results, write_results
    from london_llm.hashing import sha256_file
    from london_llm.publishing.card_schema import check_front_matter

    refused = run(PUBLISH, *publish_args(tiny_checkpoint, tmp_path / "a", "--dry_run", "--require_eval"),
                  env=offline_env(tmp_path))
    assert refused.returncode == 2 and not (tmp_path / "a").exists()
    assert refused.stderr.strip().count("\n") == 0 and "no evaluation results" in refused.stderr
    results = new_results(command=["t"], mode="quick", seed=0, limit=None, device="cpu", libraries={}, machine={})
    results["checkpoints"] = [{"name": tiny_checkpoint.name, "path": str(tiny_checkpoint), "step": 30,
                               "sha256": sha256_file(tiny_checkpoint / "model.safetensors"),
                               "tasks": {"bpb": {"metrics": {"bpb": metric(3.25, 0.05, 40, higher_is_better=False)}}}}]
    write_results(tmp_path / "no_results" / "quick", results)  # where publish_args points --eval_results
    docs = relicensed(small_documents, tmp_path / "documents.jsonl", "old_bailey", "CC BY-NC 4.0 (Old Bailey Online)")
    done = run(PUBLISH, *publish_args(tiny_checkpoint, tmp_path / "b", "--dry_run", "--require_eval",
                                      "--documents_file", docs), env=offline_env(tmp_path))
    assert done.returncode == 0, done.stderr
    readme = tmp_path / "b" / "README.md"
    meta, text = front_matter(readme), readme.read_text()
    assert check_front_matter(meta) == []
    assert meta["model-index"][0]["results"][0]["metrics"] == [{"type": "bpb", "name": "bpb bpb", "value": 3.25}]
    assert "| bpb | bpb (lower is better) | 3.2500 |" in text
    assert meta["license"] == "cc-by-nc-4.0" and "Card licence: cc-by-nc-4.0, because" in done.stdout
    assert "non-commercial use only" in text and "CC BY-NC 4.0 (Old Bailey Online)" in text
    assert "has changed since the model was trained" in text  # not the file the run was trained on


def test_output_dir_that_is_not_an_export_is_never_replaced(tiny_checkpoint, tmp_path):  # noqa: F811
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.txt").write_text("years of work")
    result = run(PUBLISH, *publish_args(tiny_checkpoint, precious, "--dry_run"), env=offline_env(tmp_path))
    assert result.returncode == 2 and "not an export folder" in result.stderr
    assert (precious / "thesis.txt").read_text() == "years of work"


# --- the upload, against the Hub stub ----------------------------------------------------------------

def test_upload_end_to_end_then_download_and_a_second_publish_uploads_nothing(tiny_checkpoint, hub, tmp_path):  # noqa: F811
    out = tmp_path / "export"
    env = online_env(tmp_path, hub.url)
    first = run(PUBLISH, *publish_args(tiny_checkpoint, out, "--private"), env=env)
    assert first.returncode == 0, first.stderr
    assert TOKEN not in first.stdout + first.stderr
    repo = hub.repo("alice/london-historical-tiny")
    assert repo.private and len(repo.commits) == 2  # the initial commit and ours
    assert hub.calls("POST", "/api/repos/create") and hub.calls("POST", "/preupload/main")
    assert len(hub.calls("PUT", "/lfs/")) == 1  # model.safetensors went through LFS
    assert len(hub.calls("POST", "/commit/main")) == 1
    uploaded = {p: e.data for p, e in repo.head.files.items()}
    for name in ("README.md", "config.json", "model.safetensors", "tokenizer.json", "generation_config.json"):
        assert uploaded[name] == (out / name).read_bytes(), name
    assert ".london_llm_export.json" not in uploaded
    assert front_matter(out / "README.md")  # the uploaded card names the full repository id
    assert 'repo = "alice/london-historical-tiny"' in uploaded["README.md"].decode()

    # the official client downloads it back; from_pretrained loads it; the card's snippet runs as written
    snippet = re.search(r"```python\n(.*?)```", uploaded["README.md"].decode(), re.S).group(1)
    check = (
        "import torch, sys\n"
        "from huggingface_hub import snapshot_download\n"
        "from transformers import AutoModelForCausalLM\n"
        "path = snapshot_download('alice/london-historical-tiny')\n"
        f"ref = AutoModelForCausalLM.from_pretrained({str(tiny_checkpoint)!r})\n"
        "got = AutoModelForCausalLM.from_pretrained('alice/london-historical-tiny')\n"
        "assert all(torch.equal(a, b) for a, b in zip(ref.state_dict().values(), got.state_dict().values()))\n"
        "print('DOWNLOADED', sorted(__import__('os').listdir(path)))\n" + snippet)
    down = subprocess.run([sys.executable, "-c", check], env=online_env(tmp_path / "client", hub.url),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    assert down.returncode == 0, down.stderr[-3000:]
    assert "DOWNLOADED" in down.stdout and "model.safetensors" in down.stdout
    assert len(down.stdout.split("DOWNLOADED", 1)[1].splitlines()) >= 2  # the snippet printed its text
    assert hub.calls("HEAD", "/resolve/") and hub.calls("GET", "/resolve/")

    hub.clear_requests()
    second = run(PUBLISH, *publish_args(tiny_checkpoint, out), env=env)
    assert second.returncode == 0, second.stderr
    assert "Nothing new to upload" in second.stdout
    assert len(repo.commits) == 2 and not hub.calls("POST", "/commit/") and not hub.calls("PUT", "/lfs/")
    assert hub.calls("POST", "/preupload/main")  # it asked, and the Hub had everything


def test_each_failure_gets_one_clear_line(tiny_checkpoint, hub, tmp_path):  # noqa: F811
    def one_line(result, *needles):
        assert result.returncode == 2, result.stdout + result.stderr
        err = result.stderr.strip()
        assert err.startswith("ERROR: ") and "\n" not in err and "Traceback" not in err, err
        for needle in needles:
            assert needle in err, err
        assert TOKEN not in result.stdout + result.stderr

    one_line(run(PUBLISH, *publish_args(tiny_checkpoint, tmp_path / "x", "--checkpoint", "checkpoint-999", "--dry_run"),
                 env=offline_env(tmp_path)), "checkpoint-999", tiny_checkpoint.name)
    one_line(run(PUBLISH, *publish_args(tiny_checkpoint, tmp_path / "x"), env=online_env(tmp_path, hub.url, token=None)),
             "no Hugging Face token", "huggingface-cli login")
    one_line(run(PUBLISH, *publish_args(tiny_checkpoint, tmp_path / "x"),
                 env=online_env(tmp_path, hub.url, token="hf_wrong")), "refused the token")
    one_line(run(PUBLISH, *publish_args(tiny_checkpoint, tmp_path / "x"),
                 env=online_env(tmp_path, hub.url, HF_HUB_OFFLINE="1")), "HF_HUB_OFFLINE")
    assert not hub.repos
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    one_line(run(PUBLISH, *publish_args(tiny_checkpoint, tmp_path / "x"), env=online_env(tmp_path, dead)),
             "unreachable", dead)


def test_dry_run_reads_the_checkpoint_under_home_and_exports_into_it(tiny_checkpoint, tmp_path):  # noqa: F811
    """--home alone, no LONDON_LLM_HOME: the run's checkpoint is found, and the export written, under it."""
    import shutil

    home = tmp_path / "home"
    shutil.copytree(tiny_checkpoint, home / "09_models" / "checkpoints" / "tiny" / tiny_checkpoint.name)
    env = {k: v for k, v in offline_env(tmp_path).items() if k != "LONDON_LLM_HOME"}
    result = run(PUBLISH, "--home", home, "--model", "tiny", "--dry_run", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = home / "09_models" / "hf_export" / "tiny"
    assert f"Publishing {tiny_checkpoint.name}" in result.stdout and f"Exported folder: {out}" in result.stdout
    assert (out / "model.safetensors").read_bytes() == (tiny_checkpoint / "model.safetensors").read_bytes()
    assert str(home / "05_evaluation" / "results") in result.stdout + result.stderr  # where it looked
    assert (home / "logs" / "publish_to_huggingface.log").is_file()
