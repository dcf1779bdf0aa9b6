"""Aegis (反诈神盾): prevent, control and investigate telecom and online fraud."""

__version__ = "0.1.0"
