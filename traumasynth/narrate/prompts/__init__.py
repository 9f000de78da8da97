"""What the model is asked: the prompt of each row.

- ``templates``: hand-written few-shot templates in ``prompts/<dataset>/<version>/``.
- ``spec_prompt``: the prompt made from the dataset specification, for a dataset without one.
- ``spec_words``: how a spec's columns and values are worded (shared with the spec's fact lexicon).
"""
