"""Child-process side of the claim race in test_outbound (kept tiny: children import only the outbox)."""

from revops_assets.outbound.outbox import Outbox


def claim(path: str, key: str, barrier) -> bool:
    barrier.wait()
    return Outbox(path).claim_for_send(key)
