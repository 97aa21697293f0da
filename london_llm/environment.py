"""A true report of this machine against what training needs, and virtual-environment setup."""
from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import venv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from london_llm.errors import LondonLLMError

NEED_RAM_GB = 8  # the guide's prerequisites for full training
NEED_DISK_GB = 100
# the guide says 3.8+; the pinned torch 2.13 wheels and pyproject.toml's requires-python need 3.10
MIN_PYTHON = (3, 10)


class EnvironmentSetupError(LondonLLMError):
    """The environment could not be made: one line saying why and what to do."""


def require_python(version: Optional[tuple] = None) -> None:
    """Refuse an interpreter older than MIN_PYTHON (this one's, or `version`) before anything is created."""
    version = tuple(sys.version_info[:3]) if version is None else tuple(version)
    if version[:2] < MIN_PYTHON:
        need = ".".join(map(str, MIN_PYTHON))
        raise EnvironmentSetupError(
            f"Python {'.'.join(map(str, version[:3]))} is too old: this project needs {need}+ (the pinned torch "
            f"wheels and pyproject.toml; the guide's 3.8+ is older than both). Run this script with python{need} "
            "or newer")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    hard: bool = True  # a failed hard check makes --check exit non-zero


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, bool] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks if c.hard)

    def render(self) -> str:
        lines = ["Machine"]
        lines += [f"  {k:<22} {v}" for k, v in self.facts.items()]
        lines.append("Requirements")
        for c in self.checks:
            mark = "ok  " if c.ok else ("FAIL" if c.hard else "warn")
            lines.append(f"  [{mark}] {c.name:<16} {c.detail}")
        lines.append("Stage artifacts")
        for name, present in self.artifacts.items():
            lines.append(f"  [{'yes' if present else ' no'}] {name}")
        lines.append("Result: " + ("ready" if self.ok else "a hard requirement is missing (see FAIL above)"))
        return "\n".join(lines)


def _ram_gb() -> Optional[float]:
    try:
        import psutil
        return psutil.virtual_memory().total / 2**30
    except ImportError:
        try:
            return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        except (ValueError, OSError):
            return None


def _torch_facts() -> tuple[dict[str, str], list[Check]]:
    facts: dict[str, str] = {}
    checks: list[Check] = []
    try:
        import torch
    except ImportError:
        checks.append(Check("torch", False, "not installed: run 01_environment/setup_environment.py"))
        return facts, checks
    cuda = torch.version.cuda
    facts["torch"] = f"{torch.__version__} ({'CUDA ' + cuda if cuda else 'CPU build'})"
    checks.append(Check("torch", True, torch.__version__))
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    facts["GPUs"] = str(count)
    for i in range(count):
        props = torch.cuda.get_device_properties(i)
        facts[f"GPU {i}"] = (f"{props.name}, {props.total_memory / 2**30:.0f} GiB, "
                             f"bf16 {'yes' if torch.cuda.is_bf16_supported(including_emulation=False) else 'no'}")
    if count == 0:
        cpu_bf16 = False
        try:
            cpu_bf16 = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            pass
        facts["CPU bf16"] = "yes (AVX-512 BF16 / AMX)" if cpu_bf16 else "no (fp32 training)"
    checks.append(Check("GPU", count > 0, f"{count} CUDA device(s)" if count else
                        "none: training runs on the CPU (slow; fine for the tiny preset)", hard=False))
    return facts, checks


def machine_report(artifacts: dict[str, Path], disk_path: Path) -> Report:
    """Facts about this machine, checks against the guide's needs, and which artifacts exist."""
    report = Report()
    report.facts["Python"] = f"{platform.python_version()} ({sys.executable})"
    report.facts["platform"] = f"{platform.system()} {platform.machine()}"
    report.facts["CPU cores"] = str(os.cpu_count())
    report.checks.append(Check("Python", sys.version_info[:2] >= MIN_PYTHON,
                               f"{platform.python_version()} (need {'.'.join(map(str, MIN_PYTHON))}+)"))
    torch_facts, torch_checks = _torch_facts()
    report.facts.update(torch_facts)
    report.checks += torch_checks
    ram = _ram_gb()
    if ram is not None:
        report.checks.append(Check("RAM", ram >= NEED_RAM_GB, f"{ram:.1f} GiB (need {NEED_RAM_GB}+)"))
    probe = disk_path
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free / 2**30
    report.checks.append(Check("disk", free >= NEED_DISK_GB,
                               f"{free:.0f} GiB free at {probe} (need {NEED_DISK_GB}+ for full training)",
                               hard=False))
    report.artifacts = {f"{name}: {path}": path.exists() for name, path in artifacts.items()}
    return report


