"""The guide's `cd 10_scripts; python publish_to_huggingface.py` publishes the slm run; with only another
model's checkpoints (./run.sh on a CPU trains tiny) the error names that model and its --model."""
from __future__ import annotations

import pytest


def test_no_checkpoint_for_the_model_names_the_model_that_has_some(home):
    import config
    from run_records import make_checkpoint

    from london_llm.publishing.cli import Defaults, build_parser, run
    from london_llm.publishing.errors import PublishError

    paths = config.paths(home)
    defaults = Defaults(checkpoint_dirs={m: paths.checkpoint_dir(m) for m in config.PRESETS},
                        export_root=paths.models_dir / "hf_export", documents_file=paths.documents_file,
                        evaluation_dir=paths.evaluation_dir, log_file=paths.logs_dir / "publish.log")
    make_checkpoint(paths.checkpoint_dir("tiny"), 40, 6.9)
    args = build_parser(defaults).parse_args(["--dry_run"])
    with pytest.raises(PublishError, match=r"no checkpoints exist in .*slm\. .*The tiny model has checkpoints "
                                           r"\(newest: checkpoint-40\): pass --model tiny\.$"):
        run(args, defaults, log=lambda _m: None)
    given = build_parser(defaults).parse_args(["--dry_run", "--checkpoints_dir", str(home / "empty")])
    with pytest.raises(PublishError) as caught:  # the folder named is the one meant: no hint
        run(given, defaults, log=lambda _m: None)
    assert "pass --model tiny" not in str(caught.value)
