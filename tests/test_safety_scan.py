"""The developers' guide's safety rules that can be checked by reading the code (with `ast`), over the
package, the numbered scripts, 10_scripts/ and bench/:

- `torch.load` only with `weights_only=True` (nothing unpickled);
- no address that exposes a server (`0.0.0.0`, `::`) as a default: servers bind 127.0.0.1 unless told;
- no bare `except:`, and no `except Exception: pass` swallowing whatever went wrong;
- every HTTP call (requests, httpx, a session) passes a timeout;
- every command-line flag has a help text (`--help` documents every flag).

Each checker is also run on a small bad example, so a checker that stops seeing anything fails too.
"""
from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from conftest import REPO

EXPOSED = {"0.0.0.0", "::", "[::]"}
HTTP_VERBS = {"get", "post", "put", "head", "delete", "patch", "request", "stream"}
HTTP_MODULES = {"requests", "httpx", "httpx2"}


def sources() -> dict[str, str]:
    files = [*(REPO / "london_llm").rglob("*.py"), *REPO.glob("[0-9][0-9]_*/**/*.py"), *(REPO / "bench").glob("*.py"),
             REPO / "config.py"]
    return {str(p.relative_to(REPO)): p.read_text(encoding="utf-8") for p in sorted(set(files))}


def _keywords(call: ast.Call) -> dict:
    return {k.arg: k.value for k in call.keywords}


def _name(node: ast.AST) -> str:
    return ast.unparse(node)


def unsafe_torch_loads(tree: ast.AST) -> list[int]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func) == "torch.load":
            value = _keywords(node).get("weights_only")
            if not (isinstance(value, ast.Constant) and value.value is True):
                out.append(node.lineno)
    return out


def exposed_defaults(tree: ast.AST) -> list[int]:
    """Lines where 0.0.0.0 (or ::) is a default: a `default=`/`host=` keyword or a parameter's default."""
    out = []
    for node in ast.walk(tree):
        values = []
        if isinstance(node, ast.Call):
            values = [v for k, v in _keywords(node).items() if k in ("default", "host", "bind")]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            values = [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
        out += [v.lineno for v in values if isinstance(v, ast.Constant) and v.value in EXPOSED]
    return out


def swallowing_handlers(tree: ast.AST) -> list[int]:
    """Bare `except:` anywhere; `except Exception/BaseException: pass` (the error vanishes unsaid)."""
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ExceptHandler):
            continue
        if node.type is None:
            out.append(node.lineno)
        elif _name(node.type) in ("Exception", "BaseException") and all(isinstance(s, ast.Pass) for s in node.body):
            out.append(node.lineno)
    return out


def http_calls_without_timeout(tree: ast.AST) -> list[int]:
    """`requests.get(...)`, `httpx.stream(...)`, `session.get(...)` ... without `timeout=`."""
    out = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in HTTP_VERBS):
            continue
        receiver = _name(node.func.value)
        if receiver in HTTP_MODULES or receiver.split(".")[-1] in ("session", "client", "http"):
            if "timeout" not in _keywords(node) and None not in _keywords(node):
                out.append(node.lineno)
    return out


def flags_without_help(tree: ast.AST) -> list[int]:
    """`add_argument(...)` (or the scripts' `_add(...)` wrappers) with no help, or an empty one;
    `help=argparse.SUPPRESS` (an internal flag) and a wrapper passing **kwargs on are allowed."""
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if func not in ("add_argument", "_add", "_add_underscored"):
            continue
        kw = _keywords(node)
        if None in kw:  # a wrapper: `group.add_argument(*names, **kwargs)`
            continue
        help_ = kw.get("help")
        if help_ is None or (isinstance(help_, ast.Constant) and not str(help_.value).strip()):
            out.append(node.lineno)
    return out


CHECKS = {"torch.load without weights_only=True": unsafe_torch_loads,
          "0.0.0.0 or :: as a default address": exposed_defaults,
          "bare except, or except Exception: pass": swallowing_handlers,
          "HTTP call without timeout=": http_calls_without_timeout,
          "command-line flag without help": flags_without_help}


@pytest.mark.parametrize("rule", list(CHECKS))
def test_the_code_keeps_the_rule(rule):
    found = []
    for path, text in sources().items():
        found += [f"{path}:{line}" for line in CHECKS[rule](ast.parse(text))]
    assert not found, f"{rule}: " + ", ".join(found)


BAD = {
    "torch.load without weights_only=True": "import torch\nstate = torch.load(f)\nok = torch.load(f, weights_only=True)\n"
                                            "bad = torch.load(f, weights_only=False)\n",
    "0.0.0.0 or :: as a default address": "p.add_argument('--host', default='0.0.0.0')\n"
                                          "def serve(app, host='::'): pass\nuvicorn.Config(app, host='0.0.0.0')\n",
    "bare except, or except Exception: pass": "try:\n    x()\nexcept:\n    y()\ntry:\n    x()\nexcept Exception:\n    pass\n",
    "HTTP call without timeout=": "requests.get(url)\nsession.get(url, stream=True)\nhttpx.stream('POST', url)\n"
                                  "requests.get(url, timeout=5)\n",
    "command-line flag without help": "p.add_argument('--a')\np.add_argument('--b', help='')\n"
                                      "p.add_argument('--c', help='fine')\n_add(g, '--d', type=int)\n",
}
EXPECTED = {"torch.load without weights_only=True": [2, 4], "0.0.0.0 or :: as a default address": [1, 2, 3],
            "bare except, or except Exception: pass": [3, 7], "HTTP call without timeout=": [1, 2, 3],
            "command-line flag without help": [1, 2, 4]}


@pytest.mark.parametrize("rule", list(CHECKS))
def test_each_checker_sees_a_bad_example(rule):
    assert sorted(CHECKS[rule](ast.parse(BAD[rule]))) == EXPECTED[rule]


def test_the_scan_reads_every_stage_script_and_the_package():
    names = set(sources())
    assert {"london_llm/inference/server.py", "06_inference/serve.py", "10_scripts/run_pipeline.py",
            "bench/bench_train.py", "config.py"} <= names


def test_every_training_setting_has_its_own_help():
    from london_llm import settings

    missing = [f.name for f in dataclasses.fields(settings.TrainConfig) if not settings._HELP.get(f.name, "").strip()]
    assert not missing, f"TrainConfig fields whose --flag has no help (settings._HELP): {missing}"
