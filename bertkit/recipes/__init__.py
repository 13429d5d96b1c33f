"""Recipes: the typed YAML schema for `bertkit finetune`, its loader and the recipes that ship with bertkit."""
