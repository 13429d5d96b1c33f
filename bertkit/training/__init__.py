"""The fine-tuning engine on Accelerate. ``api.finetune(recipe)`` trains and writes an output folder;
``api.inspect_data(recipe)`` is the dry run. Nothing here prints: progress leaves as events (``events``).

Modules, in the order a run uses them:

- ``api``: the two entry points, the Accelerator (precision from ``bertkit.modeling.device``), the data loaders.
- ``setup``: model source, tokenizer, config (head values, dropout, overrides), task set-up, encoded splits.
- ``optim``: the step plan (``TrainingPlan``), AdamW without decay on biases/norms, LR schedule, clipping.
- ``sampling``: seeded length-grouped batch order, identical on every process, resumable at any batch.
- ``run``: one run end to end (checks, data, model, loop, final metrics, publishing the folder).
- ``loop``: the Accelerate loop (accumulate, backward, clip, step; evaluation with gather_for_metrics; best
  model; early stopping; checkpoints).
- ``checkpoints`` / ``state``: resumable checkpoints, the loop state, the recipe identity a resume must match.
- ``outputs``: ``<dir>.partial`` work folder, the staged and atomically renamed output folder.
- ``events`` / ``reporters`` / ``progress``: events; JSONL log and TensorBoard writers; CLI renderers.
- ``launch``: ``--num-processes`` through Accelerate's launcher; ``cpu``: CPU allocator setting.

Tasks plug in through ``bertkit.tasks.base.Task`` (see ``bertkit.tasks.registry``): the engine never looks at
task-specific columns or outputs.
"""
