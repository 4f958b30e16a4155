"""COACH's self-annealing logic: pure pandas/numpy/scipy, wired into Dagster assets by the lead.

- :mod:`.bank`: per-play Beta-Binomial posteriors, winning plays / failure modes on strong evidence only,
  stall-pattern lift on losses -> ``reasoning_bank.json`` / ``learnings.json``.
- :mod:`.bandit`: Thompson sampling over a template's variants; evidence-only winner/retirement calls.
- :mod:`.proposals`: unified diffs of directive front matter when a weight or threshold looks off.
- :mod:`.simulate`: a hidden-truth world for tests, benchmarks and ``revops simulate``.
"""

from revops_assets.learning.bandit import choose_variant, declare, lead_rng, prob_best
from revops_assets.learning.bank import PLAY_COLUMNS, PLAY_KEYS, STALL_COLUMNS, Bank, beta_posterior, build_bank, load_plays
from revops_assets.learning.proposals import Proposal, propose_directive_changes, write_proposals
from revops_assets.learning.simulate import Simulator, Truth, load_truth, run_bandit_simulation

__all__ = [
    "Bank", "PLAY_COLUMNS", "PLAY_KEYS", "STALL_COLUMNS", "beta_posterior", "build_bank", "load_plays",
    "choose_variant", "declare", "lead_rng", "prob_best",
    "Proposal", "propose_directive_changes", "write_proposals",
    "Simulator", "Truth", "load_truth", "run_bandit_simulation",
]
