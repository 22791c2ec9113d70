"""Benchmarks: engine speed against its naive twin (:mod:`.engine`, :mod:`.naive`), sweep
scaling over worker counts (:mod:`.sweeps`) and the uplift lab's closed loop at scale
(:mod:`.uplift`).  Each runs as ``python -m experiments.bench.<name>``;
``python -m experiments.bench`` is the engine benchmark."""
