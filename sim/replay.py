"""Replay a recorded contact log batch by batch, at the recorded times.

Used by the ground truth to send exactly the same contacts in another world (see
:mod:`sim.truth`).  Holdout rows are replayed as holdout rows.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import pandas as pd
import simpy

from sim.ledger import ContactStatus
from sim.market import Market


class Replay:
    name = "replay"

    def __init__(self, contacts: pd.DataFrame) -> None:
        self.contacts = contacts

    def start(self, market: Market) -> None:
        market.env.process(self._run(market))

    def _run(self, market: Market) -> Generator[simpy.Event, Any, None]:
        c = self.contacts
        if c.empty:
            return
        batch = c["batch"].to_numpy()
        bounds = np.flatnonzero(np.diff(batch)) + 1
        starts = np.concatenate([[0], bounds])
        ends = np.concatenate([bounds, [len(c)]])
        cols = {
            k: c[k].to_numpy()
            for k in (
                "time",
                "consumer",
                "channel",
                "category",
                "discount",
                "depth",
                "data_kinds",
                "arm",
                "status",
            )
        }
        for a, b in zip(starts, ends, strict=True):
            t = float(cols["time"][a])
            if t > market.now:
                yield market.env.timeout(t - market.now)
            market.contact(
                cols["consumer"][a:b],
                channel=cols["channel"][a:b],
                category=cols["category"][a:b],
                discount=cols["discount"][a:b],
                depth=cols["depth"][a:b],
                data_kinds=cols["data_kinds"][a:b],
                arm=cols["arm"][a:b],
                holdout=cols["status"][a:b] == ContactStatus.HOLDOUT,
            )
