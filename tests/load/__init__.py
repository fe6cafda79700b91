"""Helpers that put real load on the core: a scenario (village, households, products,
points), worker processes acting as tills, committee and admins, and the invariants
checked after every run. Used by tests/test_concurrency*.py and tests/test_crash*.py."""
