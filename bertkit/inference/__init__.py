"""Inference: one batched engine and a module per task that prepares inputs and reads outputs."""
