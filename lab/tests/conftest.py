"""Fixtures the lab's tests share with the product's, imported from tests/ rather than copied."""

from lab.tests import helpers  # noqa: F401 (first: it puts tests/ on sys.path, which tests/test_training.py needs)

# fixtures: tiny_corpus (8 clips per class, train/dev/test), trained (a few steps of training on it)
from tests.test_training import tiny_corpus, trained  # noqa: F401
