"""The fine-tuning engine on Accelerate: ``finetune(recipe)`` trains and writes an output folder,
``inspect_data(recipe)`` is the dry run. See ``bertkit.training.api``."""
