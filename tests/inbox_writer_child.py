"""Child-process side of test_inbox's concurrent-writers test (tiny: children import only the inbox)."""

import json

from revops_assets.receiver.models import parse_visit
from revops_assets.resources.inbox import VisitInbox


def write_visits(path: str, prefix: str, n: int) -> None:
    with VisitInbox(path) as box:
        for i in range(n):
            raw = json.dumps({"LinkedIn URL": f"https://www.linkedin.com/in/{prefix}{i}/", "City": "Austin",
                              "State": "Texas", "Zipcode": "73301", "Seen At": "2024-01-01T12:34:56Z",
                              "Captured URL": "https://acme.com/pricing"}).encode()
            box.append(parse_visit(raw), raw)
