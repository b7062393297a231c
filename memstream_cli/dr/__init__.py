"""``memstream dr drill``: lose region A, recover in region B from B's copy of the log alone.

The runbook with the same steps: docs/disaster-recovery.md.
"""
