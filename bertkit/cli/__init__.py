"""The Typer command-line interface: thin wrappers over library functions."""
