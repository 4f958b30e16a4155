"""The synthetic account universe, vectorised so a million accounts cost seconds, not minutes.

``accounts_frame(n, seed)`` is the single source of every account fact the sample writes (and the
input other benchmarks score). The hidden ``propensity`` is
``logistic(ICP fit + recency-weighted intent events + site visits + in-market latent + noise)``;
the intent columns are what a good scorer can observe, the latent and the noise are what it cannot.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# --- vocabulary -------------------------------------------------------------------------------

INDUSTRIES = [
    "SaaS", "FinTech", "Healthcare", "Manufacturing", "Retail", "Logistics", "Education", "Media",
    "Cybersecurity", "Professional Services",
]
INDUSTRY_WEIGHTS = [0.20, 0.10, 0.10, 0.12, 0.10, 0.09, 0.07, 0.07, 0.07, 0.08]
ICP_INDUSTRIES = ("SaaS", "FinTech", "Healthcare")

# Disjoint per industry, so "Brand Suffix" names are unique across industries.
INDUSTRY_SUFFIXES: dict[str, list[str]] = {
    "SaaS": ["Analytics", "Cloud", "Software", "Labs", "Data", "AI", "Apps", "Stack", "Metrics", "Platforms"],
    "FinTech": ["Pay", "Capital", "Ledger", "Finance", "Fintech", "Money", "Lending", "Wallet", "Payments", "Bank"],
    "Healthcare": ["Health", "Care", "Medical", "Clinics", "Bio", "Therapeutics", "Diagnostics", "Wellness", "Pharma", "Genomics"],
    "Manufacturing": ["Manufacturing", "Industries", "Works", "Fabrication", "Machining", "Components", "Materials", "Robotics", "Metals", "Plastics"],
    "Retail": ["Retail", "Goods", "Market", "Outfitters", "Supply", "Brands", "Stores", "Boutique", "Home", "Apparel"],
    "Logistics": ["Logistics", "Freight", "Shipping", "Transport", "Fleet", "Cargo", "Delivery", "Haulage", "Express", "Couriers"],
    "Education": ["Learning", "Academy", "Education", "Tutors", "Edu", "Schools", "Campus", "Courses", "Classroom", "Scholars"],
    "Media": ["Media", "Studios", "Publishing", "Broadcasting", "News", "Pictures", "Creative", "Films", "Audio", "Press"],
    "Cybersecurity": ["Security", "Shield", "Defense", "Secure", "Guard", "Cyber", "Sentinel", "Identity", "Threat", "Vault"],
    "Professional Services": ["Consulting", "Partners", "Advisors", "Group", "Associates", "Solutions", "Services", "Strategies", "Advisory", "Collective"],
}
_STARTS = [
    "Ac", "Al", "Am", "Ar", "Ax", "Bel", "Blu", "Bri", "Cal", "Cas", "Cor", "Cre", "Dal", "Del", "Dyn",
    "El", "Em", "Ev", "Fal", "Fen", "Flo", "Gal", "Gen", "Hal", "Hel", "Ion", "Jas", "Kal", "Kin", "Lum",
    "Mar", "Mer", "Nex", "Nor", "Nov", "Oak", "Om", "Or", "Pax", "Pel", "Quin", "Ral", "Sol", "Syn", "Tal",
    "Ter", "Ul", "Ven", "Ver", "Zen",
]
_MIDS = ["", "r", "n", "l", "v", "m", "st", "d", "t", "k", "s", "b"]
_ENDS = [
    "a", "ara", "ex", "ia", "ica", "ify", "ion", "is", "ium", "ix", "o", "on", "ora", "os", "ra", "ro",
    "sa", "ta", "tex", "tra", "tron", "ux", "va", "vo", "ly", "eo", "ant", "ent", "ide", "ico", "ana",
    "ova", "ena", "ari", "ado", "ine", "er", "us", "al", "ar",
]
BRANDS = sorted({(s + m + e).capitalize() for s in _STARTS for m in _MIDS for e in _ENDS})

REGIONS = ["North America", "EMEA", "APAC", "LATAM"]
REGION_WEIGHTS = [0.45, 0.30, 0.15, 0.10]
# region -> [(ISO-2, weight, ccTLD)]
COUNTRIES: dict[str, list[tuple[str, float, str]]] = {
    "North America": [("US", 0.85, ".com"), ("CA", 0.15, ".ca")],
    "EMEA": [("GB", 0.30, ".co.uk"), ("DE", 0.25, ".de"), ("FR", 0.15, ".fr"), ("NL", 0.10, ".nl"),
             ("SE", 0.07, ".se"), ("ES", 0.07, ".es"), ("IE", 0.06, ".ie")],
    "APAC": [("AU", 0.30, ".com.au"), ("SG", 0.20, ".sg"), ("IN", 0.25, ".in"), ("JP", 0.25, ".jp")],
    "LATAM": [("BR", 0.45, ".com.br"), ("MX", 0.35, ".mx"), ("AR", 0.10, ".com.ar"), ("CL", 0.10, ".cl")],
}
COUNTRY_NAMES = {
    "US": "United States", "CA": "Canada", "GB": "United Kingdom", "DE": "Germany", "FR": "France",
    "NL": "Netherlands", "SE": "Sweden", "ES": "Spain", "IE": "Ireland", "AU": "Australia",
    "SG": "Singapore", "IN": "India", "JP": "Japan", "BR": "Brazil", "MX": "Mexico", "AR": "Argentina",
    "CL": "Chile",
}
# ISO-2 -> [(city, state/province, postal code)]
CITIES: dict[str, list[tuple[str, str, str]]] = {
    "US": [("San Francisco", "California", "94105"), ("New York", "New York", "10001"), ("Austin", "Texas", "73301"),
           ("Boston", "Massachusetts", "02110"), ("Chicago", "Illinois", "60601"), ("Seattle", "Washington", "98101"),
           ("Denver", "Colorado", "80202"), ("Atlanta", "Georgia", "30303")],
    "CA": [("Toronto", "Ontario", "M5H 2N2"), ("Vancouver", "British Columbia", "V6B 1A1"), ("Montreal", "Quebec", "H2Y 1C6")],
    "GB": [("London", "England", "EC1A 1BB"), ("Manchester", "England", "M1 1AE"), ("Edinburgh", "Scotland", "EH1 1YZ")],
    "DE": [("Berlin", "Berlin", "10115"), ("Munich", "Bavaria", "80331"), ("Hamburg", "Hamburg", "20095")],
    "FR": [("Paris", "Île-de-France", "75001"), ("Lyon", "Auvergne-Rhône-Alpes", "69001")],
    "NL": [("Amsterdam", "North Holland", "1012"), ("Rotterdam", "South Holland", "3011")],
    "SE": [("Stockholm", "Stockholm County", "111 20"), ("Malmö", "Skåne County", "211 20")],
    "ES": [("Madrid", "Community of Madrid", "28001"), ("Barcelona", "Catalonia", "08001")],
    "IE": [("Dublin", "Leinster", "D02"), ("Cork", "Munster", "T12")],
    "AU": [("Sydney", "New South Wales", "2000"), ("Melbourne", "Victoria", "3000")],
    "SG": [("Singapore", "Singapore", "018989")],
    "IN": [("Bengaluru", "Karnataka", "560001"), ("Mumbai", "Maharashtra", "400001"), ("Pune", "Maharashtra", "411001")],
    "JP": [("Tokyo", "Tokyo", "100-0001"), ("Osaka", "Osaka", "530-0001")],
    "BR": [("São Paulo", "São Paulo", "01000-000"), ("Rio de Janeiro", "Rio de Janeiro", "20000-000")],
    "MX": [("Mexico City", "CDMX", "06000"), ("Monterrey", "Nuevo León", "64000")],
    "AR": [("Buenos Aires", "Buenos Aires", "C1000")],
    "CL": [("Santiago", "Santiago Metropolitan", "8320000")],
}

EVENT_WINDOW_DAYS = 120  # intent events happen within the last 120 days (the news window)


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _event_days(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    """Days since the event (0..119, float) where it happened, NaN where not."""
    happened = rng.random(p.shape[0]) < p
    days = rng.integers(0, EVENT_WINDOW_DAYS, p.shape[0]).astype(np.float64)
    days[~happened] = np.nan
    return days


def _recency(days: np.ndarray, half_life: float = 30.0) -> np.ndarray:
    """1 for an event today, 0.5 after ``half_life`` days, 0 for no event."""
    w = np.exp2(-days / half_life)
    return np.nan_to_num(w, nan=0.0)


def _names_and_domains(rng: np.random.Generator, industry_idx: np.ndarray, tlds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique "Brand Suffix" names per industry (drawn without replacement while the space lasts)."""
    n = industry_idx.shape[0]
    n_brands = len(BRANDS)
    n_suffix = len(next(iter(INDUSTRY_SUFFIXES.values())))
    space = n_brands * n_suffix
    combo = np.empty(n, dtype=np.int64)
    for k in range(len(INDUSTRIES)):
        rows = np.flatnonzero(industry_idx == k)
        if rows.size == 0:
            continue
        combo[rows] = rng.choice(space, rows.size, replace=rows.size > space)
    brand_i = combo // n_suffix
    suffix_i = industry_idx * n_suffix + combo % n_suffix
    brands = np.array(BRANDS, dtype=object)
    suffixes = np.array([s for ind in INDUSTRIES for s in INDUSTRY_SUFFIXES[ind]], dtype=object)
    brand_slug = np.array([b.lower() for b in BRANDS], dtype=object)
    suffix_slug = np.array([s.lower() for s in suffixes], dtype=object)
    names = brands[brand_i] + " " + suffixes[suffix_i]
    bases = brand_slug[brand_i] + suffix_slug[suffix_i]
    domains = pd.Series(bases + tlds)
    dup = domains.duplicated(keep="first").to_numpy()
    if dup.any():  # only when the name space is exhausted (huge n) or two slugs concatenate alike
        idx = np.flatnonzero(dup)
        domains.iloc[idx] = pd.Series(bases[idx]) + pd.Series(idx.astype(str)).values + pd.Series(tlds[idx]).values
    return names, domains.to_numpy(dtype=object)


