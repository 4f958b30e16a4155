"""Country → sales region, for ICP checks on accounts the CRM does not know yet (e.g. a new visitor)."""

from __future__ import annotations

_REGIONS: dict[str, list[tuple[str, str]]] = {
    "North America": [("US", "United States"), ("CA", "Canada")],
    "LATAM": [("MX", "Mexico"), ("BR", "Brazil"), ("AR", "Argentina"), ("CL", "Chile"), ("CO", "Colombia"),
              ("PE", "Peru"), ("UY", "Uruguay")],
    "EMEA": [("GB", "United Kingdom"), ("IE", "Ireland"), ("DE", "Germany"), ("FR", "France"), ("NL", "Netherlands"),
             ("BE", "Belgium"), ("LU", "Luxembourg"), ("ES", "Spain"), ("PT", "Portugal"), ("IT", "Italy"),
             ("CH", "Switzerland"), ("AT", "Austria"), ("SE", "Sweden"), ("NO", "Norway"), ("DK", "Denmark"),
             ("FI", "Finland"), ("PL", "Poland"), ("CZ", "Czechia"), ("EE", "Estonia"), ("IL", "Israel"),
             ("AE", "United Arab Emirates"), ("SA", "Saudi Arabia"), ("ZA", "South Africa"), ("NG", "Nigeria"),
             ("KE", "Kenya"), ("EG", "Egypt"), ("TR", "Turkey")],
    "APAC": [("AU", "Australia"), ("NZ", "New Zealand"), ("SG", "Singapore"), ("IN", "India"), ("JP", "Japan"),
             ("KR", "South Korea"), ("CN", "China"), ("HK", "Hong Kong"), ("TW", "Taiwan"), ("ID", "Indonesia"),
             ("MY", "Malaysia"), ("PH", "Philippines"), ("TH", "Thailand"), ("VN", "Vietnam")],
}
_LOOKUP = {key.lower(): region for region, pairs in _REGIONS.items() for pair in pairs for key in pair}
_LOOKUP.update({"usa": "North America", "uk": "EMEA", "united states of america": "North America"})


def region_of(country: str | None) -> str | None:
    """``"Germany"`` or ``"DE"`` → ``"EMEA"``; unknown → None."""
    return _LOOKUP.get(country.strip().lower()) if country else None
