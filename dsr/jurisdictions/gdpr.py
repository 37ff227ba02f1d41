"""The GDPR in Denmark, Sweden, Norway, Finland and Germany: one rule, five calendars and authorities.

Regulation (EU) 2016/679 (GDPR), Art. 12(3): answer "without undue delay and in any event within one
month of receipt", extendable "by two further months where necessary", the subject being told of the
extension with its reasons within the first month. Periods are counted by Regulation (EEC, Euratom)
No 1182/71 Art. 3 (EDPB Guidelines 01/2022 ¶157-164): the day of receipt is not counted (3(1)), a
month ends on the same date or the month's last day (3(2)(c)), and a period ending on a Saturday,
Sunday or public holiday ends on the next working day (3(4)). While the controller waits for
information it asked for to identify the subject (Art. 12(6)) or to clarify the request (recital 63;
EDPB 01/2022 ¶159), the clock stands still. A fee only for manifestly unfounded or excessive
requests (Art. 12(5)) or further copies (Art. 15(3)). Complaints: Art. 77; courts: Art. 79.

Norway applies the GDPR through the EEA Agreement, made Norwegian law by personopplysningsloven § 1.
"""

from django.utils.translation import gettext_lazy as _

from dsr.jurisdictions.base import Authority, MonthRule, Profile, Wording

# Every right dsr carries: GDPR Art. 15, 16, 17, 18, 20, 21 and 7(3).
GDPR_RIGHTS = (
    "access",
    "portability",
    "erasure",
    "rectification",
    "restriction",
    "objection",
    "consent_withdrawal",
)

# GDPR Art. 12(3): one month, two further months (three from receipt).
GDPR_RULE = MonthRule(months=1, extended_months=3)

GDPR_WORDING = {
    "en": Wording(
        law="the General Data Protection Regulation",
        period=(
            "Under the General Data Protection Regulation (Article 12(3)) we answer without undue delay and at the "
            "latest one month after we received the request. Where necessary because of the complexity or the "
            "number of requests, the time limit can be extended by two further months. If that happens, we will "
            "write to you with the reasons within the first month."
        ),
        extension=(
            "Under Article 12(3) of the General Data Protection Regulation we are therefore extending the time "
            "limit by two further months."
        ),
        complaint="Article 77 of the General Data Protection Regulation",
        clock=(
            "The time limit is paused until we have your answer. The days we wait are added to the time limit, "
            "and we carry on as soon as we hear from you."
        ),
        first_period="one month",
        identity_basis="Article 12(6) of the General Data Protection Regulation",
        courts="You may also take the matter to the courts (Article 79).",
        regulation=(
            "Regulation (EU) 2016/679 of the European Parliament and of the Council "
            "(General Data Protection Regulation)"
        ),
        refusal_basis="Article 12(4) of the General Data Protection Regulation",
        articles={
            "access": "Article 15 of the General Data Protection Regulation",
            "portability": "Article 20 of the General Data Protection Regulation",
            "erasure": "Article 17 of the General Data Protection Regulation",
            "rectification": "Article 16 of the General Data Protection Regulation",
            "restriction": "Article 18 of the General Data Protection Regulation",
            "objection": "Article 21 of the General Data Protection Regulation",
            "consent_withdrawal": "Article 7(3) of the General Data Protection Regulation",
        },
    ),
    "da": Wording(
        law="databeskyttelsesforordningen",
        period=(
            "Efter databeskyttelsesforordningen (artikel 12, stk. 3) svarer vi uden unødig forsinkelse og senest "
            "en måned efter, at vi har modtaget anmodningen. Hvis det er nødvendigt på grund af anmodningens "
            "kompleksitet eller antallet af anmodninger, kan fristen forlænges med yderligere to måneder. Sker det, "
            "skriver vi til dig med begrundelsen inden for den første måned."
        ),
        extension=(
            "Efter databeskyttelsesforordningens artikel 12, stk. 3, forlænger vi derfor fristen med yderligere "
            "to måneder."
        ),
        complaint="databeskyttelsesforordningens artikel 77",
        clock=(
            "Fristen står stille, indtil vi har dit svar. De dage, vi venter, lægges til fristen, og vi "
            "fortsætter, så snart vi har hørt fra dig."
        ),
        first_period="en måned",
        identity_basis="databeskyttelsesforordningens artikel 12, stk. 6",
        courts="Du kan også indbringe sagen for domstolene (artikel 79).",
        regulation="Europa-Parlamentets og Rådets forordning (EU) 2016/679 (databeskyttelsesforordningen)",
        refusal_basis="databeskyttelsesforordningens artikel 12, stk. 4",
        articles={
            "access": "databeskyttelsesforordningens artikel 15",
            "portability": "databeskyttelsesforordningens artikel 20",
            "erasure": "databeskyttelsesforordningens artikel 17",
            "rectification": "databeskyttelsesforordningens artikel 16",
            "restriction": "databeskyttelsesforordningens artikel 18",
            "objection": "databeskyttelsesforordningens artikel 21",
            "consent_withdrawal": "databeskyttelsesforordningens artikel 7, stk. 3",
        },
    ),
}

