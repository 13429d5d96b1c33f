import pytest

from bertkit.errors import RecipeError
from bertkit.recipes.loader import load_recipe, load_recipe_text, recipe_to_dict, recipe_to_yaml
from tests.recipes.conftest import VALID


def test_valid_recipe_loads_with_defaults(write):
    recipe = load_recipe(write(VALID))
    assert recipe.task.type == "text-classification"
    assert recipe.task.labels == ["negative", "positive"]
    assert recipe.training.epochs == 2.0
    assert recipe.training.batch_size == 32  # default
    assert recipe.data.config == "sst2"


def test_exponent_without_dot_is_a_float(write):
    recipe = load_recipe(write(VALID.replace("  epochs: 2\n", "  epochs: 2\n  learning_rate: 3e-5\n")))
    assert recipe.training.learning_rate == pytest.approx(3e-5)
    assert isinstance(recipe_to_dict(recipe)["training"]["learning_rate"], float)


def test_unknown_key_points_at_the_key_with_did_you_mean(problems):
    lines, path = problems(VALID.replace("  labels: [negative, positive]", "  lables: [negative, positive]"))
    assert lines == [f"{path}:8:3: task.lables: unknown key 'lables'; did you mean 'labels'?"]


def test_unknown_key_without_close_match_lists_the_allowed_keys(problems):
    lines, _ = problems(VALID.replace("  epochs: 2", "  zzz: 2"))
    assert "training.zzz: unknown key 'zzz' (allowed here: seed, epochs," in lines[0]


def test_key_in_the_wrong_section_names_the_right_one(problems):
    lines, path = problems(VALID.replace("  epochs: 2", "  max_length: 64"))
    assert lines == [
        f"{path}:10:3: training.max_length: unknown key 'max_length' in training; did you mean 'task.max_length'?"
    ]


def test_wrong_type_points_at_the_value(problems):
    lines, path = problems(VALID.replace("  epochs: 2", "  epochs: many"))
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}:10:11: training.epochs: should be a valid number")
    assert "(got 'many')" in lines[0]


def test_out_of_range(problems):
    lines, path = problems(VALID.replace("  epochs: 2", "  batch_size: 0"))
    assert lines == [f"{path}:10:15: training.batch_size: should be greater than or equal to 1 (got 0)"]


def test_missing_required_key_points_at_its_parent_section(problems):
    lines, path = problems(VALID.replace("  name: minilm\n", "  revision: main\n"))
    assert lines == [f"{path}:1:1: model.name: missing required key 'name'"]


def test_missing_top_level_section(problems):
    lines, path = problems(VALID.replace("output:\n  dir: runs/x\n", ""))
    assert lines == [f"{path}:1:1: output: missing required key 'output'"]


def test_bad_task_type_lists_the_valid_types(problems):
    lines, path = problems(VALID.replace("type: text-classification", "type: ner"))
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}:7:9: task.type: unknown task type 'ner'; did you mean 'token-classification'?")
    for task in ("text-classification", "question-answering", "masked-lm", "pretraining"):
        assert task in lines[0]


def test_missing_task_type(problems):
    lines, path = problems(VALID.replace("  type: text-classification\n", ""))
    assert lines[0].startswith(f"{path}:6:1: task.type: missing required key 'type' (one of: text-classification")


def test_discriminator_tag_does_not_leak_into_the_key(problems):
    lines, _ = problems(VALID.replace("  labels: [negative, positive]", "  max_length: 2"))
    assert lines[0].split(": ")[1] == "task.max_length"
    assert "text-classification" not in lines[0].split(": ")[1]


def test_literal_value_gets_did_you_mean(problems):
    lines, path = problems(VALID.replace("  epochs: 2", "  lr_scheduler: cosin"))
    assert lines == [
        f"{path}:10:17: training.lr_scheduler: must be one of linear, cosine, constant (got 'cosin'); "
        "did you mean 'cosine'?"
    ]


