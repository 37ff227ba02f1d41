"""Guessing what personal data a column holds, from its name, its type and a sample of its values.

The draft of a data map (draft.py) asks this module which category each column
belongs to. Names are read in English and Danish (``email``, ``telefon``,
``fornavn``, ``vejnavn``, ``fødselsdato``, ``cpr``); a sample of values is
matched against the shapes personal data takes (email addresses, phone
numbers, IP addresses, Luhn-valid card numbers, CPR numbers, birth dates).
A guess says why it was made, never with a value: sampled values are looked at
here and then dropped.
"""

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dsr.sources.sql.schema import LiveColumn, LiveTable

# The categories a drafted map declares: key -> (Danish name, English name, Danish description, English description).
CATEGORIES = {
    "identity": ("Identitetsoplysninger", "Identity data", "Navn og firmanavn.", "Name and company name."),
    "contact": ("Kontaktoplysninger", "Contact data", "E-mailadresse og telefonnummer.", "Email address and phone."),
    "address": ("Adresseoplysninger", "Address data", "Adresse, postnummer og by.", "Address, postcode and city."),
    "online": (
        "Onlineoplysninger",
        "Online identifiers",
        "IP-adresse, brugernavn og loginoplysninger.",
        "IP address, username and login data.",
    ),
    "birth_date": ("Fødselsdato", "Date of birth", "Din fødselsdato.", "Your date of birth."),
    "payment": (
        "Betalingskortoplysninger",
        "Payment card data",
        "Kortnummer og andre kortoplysninger.",
        "Card number and other card details.",
    ),
    "national_id": (
        "CPR-nummer",
        "National identification number",
        "Dit CPR-nummer (databeskyttelseslovens § 11).",
        "Your CPR number (Danish Data Protection Act § 11).",
    ),
    "transaction": (
        "Transaktionsoplysninger",
        "Transaction data",
        "Køb, beløb og betalinger.",
        "Purchases, amounts and payments.",
    ),
    "other": ("Andre oplysninger", "Other data", "Fritekst, fx noter og kommentarer.", "Free text such as notes."),
}
# Categories that say who or where a person is: a column of one of these is what erasure anonymises.
IDENTIFYING = {"identity", "contact", "address", "online", "birth_date", "payment", "national_id", "other"}


@dataclass(frozen=True)
class Guess:
    """What a column is taken to hold, and why (a reason names the column or the shape, never a value)."""

    category: str
    kind: str  # email, phone, fax, name, company, street, place, ip, username, secret, birth, card, cvv, cpr, money ...
    confident: bool  # False: a human should look (the draft marks it DECIDE)
    strong: bool  # True: the column alone makes a row personal (a street, an email); False: a city, a bare name
    reason: str


def name_tokens(name: str) -> list[str]:
    """Return a column or table name's words, lower-case, Danish letters spelled out: FødselsDato -> [fodsels, dato]."""
    spaced = re.sub(r"([a-z0-9æøå])([A-ZÆØÅ])", r"\1_\2", name)
    spaced = re.sub(r"([A-ZÆØÅ]+)([A-ZÆØÅ][a-zæøå])", r"\1_\2", spaced)
    spaced = spaced.lower().replace("æ", "ae").replace("ø", "o").replace("å", "aa")
    return [token for token in re.split(r"[^0-9a-z]+", spaced) if token]


def _any(tokens: list[str], pattern: str) -> bool:
    compiled = re.compile(pattern)
    return any(compiled.fullmatch(token) for token in tokens)


