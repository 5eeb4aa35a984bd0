"""Generators of labelled audio: synthetic voices, real-speech supplements and the data builder.

Each one writes a folder in the corpus format (``audio`` + ``manifest.csv``) that ``voxwatch train --data`` reads.
"""
