"""The lab: the tools only experiments use, beside the product and outside its wheel (lab/README.md).

Run from a checkout's root: ``python -m lab.data.build_data ...``. The lab imports voxwatch; voxwatch never imports
the lab (tests/test_layering.py).
"""
