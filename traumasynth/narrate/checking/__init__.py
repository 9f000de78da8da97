"""Fact checking: what a note states, and where it contradicts the row it was written from.

- ``facts``: the fact lexicon (``lexicons/<dataset>.yaml``) and the facts a note states.
- ``factcheck``: a note's contradictions and omissions against its row.
- ``spec_lexicon``: the lexicon made from the dataset specification (``word_patterns``: its regexes).
- ``repair``: cutting the clauses of a note that contradict its row.
- ``note_numbers``: the numbers (with units), dates, clock times and codes a note states.
- ``unsupported``: those of them the row does not hold (rules made from the spec), with ``loops``:
  a note that repeats a phrase over and over.
"""