# Each rule: (category, kind, strong, token pattern). The first rule that matches a token wins, so the
# specific ones (email_address, ip_address, vejnavn) stand before the general ones (address, name).
# "strong": the column alone makes a row personal (a street, an email), not a city or a company.
_NAME_RULES = (
    ("online", "secret", True, r"(password|passwd|pwd|adgangskode|kodeord|secret|salt|otp|totp)\w*"),
    ("payment", "cvv", True, r"(cvv|cvc|cvn|csc|cvv2|cvc2)"),
    ("payment", "card", True, r"(card|cards|pan|kort|kortnr|kortnummer|creditcard|kreditkort|betalingskort)"),
    ("national_id", "cpr", True, r"(cpr|cprnr|cprnummer|personnummer|personnr|ssn|personid)"),
    ("birth_date", "birth", True, r"(birth\w*|dob|fodsel\w*|foedsel\w*|fodt|foedt|born)"),
    ("contact", "email", True, r"(e?mail|email\w+|mailadresse|epost|epostadresse)"),
    ("contact", "fax", True, r"fax\w*"),
    ("contact", "phone", True, r"(phone|phones|telephone|tel|tlf|tlfnr|telefon\w*|mobil\w*|mobile|cell|cellphone|sms)"),
    ("online", "ip", True, r"(ip|ipaddr|ipaddress|ipv4|ipv6|ipadresse)"),
    ("online", "username", True, r"(username|brugernavn|login|useragent)"),
    ("address", "street", True, r"(address\w*|adresse\w*|addr|street\w*|vej|vejnavn|gade|gadenavn|husnr|husnummer)"),
    ("address", "place", False, r"(postal|postcode|zip|zipcode|postnr|postnummer|city|town|bynavn|country|land)"),
    ("address", "region", False, r"(state|region|district|kommune|province)"),
    ("identity", "name", True, r"(firstname|fornavn|lastname|efternavn|surname|fullname|mellemnavn|givenname)"),
    ("identity", "company", False, r"(company|firma|firmanavn|organisation|organization)"),
    ("identity", "gender", False, r"(gender|sex)"),
    ("other", "text", False, r"(note|notes|comment|comments|kommentar|message|besked|remark|bemaerkning\w*)"),
)
# Guesses a human should confirm: in the person's own rows a city is theirs; a company name, gender or free
# text may or may not be about the person.
_UNSURE_KINDS = {"company", "gender", "text"}
_NAME_WORDS = {"name", "navn"}
_NAME_QUALIFIERS = {"first", "last", "given", "family", "middle", "full", "sur", "fore", "display", "nick"}
_PERSON_QUALIFIERS = {"customer", "kunde", "contact", "kontakt", "person", "recipient", "modtager", "delivery"}
_PERSON_QUALIFIERS |= {"billing", "shipping", "user", "bruger", "member", "medlem", "holder", "card", "kort"}
_MONEY = r"(total|subtotal|amount|price|pris|belob|beloeb|sum|cost|fee|gebyr|moms|vat|tax|discount|rabat|balance|saldo)"
_QUANTITY = r"(quantity|qty|antal|count)"
_ACTIVE = r"(active|aktiv|enabled|subscribed|newsletter|nyhedsbrev|optin|marketing|samtykke)"
# Words that say a date marks an event, not a birth.
_EVENT_WORDS = r"(created|updated|modified|deleted|ordered|order|invoice|paid|sent|issued|hired?|start|end|expires?"
_EVENT_WORDS += r"|expiry|valid|last|login|seen|visited|registered|signup|joined|timestamp|time|at|on|year|month)"


def column_guess_by_name(name: str, column: LiveColumn, *, person: bool, identity: bool = False) -> Guess | None:
    """Return what the column's name says it holds.

    ``person``: the table holds the person's own rows; ``identity``: it is the table the person is found in.
    """
    tokens = name_tokens(name)
    joined = "".join(tokens)
    if tokens and tokens[-1] in ("id", "pk", "fk", "uuid", "key") and len(tokens) > 1:
        return None  # a key, named after what it points at (city_id), not a value of that kind
    if "email" in joined and column.is_text:
        return Guess("contact", "email", True, True, f'named "{name}"')
    if tokens == ["by"]:
        return Guess("address", "place", person, False, f'named "{name}" (Danish for city)')
    for category, kind, strong, pattern in _NAME_RULES:
        if _any(tokens, pattern):
            if (kind in ("email", "text") and not column.is_text) or (kind == "text" and not person):
                continue
            confident = kind not in _UNSURE_KINDS and (person or kind not in ("place", "region"))
            return Guess(category, kind, confident, strong, f'named "{name}"')
    if column.is_number and _any(tokens, _MONEY):
        return Guess("transaction", "money", True, False, f'named "{name}"')
    if column.is_number and _any(tokens, _QUANTITY):
        return Guess("transaction", "quantity", True, False, f'named "{name}"')
    if _any(tokens, r"(\w*name|\w*navn)") and column.is_text:
        words = set(tokens)
        qualified = bool(words & _NAME_QUALIFIERS or words & _PERSON_QUALIFIERS)
        compound = any(re.fullmatch(r"(kunde|kontakt|person|bruger|medlem)navn", token) for token in tokens)
        if qualified or compound:
            return Guess("identity", "name", True, True, f'named "{name}"')
        if words <= _NAME_WORDS and person:
            # A bare "name" is the person's name in their own rows, a label in a lookup table.
            return Guess("identity", "name", identity, False, f'named "{name}"')
    return None


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"\+?[\d\s().\-/]{8,24}")
_CPR = re.compile(r"(\d{2})(\d{2})(\d{2})-?\d{4}")
_CARD = re.compile(r"\d[\d \-]{11,22}\d")
_SHORT_CODE = re.compile(r"\d{3,4}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([ T]00:00(:00(\.0+)?)?)?")


