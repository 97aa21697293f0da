"""london_llm.training.loop: how long a run trains (the loop itself runs in tests/scripts/test_train_model.py)."""
from __future__ import annotations

from london_llm.settings import TrainConfig
from london_llm.training.loop import total_steps


SMALL = TrainConfig(n_layer=1, n_head=2, n_embd=16, max_length=8, vocab_size=100, batch_size=2,
                    max_steps=100, warmup_steps=10, learning_rate=1e-3, min_lr_ratio=0.1)


def test_total_steps_is_the_earlier_of_max_steps_and_epochs():
    # batches_per_epoch counts global micro-batches, as EpochBatches.batches_per_epoch does
    assert total_steps(SMALL.replace(max_steps=100, num_epochs=1), batches_per_epoch=500) == 100
    assert total_steps(SMALL.replace(max_steps=None, num_epochs=2), batches_per_epoch=25) == 50
    assert total_steps(SMALL.replace(max_steps=None, num_epochs=0.5, gradient_accumulation_steps=5),
                       batches_per_epoch=50) == 5
    # 3 epochs of 7 micro-batches with accumulation 2: 10 whole steps, never an 11th in epoch 4
    assert total_steps(SMALL.replace(max_steps=None, num_epochs=3, gradient_accumulation_steps=2),
                       batches_per_epoch=7) == 10
