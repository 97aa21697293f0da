#!/usr/bin/env python3
"""torchrun as the launchers run it: torch's own launcher (torch.distributed.run, same flags), with
its ending made plain.

Plain `torchrun` ends every failed run with its ChildFailedError report and exit status 1, and a
stopped one (Ctrl-C, SIGTERM, SIGHUP) with a SignalException traceback. The workers have already
said what happened (rank 0's one ERROR line, or its "stopped at step N after saving ..." line), so
here a worker's status 2 (a known problem, README "Exit status") is passed on silently, even
when torchrun's SIGTERM reached the other workers first; another failure prints torchrun's report
once and passes its status on (1 where the workers were only signalled); and a stop signal ends with one
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
        codes = [f.exitcode for f in exc.failures.values()]
        # a known problem: a worker's 2, the others 2 too or ended by torchrun's SIGTERM, which can
        # reach the rank that said why before it exits (torchrun then names that rank the root cause)
        if 2 in codes and all(code == 2 or code < 0 for code in codes):
            return 2
        print(exc.format_msg() if hasattr(exc, "format_msg") else str(exc), file=sys.stderr)
        unexplained = [code for code in codes if code > 0 and code != 2]  # not a signal, not a known problem
        return unexplained[0] if unexplained else 1
    except SignalException as exc:
        name = signal.Signals(exc.sigval).name
        print(f"[torchrun] {name}: the workers were asked to save and stop (see their last lines above)",
              file=sys.stderr)
        return 128 + int(exc.sigval)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
