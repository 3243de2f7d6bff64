"""The fault suite: the whole hub under load while its processes, Redis, PostgreSQL and partners fail.

Run it with `python -m faults.run` (see faults/README.md).
"""
