#!/usr/bin/env python3
"""Stage 02: download the historical London sources, then clean them into the corpus.

    python 02_data_collection/historical_data_collector.py                    # everything enabled
    python 02_data_collection/historical_data_collector.py --list-sources
    python 02_data_collection/historical_data_collector.py --sources gutenberg old_bailey_sessions
    python 02_data_collection/historical_data_collector.py --from-dir ../shared/corpus   # offline
    python 02_data_collection/historical_data_collector.py --clean-only

Downloads land in data/london_historical/downloads/<source_id>/<file> with <file>.meta.json written
last; a rerun fetches only what is missing. Every base URL can point at a mirror (flags below or
LONDON_LLM_<NAME>_MIRROR). Exit status: 0 when done (failures listed in the summary), 1 with
--strict when any item failed, 2 on bad input (registry, flags, missing folders).

A thin door to london_llm.cleaning.collector_cli (the logic and its tests live there).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the one bootstrap line: works from a clean clone
import config  # noqa: E402
from london_llm.errors import run_command  # noqa: E402
from london_llm.cleaning.collector_cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(run_command(main, None, paths_fn=config.paths, root=config.ROOT, prog="historical_data_collector.py"))
