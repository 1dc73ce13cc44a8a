"""Potluck: round up what many peers can bring to keep owner-less projects running."""

__version__ = "0.1.0"
