"""Workflow definitions and the pure rule functions they run (no I/O in this package)."""
