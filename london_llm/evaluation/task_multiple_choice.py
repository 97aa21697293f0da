"""The multiple-choice tasks (history, cutoff, vocabulary, questions, MMLU, HellaSwag): the harness's
accuracies per task with the chance, unigram and untrained baselines, and for the cutoff probe the
gap between the years before and after the cutoff.
"""
from __future__ import annotations

import math
from typing import Any

from london_llm.evaluation import baselines as bl
from london_llm.evaluation import harness
from london_llm.evaluation.results import metric
from london_llm.evaluation.run_settings import MC_TASKS
from london_llm.evaluation.stats import mean_stderr


def mc_entry(task, out, base_out, unigram, loaded) -> dict[str, Any]:
    names = MC_TASKS[task]
    metrics, base = {}, {"chance": {}, "unigram": {}, "untrained": {}}
    details: dict[str, Any] = {}
    per_task = {}
    for name in names:
        if name not in out["results"]:
            continue
        m = harness.mc_metrics(out, name)
        per_task[name] = m
        suffix = "" if len(names) == 1 else "_" + name.rsplit("_", 1)[1]
        for k, (v, se, n) in m.items():
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            metrics[k + suffix] = metric(v, se, n)
        docs = [s["doc"] for s in sorted(out["samples"][name], key=lambda s: s["doc_id"])]
        questions = [_as_question(d) for d in docs]
        chance = bl.chance_mc(questions)
        for k in m:
            base["chance"][k + suffix] = metric(chance, None, len(questions))
        if unigram is not None:
            u = bl.unigram_mc(unigram, loaded.tokenizer, questions)
            for k in m:
                if k in u:
                    base["unigram"][k + suffix] = metric(*mean_stderr(u[k]), len(questions))
        if base_out is not None:
            for k, (v, se, n) in harness.mc_metrics(base_out, name).items():
                if v is not None:
                    base["untrained"][k + suffix] = metric(v, se, n)
        if name == "london_history":
            details["by_topic"] = _by_field(out["samples"][name], "topic")
        if name == "london_mmlu":
            from london_llm.evaluation.mmlu import breakdown

            details.update(breakdown(out["samples"][name]))
    if task == "cutoff" and {"london_cutoff_before", "london_cutoff_after"} <= per_task.keys():
        b, a = per_task["london_cutoff_before"]["acc"], per_task["london_cutoff_after"]["acc"]
        metrics["gap"] = metric(b[0] - a[0], math.hypot(b[1] or 0, a[1] or 0), b[2] + a[2])
        details["reading"] = ("gap = acc before 1914 - acc after 1913; a faithful period model is at chance "
                              "(0.25) after the cutoff")
        for kind in ("unigram", "untrained"):
            bb, aa = base[kind].get("acc_before"), base[kind].get("acc_after")
            if bb and aa:
                base[kind]["gap"] = metric(bb["value"] - aa["value"],
                                           math.hypot(bb["stderr"] or 0, aa["stderr"] or 0), bb["n"] + aa["n"])
        base["chance"]["gap"] = metric(0.0, None, None)
    return {"engine": f"lm-eval {harness.lm_eval_version()}", "metrics": metrics, "baselines": base,
            "details": details}


def _as_question(doc: dict) -> dict:
    if "context" in doc:
        return {"context": doc["context"], "choices": list(doc["choices"]), "answer": int(doc["answer"])}
    if "query" in doc:  # hellaswag
        return {"context": doc["query"], "choices": list(doc["choices"]), "answer": int(doc["label"])}
    letters = ["A", "B", "C", "D"]  # mmlu: the choices are the letters after the prompt
    prompt = (f"The following are multiple choice questions (with answers) about "
              f"{doc['subject'].replace('_', ' ')}.\n\n{doc['question'].strip()}\n"
              + "".join(f"{l}. {c}\n" for l, c in zip(letters, doc["choices"])) + "Answer:")
    return {"context": prompt, "choices": letters, "answer": int(doc["answer"])}


def _by_field(samples, field_name) -> dict[str, Any]:
    groups: dict[str, list[float]] = {}
    for s in samples:
        groups.setdefault(str(s["doc"].get(field_name) or ""), []).append(float(s["acc"]))
    return {g: {"acc": mean_stderr(v)[0], "stderr": mean_stderr(v)[1], "n": len(v)} for g, v in sorted(groups.items())}
