"""Every error class the collect and cleaning stages define is a LondonLLMError, so a failure that
reaches a script's door prints one line and exits 2 (found by walking the packages, not listed)."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import london_llm.cleaning
import london_llm.collect
from london_llm.errors import EXIT_USAGE, LondonLLMError, run_command


def stage_error_classes(*packages) -> list[type]:
    """Every exception class defined (not imported) in the packages' modules; private ones (`_Retry`, a
    signal between two functions of one module that never leaves it) are not errors a person sees."""
    found = []
    for package in packages:
        for module_info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            module = importlib.import_module(module_info.name)
            for name, cls in vars(module).items():
                if (inspect.isclass(cls) and issubclass(cls, BaseException) and cls.__module__ == module.__name__
                        and not name.startswith("_")):
                    found.append(cls)
    return found


CLASSES = stage_error_classes(london_llm.collect, london_llm.cleaning)


def test_the_walk_finds_the_stages_errors():
    names = {c.__name__ for c in CLASSES}
    assert {"RegistryError", "DownloadError", "NotFound", "HostUnreachable", "ParseError", "BuildError",
            "ArchiveError", "DocumentsError", "MetadataError", "SidecarError"} <= names


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_every_collect_and_cleaning_error_is_a_london_llm_error(cls):
    assert issubclass(cls, LondonLLMError) and cls.exit_code == EXIT_USAGE == 2


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_each_reaches_the_door_as_one_line_and_exit_2(cls, capsys):
    params = [p for p in inspect.signature(cls.__init__).parameters.values()
              if p.name != "self" and p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD]
    error = cls(*["x.xml: what went wrong; rerun stage 02"] * max(len(params), 1))

    def main(argv):
        raise error

    assert run_command(main) == 2
    err = capsys.readouterr().err
    assert err.startswith("ERROR: ") and err.count("\n") == 1 and "Traceback" not in err