GDPR_IDENTITY = _(
    "GDPR Art. 12(6) and EDPB 01/2022 ¶58-79: control of the email address; a second attribute or a check by "
    "staff only where there is reasonable doubt. No copies of identity documents."
)

GDPR_CITATIONS = (
    "Regulation (EU) 2016/679 Art. 12(3)-(6), 15-21, 77, 79",
    "Regulation (EEC, Euratom) No 1182/71 Art. 3",
    "EDPB Guidelines 01/2022 on the right of access, ¶157-164",
)


def _gdpr(code: str, name, calendar: str, authority: Authority, *, law: str, citations: tuple[str, ...] = ()):
    return Profile(
        code=code,
        name=name,
        law=law,
        deadline_citation="GDPR Art. 12(3)",
        calendar=calendar,
        authority=authority,
        rights=GDPR_RIGHTS,
        rule=GDPR_RULE,
        wording=GDPR_WORDING,
        identity=GDPR_IDENTITY,
        citations=GDPR_CITATIONS + citations,
        gdpr_articles=True,
        eu_counting=True,
    )


# Datatilsynet (GDPR Art. 51; databeskyttelsesloven § 27).
DENMARK = _gdpr(
    "dk",
    _("Denmark"),
    "DK",
    Authority(
        name="Datatilsynet",
        address="Carl Jacobsens Vej 35, 2500 Valby",
        phone="33 19 32 00",
        email="dt@datatilsynet.dk",
        url="https://www.datatilsynet.dk",
    ),
    law="GDPR; databeskyttelsesloven (lov nr. 502 af 23. maj 2018)",
    citations=("Databeskyttelsesloven § 27",),
)

# Integritetsskyddsmyndigheten, IMY (GDPR Art. 51; förordning (2018:219) med kompletterande bestämmelser).
SWEDEN = _gdpr(
    "se",
    _("Sweden"),
    "SE",
    Authority(
        name="Integritetsskyddsmyndigheten (IMY)",
        address="Box 8114, 104 20 Stockholm",
        phone="+46 8 657 61 00",
        email="imy@imy.se",
        url="https://www.imy.se",
    ),
    law="GDPR; lag (2018:218) med kompletterande bestämmelser till EU:s dataskyddsförordning",
)

# Datatilsynet (personopplysningsloven § 20).
NORWAY = _gdpr(
    "no",
    _("Norway"),
    "NO",
    Authority(
        name="Datatilsynet (Norge)",
        address="Postboks 458 Sentrum, 0105 Oslo",
        phone="+47 22 39 69 00",
        email="postkasse@datatilsynet.no",
        url="https://www.datatilsynet.no",
    ),
    law="GDPR as Norwegian law: personopplysningsloven (LOV-2018-06-15-38) § 1",
    citations=("Personopplysningsloven § 1, § 20",),
)

# Tietosuojavaltuutetun toimisto, the Data Protection Ombudsman (tietosuojalaki 1050/2018 § 8).
FINLAND = _gdpr(
    "fi",
    _("Finland"),
    "FI",
    Authority(
        name="Tietosuojavaltuutetun toimisto (Data Protection Ombudsman)",
        address="PL 800, 00531 Helsinki",
        phone="+358 29 566 6700",
        email="tietosuoja@om.fi",
        url="https://tietosuoja.fi",
    ),
    law="GDPR; tietosuojalaki (1050/2018)",
    citations=("Tietosuojalaki (1050/2018) § 8",),
)

# Der Bundesbeauftragte für den Datenschutz und die Informationsfreiheit (BDSG § 8). A person may also
# complain to the authority of the Land they live in (GDPR Art. 77(1)); see docs/jurisdictions.md.
GERMANY = _gdpr(
    "de",
    _("Germany"),
    "DE",
    Authority(
        name="Der Bundesbeauftragte für den Datenschutz und die Informationsfreiheit (BfDI)",
        address="Graurheindorfer Straße 153, 53117 Bonn",
        phone="+49 228 997799-0",
        email="poststelle@bfdi.bund.de",
        url="https://www.bfdi.bund.de",
    ),
    law="GDPR; Bundesdatenschutzgesetz (BDSG)",
    citations=("BDSG § 8, § 34",),
)
