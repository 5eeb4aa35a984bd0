"""The lab's tests (lab/tests): ``python -m pytest`` from the checkout's root runs them beside tests/."""
