import pytest

from bertkit.errors import TrainingError
from bertkit.training.state import RunState, check_resumable, run_identity
from tests.training.conftest import make_recipe


def identity(tmp_path, processes=1, fingerprints=None, **changes):
    recipe = make_recipe(tmp_path / "model", tmp_path / changes.pop("out", "out"), **changes)
    return run_identity(recipe, fingerprints or {"train": "abc"}, processes)


def test_output_and_logging_changes_do_not_matter(tmp_path):
    before = identity(tmp_path)
    after = identity(tmp_path, out="elsewhere", training={"logging_steps": 7, "checkpoint_steps": 3})
    check_resumable(before, after, "work")
    assert before["recipe_hash"] == after["recipe_hash"]


def test_a_changed_learning_rate_is_named(tmp_path):
    before = identity(tmp_path)
    after = identity(tmp_path, training={"learning_rate": 3e-5})
    with pytest.raises(TrainingError) as err:
        check_resumable(before, after, "work")
    assert "training.learning_rate: 0.001 -> 3e-05" in str(err.value)


def test_changed_data_or_process_count_refused(tmp_path):
    before = identity(tmp_path)
    with pytest.raises(TrainingError, match="train split"):
        check_resumable(before, identity(tmp_path, fingerprints={"train": "other"}), "work")
    with pytest.raises(TrainingError, match="processes: 1 -> 2"):
        check_resumable(before, identity(tmp_path, processes=2), "work")


def test_state_round_trip():
    state = RunState(global_step=5, epoch=1, batches_in_epoch=3, best_metric=0.5, eval_history=[{"step": 4}])
    assert RunState.from_dict(state.to_dict() | {"unknown": 1}) == state
