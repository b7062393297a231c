"""Retrieval maths: from retriever outputs and rows to the final order, and from the order to a context.

Owns the named recipes (``recipes``), Reciprocal Rank Fusion (``fusion``), the priors and the final ranking
(``specificity``, ``ranking``, ``scoring``), the topics the graph walks (``topics``) and the token budget of
a prompt-ready context (``context_budget``). Everything here is pure; the API gathers and reads.
"""
