"""Clients of model servers that more than one part of the project talks to."""
