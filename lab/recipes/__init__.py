"""Choosing models and their rules on dev: decision rules and the card threshold, and paired bootstraps of
candidates (and recipes of seeds) against the bundled models."""
