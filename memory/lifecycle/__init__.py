"""The memory lifecycle: the state machine and one module per decision.

Owns the states and legal moves (``machine``, ``transitions``), a user's folded state (``state``), the
decisions taken on it (``decisions`` holds their policy and overview; ``on_embedding``, ``on_access``,
``on_tick`` and ``on_command`` one decision each; ``reevaluation``) and the rules behind them: repeats
(``dedupe``), contradictions (``contradiction``, with its vocabulary and phrase patterns in
``contradiction_patterns``), consolidation and its summaries (``consolidation``, ``summarize``) and
importance over time (``decay``).
"""
