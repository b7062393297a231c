"""The memory lifecycle: the state machine and one module per decision.

Owns the states and legal moves (``machine``, ``transitions``), a user's folded state (``state``), the
decisions taken on it (``decisions``, ``reevaluation``) and the rules behind them: repeats (``dedupe``),
contradictions (``contradiction``), consolidation and its summaries (``consolidation``, ``summarize``) and
importance over time (``decay``).
"""