def test_bare_no_gets_a_quoting_hint(problems):
    lines, path = problems(VALID + "evaluation:\n  strategy: no\n")
    assert lines == [
        f"{path}:14:13: evaluation.strategy: must be one of epoch, steps, no (got False); YAML reads a bare "
        "yes/no/on/off as true/false: write it in quotes ('no')"
    ]


def test_list_item_error_shows_index(problems):
    lines, path = problems(VALID.replace("[negative, positive]", "[negative, [x]]"))
    assert lines[0].startswith(f"{path}:8:22: task.labels[1]: should be a valid string")


def test_section_of_wrong_type(problems):
    lines, path = problems(VALID.replace("training:\n  epochs: 2\n", "training: fast\n"))
    assert lines == [f"{path}:9:11: training: expected a section of 'key: value' lines, got 'fast'"]


def test_cross_field_check_points_at_the_key_it_names(problems):
    text = VALID.replace("  epochs: 2\n", "  epochs: 2\n") + "evaluation:\n  strategy: steps\n"
    lines, path = problems(text)
    assert lines == [f"{path}:14:13: evaluation.strategy: evaluation.strategy is 'steps': set evaluation.steps too"]


def test_columns_must_name_fields_of_the_task(problems):
    lines, path = problems(VALID.replace("  config: sst2\n", "  config: sst2\n  columns: {txt: sentence}\n"))
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}:6:18: data.columns.txt: 'txt' is not a field of text-classification")
    assert "did you mean 'text'?" in lines[0]


def test_stride_sanity_check():
    text = VALID.replace("type: text-classification\n  labels: [negative, positive]", "type: token-classification")
    with pytest.raises(RecipeError) as info:
        load_recipe_text(text + "", overrides=["task.max_length=64", "task.stride=40"])
    assert "task.stride (40) must be at most half of task.max_length (64)" in str(info.value)


def test_all_problems_are_reported_at_once_in_line_order(problems):
    text = """\
    model:
      nam: minilm
    data:
      dataset: d
      max_train_samples: -1
    task:
      type: question-answering
      doc_stride: x
    training:
      epochs: 0
      epochs: 1
    output:
      dir: o
    """
    lines, path = problems(text)
    assert [line.split(": ")[0] for line in lines] == [
        f"{path}:1:1",  # model.name missing (points at model:)
        f"{path}:2:3",  # unknown key nam
        f"{path}:5:22",  # max_train_samples out of range
        f"{path}:8:15",  # doc_stride not an int
        f"{path}:11:3",  # duplicate key
    ]
    assert "did you mean 'name'?" in lines[1]
    assert "duplicate key (first set on line 10)" in lines[4]


def test_yaml_syntax_error_has_file_line_column(write):
    path = write("model:\n  name: x\n\tdata: 1\n")
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    assert str(info.value).startswith(f"{path}:3:1: YAML syntax error:")


def test_unclosed_bracket(write):
    path = write("model:\n  name: [a, b\noutput: {dir: x}\n")
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    assert f"{path}:3:" in info.value.message and "YAML syntax error" in info.value.message


def test_not_a_mapping(write):
    path = write("- a\n- b\n")
    with pytest.raises(RecipeError, match=r":1:1: a recipe is a mapping of sections .* not a list"):
        load_recipe(path)


def test_empty_file(write):
    with pytest.raises(RecipeError, match="the recipe is empty"):
        load_recipe(write("# only a comment\n"))


def test_missing_file(tmp_path):
    with pytest.raises(RecipeError, match="recipe file not found"):
        load_recipe(tmp_path / "nope.yaml")


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"model:\n  name: caf\xe9\n")
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    assert info.value.message.startswith(f"{path}:2:12: not valid UTF-8 (byte 0xe9)")


def test_merge_keys_are_supported_and_explicit_keys_win(write):
    text = VALID + "evaluation: &ev\n  strategy: 'no'\n  report: false\n"
    text = text.replace("training:\n  epochs: 2\n", "training:\n  epochs: 2\n")
    recipe = load_recipe(write(text))
    assert recipe.evaluation.strategy == "no"
    base = "defaults: &d {epochs: 5, seed: 1}\n"
    with pytest.raises(RecipeError, match="unknown key 'defaults'"):
        load_recipe(write(base + VALID))


