"""london_llm.training.memory: the one line an out-of-memory run ends with (the guide's "Out of memory")."""
from __future__ import annotations

from pathlib import Path

import torch

from london_llm.training.memory import is_out_of_memory, out_of_memory_message, smaller_step_flags


def test_a_smaller_micro_batch_keeps_the_sequences_per_step():
    assert smaller_step_flags(18, 1) == "--batch_size 9 --gradient_accumulation_steps 2"  # the slm preset
    assert smaller_step_flags(2, 4) == "--batch_size 1 --gradient_accumulation_steps 8"  # regular
    assert smaller_step_flags(9, 1) == "--batch_size 3 --gradient_accumulation_steps 3"  # 9 sequences still
    assert smaller_step_flags(7, 2) == "--batch_size 1 --gradient_accumulation_steps 14"
    assert smaller_step_flags(1, 8) is None


def test_the_message_names_the_flags_and_the_command_that_goes_on():
    ckpt = Path("/runs/slm/checkpoint-500")
    line = out_of_memory_message("cuda:0", 18, 1, 512, ckpt, "./resume_training.sh /runs/slm/checkpoint-500")
    assert line.startswith("out of memory on cuda:0 with --batch_size 18 sequences of --max_length 512")
    assert line.endswith("Go on from /runs/slm/checkpoint-500 with them: ./resume_training.sh "
                         "/runs/slm/checkpoint-500, adding --batch_size 9 --gradient_accumulation_steps 2")
    fresh = out_of_memory_message("cuda:0", 18, 1, 512, None, None)
    assert fresh.endswith("--batch_size 9 --gradient_accumulation_steps 2; nothing was saved yet, so rerun with them")
    one = out_of_memory_message("cuda:0", 1, 8, 1024, ckpt, "x")
    assert "one sequence does not fit" in one and "--max_length" in one and "\n" not in one


def test_only_torchs_out_of_memory_error_counts():
    assert is_out_of_memory(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert not is_out_of_memory(RuntimeError("something else"))
