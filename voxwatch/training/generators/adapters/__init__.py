"""Adapters of the data builder: each finds and labels the audio of one public checkout (see source_clip.py)."""
