#!/usr/bin/env python3
"""torchrun as the launchers run it: torch's own launcher (torch.distributed.run, same flags), with
its ending made plain.

Plain `torchrun` ends every failed run with its ChildFailedError report and exit status 1, and a
stopped one (Ctrl-C, SIGTERM, SIGHUP) with a SignalException traceback. The workers have already
said what happened (rank 0's one ERROR line, or its "stopped at step N after saving ..." line), so
here a worker's status 2 (a known problem, README "Exit status") is passed on silently, another
failure prints torchrun's report once and passes its status on, and a stop signal ends with one
line and 128 + the signal number, as a shell reports a signalled command.

    10_scripts/torchrun_launch.py --nproc_per_node=2 --standalone 04_training/train_model_slm.py ...
"""
from __future__ import annotations

import logging
import os
import signal
import sys


def main(argv: list[str]) -> int:
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    if "LOGLEVEL" not in os.environ:  # torch's own switch for its launcher's log lines
        for name, logger in list(logging.root.manager.loggerDict.items()):
            if name.startswith("torch.distributed") and isinstance(logger, logging.Logger):
                logger.setLevel(logging.CRITICAL)  # what they say (closing signals, exit codes) is said below
    args = parse_args(argv)
    try:
        run(args)
    except ChildFailedError as exc:
        _, failure = exc.get_first_failure()
        if failure.exitcode == 2:
            return 2
        print(exc.format_msg() if hasattr(exc, "format_msg") else str(exc), file=sys.stderr)
        return failure.exitcode if failure.exitcode > 0 else 1
    except SignalException as exc:
        name = signal.Signals(exc.sigval).name
        print(f"[torchrun] {name}: the workers were asked to save and stop (see their last lines above)",
              file=sys.stderr)
        return 128 + int(exc.sigval)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
