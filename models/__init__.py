"""Pydantic models that cross Temporal, and (in `tables`) the read-model tables that do not."""
