"""Core memory blocks (MemGPT's in-context memory): labelled, size-limited text per user and agent.

``rules`` is the one definition of what an edit does and when it is refused (the API prechecks with it, the
lifecycle agent decides with it); ``state`` is a user's blocks as the agent folds them from the memory log;
``decide`` turns a block command into the past-tense event.
"""
