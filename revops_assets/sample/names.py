"""People vocabulary shared by contacts, AEs, visitors and news (kept apart so each stays small)."""

from __future__ import annotations

FIRST_NAMES = [
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Daniel", "Karen",
    "Matthew", "Nancy", "Anthony", "Lisa", "Mark", "Betty", "Steven", "Sandra", "Andrew", "Ashley",
    "Priya", "Arjun", "Wei", "Mei", "Hiroshi", "Yuki", "Sofia", "Mateo", "Lucía", "José", "Camila",
    "Lukas", "Anna", "Jonas", "Lena", "Émilie", "Louis", "Chloé", "Noah", "Emma", "Liam", "Olivia",
    "Aisha", "Omar", "Fatima", "Kwame", "Amara", "Sven", "Ingrid", "Björn", "Siobhan", "Ciarán",
    "Raj", "Ananya", "Carlos", "Valentina", "Diego", "Isabela", "Kenji", "Haruka", "Oliver", "Charlotte",
    "Ethan", "Maya", "Nina", "Tomás", "Zoe", "Felix", "Hannah", "Leo", "Grace", "Ivan",
]
LAST_NAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker", "Young", "Allen",
    "Patel", "Sharma", "Gupta", "Chen", "Wang", "Li", "Tanaka", "Suzuki", "Sato", "Müller", "Schmidt",
    "Schneider", "Fischer", "Dubois", "Moreau", "Laurent", "Rossi", "Silva", "Santos", "Oliveira",
    "Pereira", "Fernández", "Kowalski", "Nowak", "Andersson", "Johansson", "Nilsson", "O'Brien",
    "Murphy", "Kelly", "Okafor", "Mensah", "Haddad", "Khan", "Kim", "Park", "Nguyen", "Tran",
    "Cohen", "Levi", "Novak", "Horvat", "de Vries", "van Dijk", "Bakker", "Jansen", "Costa", "Ramos",
]

# function -> persona key used in email meta
FUNCTIONS = {
    "Sales": "sales_leader",
    "Marketing": "marketing_leader",
    "Revenue Operations": "revops",
    "Operations": "operations",
    "Engineering": "engineering",
    "Finance": "finance",
}
# seniority -> (title patterns, weight); "{f}" is the function
SENIORITY = {
    "C-Level": (["Chief {x} Officer"], 0.08),
    "VP": (["VP of {f}", "Vice President, {f}", "SVP {f}"], 0.20),
    "Director": (["Director of {f}", "Head of {f}", "Senior Director, {f}"], 0.30),
    "Manager": (["{f} Manager", "Senior {f} Manager", "{f} Lead"], 0.27),
    "Individual Contributor": (["{f} Specialist", "{f} Analyst", "Senior {f} Associate"], 0.15),
}
CHIEF_X = {
    "Sales": "Revenue", "Marketing": "Marketing", "Revenue Operations": "Revenue", "Operations": "Operating",
    "Engineering": "Technology", "Finance": "Financial",
}
FOUNDER_TITLES = ["CEO", "Co-Founder & CEO", "Founder", "President"]

EMAIL_PATTERNS = ["{first}.{last}", "{f}{last}", "{first}", "{first}{l}", "{first}_{last}"]

_ASCII = str.maketrans({
    "á": "a", "é": "e", "í": "i", "ó": "o", "ú": "u", "ñ": "n", "ü": "u", "ö": "o", "ä": "a", "ß": "ss",
    "É": "e", "Á": "a", "ã": "a", "ç": "c", "è": "e", "ê": "e", "ô": "o", "ø": "o", "å": "a", "'": "", " ": "",
})


def slug(text: str) -> str:
    """Lower-case ASCII without spaces or apostrophes, for emails and URLs."""
    return text.translate(_ASCII).lower()
