"""The UK GDPR: the retained GDPR as amended for the United Kingdom, with the Data Protection Act 2018.

UK GDPR Art. 12(3): one month from receipt, extendable by two further months where necessary
(complexity or number of requests), the subject told within the first month with the reasons.
The ICO's right-of-access guidance counts the month from the day of receipt to the corresponding
calendar date of the next month, the month's last day where there is none, and the next working day
where that date is a weekend or bank holiday; the time limit does not run while the controller waits
for information it reasonably asked for to confirm identity (Art. 12(6)) or to clarify the request,
nor while it waits for a fee it may charge: a reasonable fee for manifestly unfounded or excessive
requests (Art. 12(5)(a)) or for further copies (Art. 15(3)). Complaints to the Information
Commissioner (Art. 77; DPA 2018 s. 165).

Bank holidays: England and Wales (the ICO sits in Wilmslow); a Scottish or Northern Irish controller
that counts its own bank holidays gets a later date, never an earlier one, by this calendar except on
days England keeps alone (docs/jurisdictions.md).
"""

from django.utils.translation import gettext_lazy as _

from dsr.jurisdictions.base import Authority, MonthRule, Profile, Wording
from dsr.jurisdictions.gdpr import GDPR_RIGHTS

UK_WORDING = {
    "en": Wording(
        law="the UK General Data Protection Regulation",
        period=(
            "Under the UK General Data Protection Regulation (Article 12(3)) we answer without undue delay and at "
            "the latest one month after we received the request. Where necessary because of the complexity or the "
            "number of requests, the time limit can be extended by two further months. If that happens, we will "
            "write to you with the reasons within the first month."
        ),
        extension=(
            "Under Article 12(3) of the UK General Data Protection Regulation we are therefore extending the time "
            "limit by two further months."
        ),
        complaint="Article 77 of the UK General Data Protection Regulation and section 165 of the Data Protection "
        "Act 2018",
        clock=(
            "The time limit is paused until we have your answer. The days we wait are added to the time limit, "
            "and we carry on as soon as we hear from you."
        ),
        first_period="one month",
        identity_basis="Article 12(6) of the UK General Data Protection Regulation",
        courts="You may also take the matter to the courts (Article 79 of the UK General Data Protection Regulation).",
        regulation="the UK General Data Protection Regulation and the Data Protection Act 2018",
        refusal_basis="Article 12(4) of the UK General Data Protection Regulation",
        articles={
            "access": "Article 15 of the UK General Data Protection Regulation",
            "portability": "Article 20 of the UK General Data Protection Regulation",
            "erasure": "Article 17 of the UK General Data Protection Regulation",
            "rectification": "Article 16 of the UK General Data Protection Regulation",
            "restriction": "Article 18 of the UK General Data Protection Regulation",
            "objection": "Article 21 of the UK General Data Protection Regulation",
            "consent_withdrawal": "Article 7(3) of the UK General Data Protection Regulation",
        },
    ),
    "da": Wording(
        law="den britiske databeskyttelsesforordning (UK GDPR)",
        period=(
            "Efter den britiske databeskyttelsesforordning (UK GDPR, artikel 12, stk. 3) svarer vi uden unødig "
            "forsinkelse og senest en måned efter, at vi har modtaget anmodningen. Hvis det er nødvendigt på grund "
            "af anmodningens kompleksitet eller antallet af anmodninger, kan fristen forlænges med yderligere to "
            "måneder. Sker det, skriver vi til dig med begrundelsen inden for den første måned."
        ),
        extension=(
            "Efter artikel 12, stk. 3, i den britiske databeskyttelsesforordning (UK GDPR) forlænger vi derfor "
            "fristen med yderligere to måneder."
        ),
        complaint="artikel 77 i den britiske databeskyttelsesforordning (UK GDPR) og section 165 i Data "
        "Protection Act 2018",
        clock=(
            "Fristen står stille, indtil vi har dit svar. De dage, vi venter, lægges til fristen, og vi "
            "fortsætter, så snart vi har hørt fra dig."
        ),
        first_period="en måned",
        identity_basis="artikel 12, stk. 6, i den britiske databeskyttelsesforordning (UK GDPR)",
        courts="Du kan også indbringe sagen for domstolene (artikel 79 i den britiske databeskyttelsesforordning).",
        regulation="den britiske databeskyttelsesforordning (UK GDPR) og Data Protection Act 2018",
        refusal_basis="artikel 12, stk. 4, i den britiske databeskyttelsesforordning (UK GDPR)",
        articles={
            "access": "artikel 15 i den britiske databeskyttelsesforordning (UK GDPR)",
            "portability": "artikel 20 i den britiske databeskyttelsesforordning (UK GDPR)",
            "erasure": "artikel 17 i den britiske databeskyttelsesforordning (UK GDPR)",
            "rectification": "artikel 16 i den britiske databeskyttelsesforordning (UK GDPR)",
            "restriction": "artikel 18 i den britiske databeskyttelsesforordning (UK GDPR)",
            "objection": "artikel 21 i den britiske databeskyttelsesforordning (UK GDPR)",
            "consent_withdrawal": "artikel 7, stk. 3 i den britiske databeskyttelsesforordning (UK GDPR)",
        },
    ),
}

UNITED_KINGDOM = Profile(
    code="uk",
    name=_("United Kingdom"),
    law="UK GDPR; Data Protection Act 2018",
    deadline_citation="UK GDPR Art. 12(3)",
    calendar="GB-ENG",
    authority=Authority(
        name="Information Commissioner's Office (ICO)",
        address="Wycliffe House, Water Lane, Wilmslow, Cheshire SK9 5AF",
        phone="0303 123 1113",
        url="https://ico.org.uk",
    ),
    rights=GDPR_RIGHTS,
    # UK GDPR Art. 12(3): one month, two further months.
    rule=MonthRule(months=1, extended_months=3),
    wording=UK_WORDING,
    gdpr_articles=True,
    identity=_(
        "UK GDPR Art. 12(6) and the ICO's guidance: ask only for what is reasonable and proportionate; the time "
        "limit starts once identity is confirmed."
    ),
    citations=(
        "UK GDPR Art. 12(3), 12(5), 12(6), 15(3), 77",
        "Data Protection Act 2018 s. 165",
        "ICO guidance on the right of access: time limits, clarification, fees",
    ),
)
