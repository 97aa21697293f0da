"""The project's own check of a card's YAML front matter (the library's check posts to the Hub).

It checks what the Hub's model and dataset card schemas require of the keys we write: licence
ids from the Hub's list, ISO 639-1 languages, a known pipeline tag, lists of strings, and a
model-index whose results each name a task type, a dataset (name and type) and metrics with a
type and a numeric value.
"""
from __future__ import annotations

import re
from typing import Any

# the subset of https://huggingface.co/docs/hub/repositories-licenses that derived licences can be
HUB_LICENCES = {"apache-2.0", "mit", "cc0-1.0", "cc-by-4.0", "cc-by-sa-4.0", "cc-by-nc-4.0", "cc-by-nc-sa-4.0",
                "cc-by-nd-4.0", "cc-by-nc-nd-4.0", "cc-by-3.0", "cc-by-sa-3.0", "cc-by-nc-3.0", "cc-by-nc-sa-3.0",
                "odc-by", "pddl", "other", "unknown"}
PIPELINE_TAGS = {"text-generation", "text2text-generation", "fill-mask", "text-classification"}
TASK_CATEGORIES = {"text-generation", "fill-mask", "text-classification", "other"}
_LANG = re.compile(r"^[a-z]{2,3}$")


def check_front_matter(meta: Any, kind: str = "model") -> list[str]:
    """Problems with a card's front matter (empty when it is valid). `kind`: "model" or "dataset"."""
    if not isinstance(meta, dict):
        return ["the front matter is not a mapping"]
    problems = []
    licence = meta.get("license")
    if licence not in HUB_LICENCES:
        problems.append(f"license {licence!r} is not a Hub licence id")
    problems += _string_list(meta, "language", required=True)
    for lang in meta.get("language") or []:
        if isinstance(lang, str) and not _LANG.match(lang):
            problems.append(f"language {lang!r} is not an ISO 639 code")
    problems += _string_list(meta, "tags")
    problems += _string_list(meta, "datasets")
    if kind == "model":
        if meta.get("library_name") != "transformers":
            problems.append(f"library_name is {meta.get('library_name')!r}, expected 'transformers'")
        if meta.get("pipeline_tag") not in PIPELINE_TAGS:
            problems.append(f"pipeline_tag {meta.get('pipeline_tag')!r} is not a known pipeline tag")
        if "model-index" in meta:
            problems += _model_index(meta["model-index"])
    else:
        problems += _string_list(meta, "task_categories", required=True)
        for cat in meta.get("task_categories") or []:
            if cat not in TASK_CATEGORIES:
                problems.append(f"task category {cat!r} is unknown")
        problems += _configs(meta.get("configs"))
    return problems


def _string_list(meta: dict, key: str, required: bool = False) -> list[str]:
    if key not in meta:
        return [f"{key} is missing"] if required else []
    value = meta[key]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        return [f"{key} must be a non-empty list of strings, not {value!r}"]
    return []


def _model_index(index: Any) -> list[str]:
    if not isinstance(index, list) or not index:
        return ["model-index must be a non-empty list"]
    problems = []
    for entry in index:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            problems.append("each model-index entry needs a name")
            continue
        results = entry.get("results")
        if not isinstance(results, list) or not results:
            problems.append(f"model-index entry {entry.get('name')!r} has no results")
            continue
        for i, result in enumerate(results):
            where = f"model-index result {i}"
            task, data, metrics = (result.get(k) if isinstance(result, dict) else None
                                   for k in ("task", "dataset", "metrics"))
            if not isinstance(task, dict) or not isinstance(task.get("type"), str):
                problems.append(f"{where}: task.type is missing")
            if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("name", "type")):
                problems.append(f"{where}: dataset needs a name and a type")
            if not isinstance(metrics, list) or not metrics:
                problems.append(f"{where}: no metrics")
                continue
            for m in metrics:
                if not isinstance(m, dict) or not isinstance(m.get("type"), str) or \
                        isinstance(m.get("value"), bool) or not isinstance(m.get("value"), (int, float)):
                    problems.append(f"{where}: metric {m!r} needs a type and a numeric value")
    return problems


def _configs(configs: Any) -> list[str]:
    if configs is None:
        return []
    if not isinstance(configs, list) or not configs:
        return ["configs must be a non-empty list"]
    problems = []
    for c in configs:
        files = c.get("data_files") if isinstance(c, dict) else None
        if not isinstance(c, dict) or not isinstance(c.get("config_name"), str) or not isinstance(files, list):
            problems.append(f"config {c!r} needs config_name and data_files")
            continue
        for f in files:
            if not isinstance(f, dict) or not isinstance(f.get("split"), str) or not isinstance(f.get("path"), str):
                problems.append(f"data_files entry {f!r} needs split and path")
    return problems
