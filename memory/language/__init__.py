"""The project's one reading of English: sentences, words, stop words, names, stems and time expressions.

Every rule that turns text into units lives here, once, so that the extractor, the summariser, the
duplicate and contradiction checks, the specificity prior, the topics of the graph and the graph
retriever agree on what a sentence, a word, a name and a stem are:

- ``sentences``: where sentences (or clauses) end, and the "Speaker: " label of a line of dialogue;
- ``words``: the words of a text, their folded and normalised spellings, stop words, content words;
- ``names``: capitalised words that name something, the runs the extractor makes entities of, and the
  spans of a query that may name an entity;
- ``stems``: the Snowball English stem, the same algorithm as PostgreSQL's ``english`` configuration;
- ``time_expressions``: "last week", "on May 8th", "between May 8th and June 9th", "three days ago", "our first
  session", "a few days ago" read relative to a reference time (every form: docs/temporal.md).

Pure functions of their input, no I/O: projections derive from them, so a replay must get the same answer.
"""
