"""Reading user inputs and writing outputs (atomically)."""
