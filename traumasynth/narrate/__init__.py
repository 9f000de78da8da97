"""Clinical narratives for synthetic rows, written by llama.cpp and fact-checked against the row.

- ``backends``: ``LlamaCppBackend`` (in process) and ``ServerBackend`` (llama.cpp server(s)).
- ``prompts``: versioned few-shot templates in ``prompts/<dataset>/<version>/``.
- ``facts`` / ``factcheck``: what a note states, and its contradictions with the row.
- ``runner``: sharded, resumable narration; ``pipeline``: the stage's library function.
"""

from traumasynth.narrate.backends import Generation, LlamaCppBackend, NarratorBackend, Request, Sampling, ServerBackend
from traumasynth.narrate.factcheck import FactCheck, check_narrative
from traumasynth.narrate.facts import Lexicon, extract_facts, load_lexicon
from traumasynth.narrate.params import NarrateParams
from traumasynth.narrate.pipeline import narrate_synthetic, open_backend, select_rows
from traumasynth.narrate.prompts import Prompt, PromptTemplate, load_prompt
from traumasynth.narrate.runner import NarrationJob, run_narration

__all__ = [
    "FactCheck",
    "Generation",
    "Lexicon",
    "LlamaCppBackend",
    "NarrateParams",
    "NarrationJob",
    "NarratorBackend",
    "Prompt",
    "PromptTemplate",
    "Request",
    "Sampling",
    "ServerBackend",
    "check_narrative",
    "extract_facts",
    "load_lexicon",
    "load_prompt",
    "narrate_synthetic",
    "open_backend",
    "run_narration",
    "select_rows",
]
