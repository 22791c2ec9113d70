"""``python -m experiments.bench``: the engine benchmark (:mod:`experiments.bench.engine`)."""

from experiments.bench.engine import main

if __name__ == "__main__":
    raise SystemExit(main())
