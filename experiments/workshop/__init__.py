"""Workshop mode: an interactive page for teaching targeting trade-offs.

The page (``app.py``, Streamlit) only draws; the logic lives in plain modules it calls:
``plans`` (the world and the plan in marketing terms, bounded, turned into the library's
validated configs), ``engine`` (runs through :func:`sim.experiment.run_experiment`, the
four consumer types from the twin worlds, a bounded cache and worker pool), ``curves``
(ROI and granularity curves of the current world), ``exercises`` (tasks, scores and
debriefs), ``rounds`` (team rounds and their leaderboard, held in server memory) and
``safety`` (team names, CSV export).  ``python -m experiments.workshop`` starts it.
"""