def accounts_frame(n: int, seed: int) -> pd.DataFrame:
    """``n`` synthetic B2B accounts, deterministic in ``(n, seed)``.

    Columns: domain, company_name, industry, employee_count, region, country, city, founded_year,
    icp_fit (0..1), in_market (latent, hidden), propensity (hidden truth, 0..1), converted (bool drawn
    from propensity), funding_days_ago, hiring_days_ago, leadership_days_ago, launch_days_ago (float
    days before ``as_of``, NaN where no such event), visits_30d, pricing_visits_30d (int RB2B visits).
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    rng = np.random.default_rng([seed, 0xACC])
    industry_idx = rng.choice(len(INDUSTRIES), n, p=INDUSTRY_WEIGHTS)
    employees = np.clip(np.round(rng.lognormal(np.log(140.0), 1.35, n)), 5, 20000).astype(np.int64)
    region_idx = rng.choice(len(REGIONS), n, p=REGION_WEIGHTS)

    country_codes = [c for r in REGIONS for c, _, _ in COUNTRIES[r]]
    country_idx = np.empty(n, dtype=np.int64)
    offset = 0
    for r, region in enumerate(REGIONS):
        table = COUNTRIES[region]
        rows = np.flatnonzero(region_idx == r)
        w = np.array([t[1] for t in table])
        country_idx[rows] = offset + rng.choice(len(table), rows.size, p=w / w.sum())
        offset += len(table)
    city_names = [city for c in country_codes for city, _, _ in CITIES[c]]
    city_start = np.cumsum([0] + [len(CITIES[c]) for c in country_codes])
    city_count = np.diff(city_start)
    city_idx = city_start[country_idx] + (rng.random(n) * city_count[country_idx]).astype(np.int64)

    # TLD: mostly .com, tech likes .io/.ai, some use their country's ccTLD.
    cc_tld = np.array([t for r in REGIONS for _, _, t in COUNTRIES[r]], dtype=object)[country_idx]
    u = rng.random(n)
    techy = np.isin(industry_idx, [0, 1, 8])
    tlds = np.full(n, ".com", dtype=object)
    tlds[(u < 0.15) & techy] = ".io"
    tlds[(u >= 0.15) & (u < 0.20) & techy] = ".ai"
    tlds[(u >= 0.90) & (u < 0.95)] = ".co"
    tlds[u >= 0.95] = cc_tld[u >= 0.95]
    names, domains = _names_and_domains(rng, industry_idx, tlds)

    founded = np.clip(2024 - np.round(rng.gamma(2.0, 6.0, n) + np.log10(employees) * 4), 1900, 2023).astype(np.int64)

    # Fit and intent.
    fit_industry = np.isin(industry_idx, [INDUSTRIES.index(i) for i in ICP_INDUSTRIES]).astype(np.float64)
    fit_size = ((employees >= 50) & (employees <= 2000)).astype(np.float64)
    fit_region = (region_idx <= 1).astype(np.float64)
    icp_fit = (fit_industry * 1.1 + fit_size * 0.8 + fit_region * 0.5) / 2.4
    in_market = rng.standard_normal(n)

    funding = _event_days(rng, _logistic(-2.3 + 0.6 * in_market))
    hiring = _event_days(rng, _logistic(-1.9 + 0.5 * in_market + 0.4 * fit_size))
    leadership = _event_days(rng, _logistic(-2.6 + 0.3 * in_market))
    launch = _event_days(rng, _logistic(-2.3 + 0.3 * in_market))
    visits = rng.poisson(np.exp(-0.9 + 0.9 * in_market + 0.8 * icp_fit)).astype(np.int64)
    pricing = rng.binomial(visits, _logistic(-1.3 + 0.7 * in_market)).astype(np.int64)

    logit = (
        -3.6
        + 1.1 * fit_industry + 0.8 * fit_size + 0.5 * fit_region
        + 1.2 * _recency(funding) + 0.8 * _recency(hiring) + 0.7 * _recency(leadership) + 0.4 * _recency(launch)
        + 0.3 * np.log1p(visits) + 0.6 * np.log1p(pricing)
        + 0.5 * in_market
        + rng.normal(0.0, 0.6, n)
    )
    propensity = _logistic(logit)
    converted = rng.random(n) < propensity

    return pd.DataFrame(
        {
            "domain": domains,
            "company_name": names,
            "industry": pd.Categorical.from_codes(industry_idx, INDUSTRIES),
            "employee_count": employees,
            "region": pd.Categorical.from_codes(region_idx, REGIONS),
            "country": pd.Categorical.from_codes(country_idx, country_codes),
            "city": np.array(city_names, dtype=object)[city_idx],
            "founded_year": founded,
            "icp_fit": icp_fit,
            "in_market": in_market,
            "propensity": propensity,
            "converted": converted,
            "funding_days_ago": funding,
            "hiring_days_ago": hiring,
            "leadership_days_ago": leadership,
            "launch_days_ago": launch,
            "visits_30d": visits,
            "pricing_visits_30d": pricing,
        }
    )
