"""What a `--dry_run` prints: the files that would be uploaded, each with its size and sha256, in one
layout for both publishing scripts (the model's, publish_to_huggingface.py, and the corpus's,
publish_dataset.py), so a user reads, and a test matches, one format."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable


def upload_listing(repo_id: str, folder: Path, files: Iterable[tuple[str, int, str]]) -> str:
    """The dry run's report: a heading naming the repository and folder, one line per (relative path,
    bytes, sha256), and the total."""
    files = list(files)
    width = max([len("total"), *(len(name) for name, _size, _digest in files)])
    lines = [f"Dry run: these files would be uploaded to {repo_id} from {folder}:"]
    lines += [f"  {name:<{width}}  {size:>13,} B  sha256 {digest}" for name, size, digest in files]
    lines.append(f"  {'total':<{width}}  {sum(size for _n, size, _d in files):>13,} B in {len(files)} files")
    return "\n".join(lines)