def create_environment(env_dir: Path, requirements: Path, project: Optional[Path] = None,
                       upgrade_pip: bool = True) -> Path:
    """Create `env_dir` if missing, install `requirements` into it, then `project` in editable mode.

    The editable install (`pip install -e project --no-deps`: the pins come from requirements
    alone) is what lets every script, test and benchmark import london_llm without patching
    sys.path. Returns the environment's python.
    """
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not python.exists():
        require_python()
        print(f"Creating virtual environment {env_dir}")
        _create_venv(env_dir)
    try:
        if upgrade_pip:
            subprocess.run([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
        print(f"Installing {requirements}")
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(requirements)], check=True)
        if project is not None:
            install_project(python, project)
    except subprocess.CalledProcessError as exc:
        raise EnvironmentSetupError(
            f"installing into {env_dir} failed ({' '.join(map(str, exc.cmd[1:]))}: exit {exc.returncode}); pip's "
            "messages above say why (often no network, or no wheel for this Python). Fix that and rerun: what "
            "is installed stays") from None
    return python


def _create_venv(env_dir: Path) -> None:
    """A new virtual environment with pip; a half-made one is removed (a later run would take its
    python for a working environment). Ubuntu/Debian's python lacks ensurepip without python3-venv."""
    existed = env_dir.exists()
    try:
        venv.EnvBuilder(with_pip=True).create(env_dir)
    except (subprocess.CalledProcessError, OSError) as exc:
        if not existed:
            shutil.rmtree(env_dir, ignore_errors=True)
        minor = f"{sys.version_info[0]}.{sys.version_info[1]}"
        raise EnvironmentSetupError(
            f"could not create the virtual environment {env_dir} ({type(exc).__name__}: {exc}). On Ubuntu/Debian "
            f"Python's venv needs its package first: sudo apt install python3-venv (or python{minor}-venv), "
            "then rerun") from None


_INSTALLED_FROM = ("import importlib.metadata as m\n"
                   "try: print(m.distribution('london-llm').read_text('direct_url.json') or '')\n"
                   "except Exception: pass")


def other_checkout(python: Path, project: Path) -> Optional[Path]:
    """The other checkout the environment's london-llm is installed editable from, when it still exists:
    a shared environment (LONDON_LLM_VENV pointing at another checkout's) that a worktree's ./run.sh
    must not re-point, or that checkout's own commands would import this one's code."""
    import json
    from urllib.parse import unquote, urlparse

    out = subprocess.run([str(python), "-c", _INSTALLED_FROM], capture_output=True, text=True).stdout.strip()
    try:
        info = json.loads(out) if out else {}
    except ValueError:
        return None
    url = urlparse(info.get("url", "")) if isinstance(info, dict) else None
    if not url or url.scheme != "file" or not (info.get("dir_info") or {}).get("editable"):
        return None
    installed = Path(unquote(url.path))
    return installed if installed.is_dir() and installed.resolve() != Path(project).resolve() else None


def install_project(python: Path, project: Path) -> None:
    """`pip install -e project --no-deps`, building with the environment's own setuptools when it
    has one (no download of a build environment), else in pip's isolated build environment.
    An environment already holding another existing checkout's editable install keeps it: the
    numbered scripts import their own checkout's london_llm through their bootstrap line anyway."""
    other = other_checkout(python, project)
    if other is not None:
        print(f"Keeping the editable install of {other} in this environment (shared with that checkout); "
              f"{project}'s scripts import their own london_llm")
        return
    has_setuptools = subprocess.run([str(python), "-c", "import setuptools"], capture_output=True).returncode == 0
    print(f"Installing {project} in editable mode")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps",
                    *(["--no-build-isolation"] if has_setuptools else []), "-e", str(project)], check=True)
