import pytest

from bertkit.recipes.schema import TrainingSection
from bertkit.training.optim import build_scheduler, make_plan, parameter_groups


def plan(examples=1000, processes=1, **training):
    return make_plan(TrainingSection(**training), examples, processes)


def test_plan_counts_sharded_batches_and_accumulation():
    p = plan(1000, 2, batch_size=32, gradient_accumulation_steps=4, epochs=2)
    assert p.batches_per_epoch == 16  # 32 batches over 2 processes
    assert p.steps_per_epoch == 4
    assert p.total_steps == 8
    assert p.effective_batch_size == 256


def test_plan_fractional_epochs_max_steps_and_warmup():
    assert plan(100, batch_size=10, epochs=1.5).total_steps == 15
    p = plan(100, batch_size=10, epochs=3, max_steps=7)
    assert (p.total_steps, p.epochs) == (7, 1)
    assert plan(100, batch_size=10, epochs=1, warmup_ratio=0.25).warmup_steps == 3
    assert plan(100, batch_size=10, epochs=1, warmup_ratio=0.25, warmup_steps=5).warmup_steps == 5


def test_no_weight_decay_on_biases_and_layer_norm(tiny_encoder):
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(tiny_encoder, num_labels=2)
    decay, plain = parameter_groups(model, 0.01)
    names = {id(p): n for n, p in model.named_parameters()}
    assert decay["weight_decay"] == 0.01 and plain["weight_decay"] == 0.0
    assert all("LayerNorm" in names[id(p)] or names[id(p)].endswith("bias") for p in plain["params"])
    assert not any("LayerNorm" in names[id(p)] or names[id(p)].endswith("bias") for p in decay["params"])
    assert len(decay["params"]) + len(plain["params"]) == len(list(model.parameters()))


@pytest.mark.parametrize("kind", ["linear", "cosine", "constant"])
def test_warmup_then_schedule(kind):
    import torch

    training = TrainingSection(learning_rate=1.0, lr_scheduler=kind, warmup_steps=2, max_steps=10, batch_size=1)
    p = make_plan(training, 100)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = build_scheduler(optimizer, training, p)
    rates = []
    for _ in range(10):
        rates.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    assert rates[0] == 0.0 and rates[1] == 0.5 and rates[2] == 1.0
    if kind == "constant":
        assert rates[-1] == 1.0
    else:
        assert scheduler.get_last_lr()[0] == pytest.approx(0.0, abs=1e-12)  # decayed to zero at max_steps
        assert rates[3:] == sorted(rates[3:], reverse=True) and rates[3] < 1.0


@pytest.mark.parametrize("norm", [0.05, 100.0])  # clipped, and below the limit
def test_clipping_folded_into_the_fused_optimizer_matches_clipping_the_gradients(norm):
    import types

    import torch

    from bertkit.training.optim import clip_gradients

    accelerator = types.SimpleNamespace(
        device=torch.device("cpu"), scaler=None, distributed_type=types.SimpleNamespace(value="NO")
    )

    def train(fold):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
        optimizer = torch.optim.AdamW(model.parameters(), lr=0.1, fused=True)
        norms = []
        for step in range(4):
            x = torch.randn(32, 8, generator=torch.Generator().manual_seed(step))
            model(x).pow(2).sum().backward()
            norms.append(
                float(clip_gradients(accelerator, list(model.parameters()), norm, optimizer if fold else None))
            )
            optimizer.step()
            optimizer.zero_grad()
        return norms, [p.detach().clone() for p in model.parameters()]

    plain_norms, plain = train(False)
    folded_norms, folded = train(True)
    assert folded_norms == pytest.approx(plain_norms, rel=1e-5)
    assert (plain_norms[0] > norm) == (norm == 0.05)
    for a, b in zip(plain, folded, strict=True):
        assert torch.allclose(a, b, atol=1e-6)
