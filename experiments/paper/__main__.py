"""``python -m experiments.paper``: build the paper (see :mod:`experiments.paper.build`)."""

from experiments.paper.build import main

raise SystemExit(main())
