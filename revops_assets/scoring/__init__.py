"""Pure scoring logic over pandas/numpy: intent signals in text (``intent``), the point-in-time
intent score (``intent_score``), ICP fit, validation, lead model and priority (``lead_model``),
stalled-deal detection (``ghosts``) and the ``revops intent`` CLI (``commands``).

Nothing here does I/O or reads settings; Dagster assets call these functions. Import submodules
directly -- this package imports nothing so that loading definitions stays light (sklearn is
imported only inside the lead-model functions that need it).
"""
