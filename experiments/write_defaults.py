"""Regenerate ``conf/market/default.yaml`` and ``conf/economics/default.yaml`` from the
dataclass defaults (the tests check that they agree): ``python -m experiments.write_defaults``."""

from __future__ import annotations

from pathlib import Path

import yaml

from sim.config import MarketConfig
from sim.economics import EconomicsConfig
from sim.schema import to_dict

CONF = Path(__file__).resolve().parent.parent / "conf"
HEADERS = {
    "market": "# Default omnichannel retailer. Every knob of sim/config.py, with its default "
    "value;\n"
    "# units and equations are in the docstrings of sim/config.py and the modules they cite.\n"
    "# Other presets start from this file (defaults list) and override what differs.\n",
    "economics": "# Unit costs and margins of the default retailer (see sim/economics.py).\n",
}


def main() -> None:
    for group, obj in (("market", MarketConfig()), ("economics", EconomicsConfig())):
        path = CONF / group / "default.yaml"
        text = HEADERS[group] + yaml.safe_dump(
            to_dict(obj), sort_keys=False, default_flow_style=None, width=100
        )
        path.write_text(text)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