def test_resolved_yaml_round_trips(write):
    recipe = load_recipe(write(VALID), ["training.learning_rate=3e-5", "model.config_overrides.foo=1e-3"])
    text = recipe_to_yaml(recipe, header="resolved\nfrom test")
    assert text.startswith("# resolved\n# from test\n")
    assert load_recipe_text(text) == recipe
    assert recipe_to_dict(recipe)["model"]["config_overrides"] == {"foo": 0.001}


# ------------------------------------------------------------------------------------------------ --set
def test_overrides_parse_values_as_yaml(write):
    recipe = load_recipe(
        write(VALID),
        [
            "training.learning_rate=3e-5",
            "training.max_grad_norm=null",
            "evaluation.report=false",
            "task.labels=[bad, good]",
            "data.dataset=../shared/data/sst2",
            "model.architecture.hidden_size=64",
            "model.architecture.num_attention_heads=4",
        ],
    )
    assert recipe.training.learning_rate == pytest.approx(3e-5)
    assert recipe.training.max_grad_norm is None
    assert recipe.evaluation.report is False
    assert recipe.task.labels == ["bad", "good"]
    assert recipe.data.dataset == "../shared/data/sst2"
    assert recipe.model.architecture.hidden_size == 64


def test_override_list_item(write):
    recipe = load_recipe(write(VALID), ["task.labels.1=pos"])
    assert recipe.task.labels == ["negative", "pos"]


def test_override_errors_name_the_set(write):
    with pytest.raises(RecipeError) as info:
        load_recipe(
            write(VALID),
            [
                "training.lr=1e-4",
                "trainig.epochs=1",
                "training.epochs=-1",
                "no-equals-sign",
                "training.seed=[1",
                "model.name.sub=1",
                "task.labels.5=x",
            ],
        )
    assert info.value.problems == [
        "--set training.lr: unknown key 'lr' (allowed here: seed, epochs, max_steps, batch_size, eval_batch_size, "
        "gradient_accumulation_steps, learning_rate, weight_decay, adam_beta1, adam_beta2, adam_epsilon, "
        "lr_scheduler, warmup_ratio, warmup_steps, max_grad_norm, precision, group_by_length, length_chunks, "
        "logging_steps, checkpoint_steps, keep_checkpoints, dataloader_workers, speedups)",
        "--set trainig.epochs: trainig: unknown key 'trainig'; did you mean 'training'?",
        "--set training.epochs: should be greater than 0 (got -1)",
        "--set no-equals-sign: expected KEY=VALUE, e.g. training.learning_rate=3e-5",
        "--set training.seed: cannot read the value '[1': expected ',' or ']', but got '<stream end>'",
        "--set model.name.sub: model.name is a value ('minilm'), not a section with keys",
        "--set task.labels.5: task.labels is a list of 2: use an index 0..1",
    ]


def test_override_did_you_mean(write):
    with pytest.raises(RecipeError) as info:
        load_recipe(write(VALID), ["training.learnin_rate=1e-4"])
    assert info.value.problems == [
        "--set training.learnin_rate: unknown key 'learnin_rate'; did you mean 'learning_rate'?"
    ]


def test_file_and_override_problems_together(write):
    path = write(VALID.replace("  epochs: 2", "  epochs: 0"))
    with pytest.raises(RecipeError) as info:
        load_recipe(path, ["task.type=qa"])
    assert info.value.problems[0].startswith(f"{path}:10:11: training.epochs:")
    assert info.value.problems[1].startswith(
        "--set task.type: unknown task type 'qa'; did you mean 'question-answering'?"
    )
    assert "(2 problems)" in info.value.message


def test_override_fixes_a_file_problem(write):
    recipe = load_recipe(write(VALID.replace("  epochs: 2", "  epochs: 0")), ["training.epochs=1"])
    assert recipe.training.epochs == 1.0
