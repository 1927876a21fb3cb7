"""Thin adapters between chat platforms and the engine: console, Discord, Matrix."""
