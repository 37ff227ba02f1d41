"""Brazil: Lei Geral de Proteção de Dados Pessoais (Lei nº 13.709/2018, LGPD).

- Art. 18: confirmation and access (I, II), correction (III), anonymisation, blocking or deletion
  (IV, VI), portability (V), withdrawal of consent (IX); opposition (Art. 18 § 2).
- Art. 18 § 1: the right to petition the national authority (ANPD) against the controller.
- Art. 18 § 5: requests are answered free of charge: no fee.
- Art. 19: confirmation of processing or access "em formato simplificado, imediatamente" (I: dsr
  emails it as soon as every source has been searched once, dsr/rights/confirmation.py), and a
  complete declaration (II) "no prazo de até 15 (quinze) dias, contado da data do requerimento do titular".
  The law gives no extension and no pause. dsr applies the 15 days to every right (the regulation
  Art. 18 § 5 announces has set no other period).
- Counting: Código Civil Art. 132: the first day is excluded and the last included; a period ending
  on a holiday is extended to the next working day (§ 1º). Weekends are treated the same way.
"""

from django.utils.translation import gettext_lazy as _

from dsr.jurisdictions.base import Authority, DayRule, Profile, Wording
from dsr.jurisdictions.gdpr import GDPR_RIGHTS

LGPD_WORDING = {
    "en": Wording(
        law="Brazil's General Data Protection Law (Lei nº 13.709/2018)",
        period=(
            "Under Brazil's General Data Protection Law (Lei nº 13.709/2018, Article 19) we give you a complete "
            "answer within 15 days of your request, free of charge. The law allows no extension."
        ),
        extension="",
        complaint="Article 18(1) of Brazil's General Data Protection Law (Lei nº 13.709/2018)",
        clock=(
            "The time limit is not paused while we wait: it runs from the day of your request (Article 19 of Lei "
            "nº 13.709/2018). Please answer as soon as you can."
        ),
        first_period="15 days",
        identity_basis="Article 6 of Brazil's General Data Protection Law (Lei nº 13.709/2018)",
        courts="You may also take the matter to the courts (Article 22 of Lei nº 13.709/2018).",
        regulation="Brazil's General Data Protection Law (Lei nº 13.709/2018)",
        refusal_basis="Article 18(4) of Brazil's General Data Protection Law (Lei nº 13.709/2018)",
        articles={
            "access": "Article 18(II) and Article 19 of Lei nº 13.709/2018",
            "portability": "Article 18(V) of Lei nº 13.709/2018",
            "erasure": "Article 18(IV) and (VI) of Lei nº 13.709/2018",
            "rectification": "Article 18(III) of Lei nº 13.709/2018",
            "restriction": "Article 18(IV) of Lei nº 13.709/2018",
            "objection": "Article 18(2) of Lei nº 13.709/2018",
            "consent_withdrawal": "Article 8(5) and Article 18(IX) of Lei nº 13.709/2018",
        },
    ),
    "da": Wording(
        law="Brasiliens databeskyttelseslov (Lei nº 13.709/2018)",
        period=(
            "Efter Brasiliens databeskyttelseslov (Lei nº 13.709/2018, artikel 19) giver vi dig et fuldstændigt svar "
            "senest 15 dage efter din anmodning, uden beregning. Loven giver ikke mulighed for at forlænge fristen."
        ),
        extension="",
        complaint="artikel 18, stk. 1, i Brasiliens databeskyttelseslov (Lei nº 13.709/2018)",
        clock=(
            "Fristen står ikke stille, mens vi venter: den løber fra den dag, du sendte anmodningen (artikel 19 i "
            "Lei nº 13.709/2018). Svar os derfor så hurtigt som muligt."
        ),
        first_period="15 dage",
        identity_basis="artikel 6 i Brasiliens databeskyttelseslov (Lei nº 13.709/2018)",
        courts="Du kan også indbringe sagen for domstolene (artikel 22 i Lei nº 13.709/2018).",
        regulation="Brasiliens databeskyttelseslov (Lei nº 13.709/2018)",
        refusal_basis="artikel 18, stk. 4, i Brasiliens databeskyttelseslov (Lei nº 13.709/2018)",
        articles={
            "access": "artikel 18, II, og artikel 19 i Lei nº 13.709/2018",
            "portability": "artikel 18, V, i Lei nº 13.709/2018",
            "erasure": "artikel 18, IV og VI, i Lei nº 13.709/2018",
            "rectification": "artikel 18, III, i Lei nº 13.709/2018",
            "restriction": "artikel 18, IV, i Lei nº 13.709/2018",
            "objection": "artikel 18, stk. 2, i Lei nº 13.709/2018",
            "consent_withdrawal": "artikel 8, stk. 5, og artikel 18, IX, i Lei nº 13.709/2018",
        },
    ),
}

BRAZIL = Profile(
    code="br",
    name=_("Brazil"),
    law="Lei Geral de Proteção de Dados Pessoais (Lei nº 13.709/2018)",
    deadline_citation="Lei nº 13.709/2018 Art. 19",
    calendar="BR",
    authority=Authority(name="Autoridade Nacional de Proteção de Dados (ANPD)", url="https://www.gov.br/anpd"),
    rights=GDPR_RIGHTS,
    # Art. 19 II: 15 days from the request; Código Civil Art. 132: first day excluded, next working day.
    rule=DayRule(days=15, extension_days=None, first_day_counts=False, working_day_end=True),
    wording=LGPD_WORDING,
    clock_stops=False,
    fees_allowed=False,
    # Art. 19 I: whether data about the person exists, "em formato simplificado, imediatamente".
    simplified_confirmation=True,
    identity=_(
        "LGPD Art. 18 and Art. 6 (security, necessity): ask only for what confirms the requester is the data "
        "subject; control of the email address, a check by staff where there is doubt."
    ),
    citations=("Lei nº 13.709/2018 Art. 18, 19", "Código Civil (Lei nº 10.406/2002) Art. 132"),
)