def luhn_valid(digits: str) -> bool:
    """Return whether a string of digits passes the Luhn check that card numbers carry (ISO/IEC 7812)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _is_card(text: str) -> bool:
    if not _CARD.fullmatch(text):
        return False
    digits = re.sub(r"\D", "", text)
    return 13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn_valid(digits)


def _is_cpr(text: str) -> bool:
    match = _CPR.fullmatch(text)
    if not match:
        return False
    day, month = int(match.group(1)), int(match.group(2))
    return 1 <= day <= 31 and 1 <= month <= 12


def _is_phone(text: str) -> bool:
    return bool(_PHONE.fullmatch(text)) and 8 <= len(re.sub(r"\D", "", text)) <= 15


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return "." in text or ":" in text


def _as_date(value: object) -> dt.date | None:
    """Return a date-of-birth-shaped value as a date: a date, a datetime at midnight, an ISO date text."""
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time(0, 0) else None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def _share(values: list, test) -> float:
    return sum(1 for value in values if test(value)) / len(values) if values else 0.0


# A sample must match this closely to be taken as a shape of personal data.
_SHARE = 0.8


def column_guess_by_values(
    name: str, column: LiveColumn, values: list, *, today: dt.date, card_in_table: bool
) -> Guess | None:
    """Return what a sample of the column's values looks like; the guess names the shape, never a value."""
    present = [value for value in values if value is not None and str(value).strip() != ""]
    if not present:
        return None
    texts = [str(value).strip() for value in present]
    if column.is_text:
        for kind, category, test, strong in (
            ("email", "contact", _EMAIL.fullmatch, True),
            ("cpr", "national_id", _is_cpr, True),
            ("card", "payment", _is_card, True),
            ("ip", "online", _is_ip, True),
            ("phone", "contact", _is_phone, False),
        ):
            if _share(texts, test) >= _SHARE:
                return Guess(category, kind, False, strong, f"values look like {_SHAPES[kind]}")
    if column.is_number and not column.is_bool and _share(texts, _is_card) >= _SHARE:
        return Guess("payment", "card", False, True, f"values look like {_SHAPES['card']}")
    if _any(name_tokens(name), _EVENT_WORDS):
        return None
    if card_in_table and (column.is_text or column.is_number) and _share(texts, _SHORT_CODE.fullmatch) >= _SHARE:
        return Guess("payment", "cvv", False, True, f"values look like {_SHAPES['cvv']}")
    if column.is_date or column.is_text:
        dates = [_as_date(value) for value in present]
        if all(dates):
            oldest, youngest = dt.date(1900, 1, 1), today.replace(year=today.year - 13, day=min(today.day, 28))
            spread = (max(dates) - min(dates)).days >= 5 * 365 if len(dates) >= 5 else True
            if all(oldest <= day <= youngest for day in dates) and spread:
                return Guess("birth_date", "birth", False, False, f"values look like {_SHAPES['birth']}")
    return None


_SHAPES = {
    "email": "email addresses",
    "cpr": "CPR numbers (DDMMYY-XXXX)",
    "card": "card numbers (13-19 digits, Luhn-valid)",
    "ip": "IP addresses",
    "phone": "phone numbers",
    "cvv": "card security codes (3-4 digits beside a card number)",
    "birth": "dates of birth",
}


def column_is_flag(name: str, column: LiveColumn) -> bool:
    """Return whether a boolean column says the person is active or opted in: erasure sets it to false."""
    return column.is_bool and _any(name_tokens(name), _ACTIVE)


def values_sample(
    conn: Connection, table: LiveTable, columns: list[str], *, schema: str | None, limit: int
) -> dict[str, list]:
    """Return up to ``limit`` values of each of ``columns`` (one query; the rows are not ordered)."""
    if not columns or limit <= 0:
        return {name: [] for name in columns}
    query = sa.select(*(sa.column(name) for name in columns)).select_from(sa.table(table.name, schema=schema))
    rows = conn.execute(query.limit(limit)).all()
    return {name: [row[index] for row in rows] for index, name in enumerate(columns)}


def table_classify(
    conn: Connection | None,
    table: LiveTable,
    *,
    schema: str | None,
    sample: int,
    today: dt.date,
    person: bool,
    identity: bool = False,
    skip: set[str] = frozenset(),
) -> dict[str, Guess]:
    """Return a guess for every column of ``table`` that looks personal or financial, in column order.

    ``skip``: columns not to guess at (the table's foreign keys and single integer keys). With ``conn`` None
    only the names are read.
    """
    guesses: dict[str, Guess] = {}
    unsure: list[str] = []
    for name, column in table.columns.items():
        if name in skip or column.is_bool:
            continue
        guess = column_guess_by_name(name, column, person=person, identity=identity)
        if guess is not None:
            guesses[name] = guess
        elif column.is_text or column.is_date or column.is_number:
            unsure.append(name)
    if conn is None or not unsure:
        return _regions_drop({name: guesses[name] for name in table.columns if name in guesses})
    values = values_sample(conn, table, unsure, schema=schema, limit=sample)
    # Twice: a card number found by its values makes the 3-digit column beside it a security code.
    for _ in (1, 2):
        card_in_table = any(guess.kind == "card" for guess in guesses.values())
        for name in unsure:
            if name not in guesses:
                guess = column_guess_by_values(
                    name, table.columns[name], values[name], today=today, card_in_table=card_in_table
                )
                if guess is not None:
                    guesses[name] = guess
    return _regions_drop({name: guesses[name] for name in table.columns if name in guesses})


def _regions_drop(guesses: dict[str, Guess]) -> dict[str, Guess]:
    """Drop a "state" or "region" that stands with no other part of an address: an order's state is its status."""
    if any(guess.category == "address" and guess.kind != "region" for guess in guesses.values()):
        return guesses
    return {name: guess for name, guess in guesses.items() if guess.kind != "region"}
