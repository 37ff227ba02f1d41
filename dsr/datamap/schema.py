"""The validated data map: one normalised, JSON-ready document and the errors found reading it.

dsr.datamap.parsing reads the YAML file into this shape; dsr.datamap.lineage
answers which purposes and recipients apply to which data.
"""

from dataclasses import dataclass

# Datatilsynet, the Danish supervisory authority (GDPR Art. 51; Databeskyttelsesloven § 27).
DATATILSYNET = {
    "name": "Datatilsynet",
    "address": "Carl Jacobsens Vej 35, 2500 Valby",
    "phone": "33 19 32 00",
    "email": "dt@datatilsynet.dk",
    "url": "https://www.datatilsynet.dk",
}


@dataclass(frozen=True)
class DataMapError:
    """One problem in the map file, at a dotted path."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class DataMapInvalid(Exception):
    """The file is not a valid data map; ``errors`` lists every problem found."""

    def __init__(self, errors: list[DataMapError]):
        self.errors = errors
        super().__init__("\n".join(str(error) for error in errors))


class DataMap:
    """The validated map: plain dicts keyed by their keys, as stored in the snapshot."""

    def __init__(self, document: dict):
        self.document = document

    @property
    def controller(self) -> dict:
        return self.document["controller"]

    @property
    def categories(self) -> dict[str, dict]:
        return self.document["categories"]

    @property
    def purposes(self) -> dict[str, dict]:
        return self.document["purposes"]

    @property
    def recipients(self) -> dict[str, dict]:
        return self.document["recipients"]

    @property
    def legal_holds(self) -> dict[str, dict]:
        return self.document["legal_holds"]

    @property
    def sources(self) -> dict[str, dict]:
        return self.document["sources"]

    @property
    def corrections(self) -> dict[str, dict]:
        """Return the fields a person may ask to have corrected (GDPR Art. 16), with their labels and categories."""
        return self.document.get("corrections", {})

    def financial_year_end(self) -> tuple[int, int]:
        month, day = self.controller.get("financial_year_end", "12-31").split("-")
        return int(month), int(day)


def localised(value: dict | str | None, language: str) -> str:
    """Return map text in ``language`` ({da, en}), falling back to English, then Danish; plain text as it is."""
    if isinstance(value, dict):
        return value.get(language) or value.get("en") or value.get("da") or ""
    return value or ""


def sensitive_purposes(datamap: DataMap) -> list[str]:
    """Return the purposes the map marks as using sensitive personal information beyond the permitted purposes.

    Cal. Civ. Code § 1798.121 and CCPA regs § 7027(m): a Californian's request to limit stops exactly these.
    A map stored before the key existed marks none.
    """
    return [key for key, purpose in datamap.purposes.items() if purpose.get("sensitive_beyond_permitted")]
