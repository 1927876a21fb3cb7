"""Footnote: answers common claims about China's social credit system with short, cited context."""

__version__ = "0.1.0"
