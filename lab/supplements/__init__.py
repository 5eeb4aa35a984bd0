"""Supplements to the labelled sets: synthetic voices, real speech and twins of real speech made here.

Each one writes a folder in the corpus format (``audio`` + ``manifest.csv``) that ``voxwatch train --data`` reads,
or (the Lyra twins) rows merged into a set the data builder wrote.
"""
