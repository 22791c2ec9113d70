"""The paper (``paper/``), built from the committed results by one command.

``python -m experiments.paper`` (``make paper``) makes every quoted number
(:mod:`~experiments.paper.numbers`), table (:mod:`~experiments.paper.tables`) and figure
(:mod:`~experiments.paper.figures`) that is stale from the result tables, as the manifest
``paper/manifest.yaml`` lists them, checks the prose for typed digits
(:mod:`~experiments.paper.lint`) and typesets ``paper/paper.pdf`` with Typst
(:mod:`~experiments.paper.build`).
"""
