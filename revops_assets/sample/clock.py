"""Time and id helpers shared by the sample writers: one formatting of instants, one id alphabet."""

from __future__ import annotations

import random
import string
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

_ALNUM = string.ascii_letters + string.digits
_HEX = "0123456789abcdef"


def anchor(as_of: date) -> datetime:
    """The instant history ends: ``as_of`` 00:00 UTC. Everything past is before it, upcoming after."""
    return datetime.combine(as_of, time(0, 0), tzinfo=timezone.utc)


def iso_ms(dt: datetime) -> str:
    """GHL's instant format: ``2021-07-02T05:18:26.704Z`` (UTC, milliseconds)."""
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def ghl_id(rnd: random.Random) -> str:
    """A 20-character GHL-style id."""
    return "".join(rnd.choices(_ALNUM, k=20))


def uuid_like(rnd: random.Random) -> str:
    h = "".join(rnd.choices(_HEX, k=32))
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:]}"


def days_before(t0: datetime, rnd: random.Random, lo: float, hi: float) -> datetime:
    """A whole-second instant uniformly ``lo``..``hi`` days before ``t0``."""
    return t0 - timedelta(seconds=int(rnd.uniform(lo, hi) * 86400))


def business_time(t: datetime, tz: str, rnd: random.Random, limit: datetime) -> datetime:
    """Move ``t`` to a weekday 8:00-18:00 in ``tz`` (activity looks human), staying before ``limit``."""
    local = t.astimezone(ZoneInfo(tz))
    while True:
        while local.weekday() >= 5:
            local -= timedelta(days=1)
        local = local.replace(hour=rnd.randint(8, 17), minute=rnd.randrange(60), second=rnd.randrange(60), microsecond=0)
        if local < limit:
            return local.astimezone(timezone.utc)
        local -= timedelta(days=1)
