"""The ``narrate`` stage: a clinical narrative for each synthetic row, written by llama.cpp and
fact-checked against the row.

- ``params``: ``NarrateParams``, the ``narrate`` section of params.yaml.
- ``pipeline``: ``run``, the stage's one entry point (synthetic file in, narratives and metrics out).
- ``runner``: sharded, resumable narration (generate, check, repair, keep the best candidate).
- ``sources``: which prompt and which fact lexicon a dataset uses (hand-written, else from the spec).
- ``metrics``: the metrics of a narration run.
- ``generation/``: running the language model (in process or on llama.cpp servers).
- ``prompts/``: what the model is asked (few-shot templates, the prompt made from the spec).
- ``checking/``: what a note states and where it contradicts its row (fact checker, repair).
"""
