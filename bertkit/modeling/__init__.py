"""Finding, loading and checking models; device and precision choice."""
