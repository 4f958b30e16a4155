"""Run one outbound dispatch in its own process; with ``--kill-after N`` it SIGKILLs itself right
after the Nth provider call returned and before ``mark_sent`` (the nastiest spot for at-most-once).

Used by tests/test_outbound.py: ``python tests/outbound_dispatch_child.py HOME BASE_URL DAY MODE [--kill-after N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
from datetime import date
from pathlib import Path

from revops_assets.outbound.dispatch import dispatch
from revops_assets.outbound.outbox import Outbox
from revops_assets.outbound.suppression import SuppressionList
from revops_assets.resources.gohighlevel import GoHighLevelResource


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("home")
    parser.add_argument("base_url")
    parser.add_argument("day")
    parser.add_argument("mode")
    parser.add_argument("--location", default="loc_test")
    parser.add_argument("--kill-after", type=int, default=0)
    args = parser.parse_args()

    ghl = GoHighLevelResource(api_key="test-key", location_id=args.location, base_url=args.base_url,
                              backoff_factor=0.01, backoff_max_s=0.05)
    sends = 0

    def after_send(key: str) -> None:
        nonlocal sends
        sends += 1
        if sends == args.kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    report = dispatch(Outbox.for_home(args.home), ghl, args.mode, 50, date.fromisoformat(args.day),
                      SuppressionList.for_home(Path(args.home)), after_send=after_send)
    print(json.dumps(report.as_dict()))


if __name__ == "__main__":
    main()
