"""California: the CCPA as amended by the CPRA (Cal. Civ. Code § 1798.100 et seq.) and its regulations.

- Cal. Code Regs. tit. 11 (CCPA regulations) § 7021(a): confirm receipt within 10 business days.
- § 1798.130(a)(2)(A) and § 7021(b): respond within 45 calendar days of receipt, the period beginning
  on the day the request is received "regardless of time required to verify" (so the clock never
  stops, and the day of receipt is day one); extendable once by 45 more calendar days when
  reasonably necessary, the consumer told within the first 45 days. The calendar days have no
  weekend or holiday rule: dsr keeps the last calendar day.
- § 7026(f): a request to opt out of sale or sharing is acted on no later than 15 business days from
  receipt; it needs no verifiable consumer request (§ 7026(d)).
- § 1798.121, § 7027: a request to limit the use and disclosure of sensitive personal information needs no
  verifiable consumer request (§ 7027(e)); the business stops using it for purposes other than those
  § 7027(m) permits within 15 business days and tells the third parties, service providers and contractors
  it disclosed it to for other purposes (§ 7027(g)).
- § 1798.105 delete, § 1798.106 correct, § 1798.110/115 know, § 1798.120 opt out of sale/sharing,
  § 1798.121 limit the use of sensitive personal information, § 1798.130(a)(3) / § 7063 authorised
  agents; §§ 7060-7062 verification.
- § 1798.145 (manifestly unfounded or excessive requests): a reasonable fee, or refusal with notice.
- Complaints: the California Privacy Protection Agency (§ 1798.199.45); the Attorney General also
  enforces the Act (§ 1798.199.90).

Business days: California's state holidays as the holidays package knows them (US, subdivision CA).
"""

from django.utils.translation import gettext_lazy as _

from dsr.jurisdictions.base import Authority, DayRule, Profile, Wording, WorkingDayRule

CCPA_WORDING = {
    "en": Wording(
        law="the California Consumer Privacy Act",
        period=(
            "Under the California Consumer Privacy Act (Cal. Civ. Code § 1798.130) we answer within 45 calendar "
            "days of receiving your request. Where reasonably necessary we may extend this once, by 45 more days; "
            "if we do, we will tell you within the first 45 days. A request to opt out of the sale or sharing of "
            "your personal information, or to limit the use of your sensitive personal information, is acted on "
            "within 15 business days."
        ),
        extension=(
            "Under Cal. Civ. Code § 1798.130(a)(2)(A) we are therefore extending the time limit once, by 45 further "
            "calendar days."
        ),
        complaint="Cal. Civ. Code § 1798.199.45; the California Attorney General also enforces the Act",
        clock=(
            "The time limit is not paused while we wait: under the California regulations (Cal. Code Regs. tit. 11, "
            "§ 7021(b)) it runs from the day we received your request. Please answer as soon as you can."
        ),
        first_period="45 days",
        identity_basis="the California Consumer Privacy Act regulations (Cal. Code Regs. tit. 11, § 7060)",
        courts="",
        regulation=(
            "the California Consumer Privacy Act (Cal. Civ. Code § 1798.100 et seq.) and its regulations "
            "(Cal. Code Regs. tit. 11, § 7000 et seq.)"
        ),
        refusal_basis="the California Consumer Privacy Act",
        articles={
            "access": "Cal. Civ. Code § 1798.110",
            "erasure": "Cal. Civ. Code § 1798.105",
            "rectification": "Cal. Civ. Code § 1798.106",
            "objection": "Cal. Civ. Code § 1798.120",
        },
        receipt_process=(
            "How we handle your request (Cal. Code Regs. tit. 11, § 7021(a)): first we verify that it comes from you. "
            "We do that by matching what you give us with information we already hold about you (§§ 7060-7062): "
            "control of this email address, and where we need more, one or two further details such as your "
            "customer number or phone number; for specific pieces of personal information we may also ask for a "
            "signed declaration. Then we search all our systems and carry out your request, and we write to you "
            "with the answer."
        ),
    ),
    "da": Wording(
        law="den californiske forbrugerdatalov (California Consumer Privacy Act)",
        period=(
            "Efter den californiske forbrugerdatalov (Cal. Civ. Code § 1798.130) svarer vi senest 45 kalenderdage "
            "efter, at vi har modtaget din anmodning. Hvis det er nødvendigt, kan vi forlænge fristen én gang med "
            "45 dage; sker det, skriver vi til dig inden for de første 45 dage. En anmodning om at fravælge salg "
            "eller deling af dine personoplysninger, eller om at begrænse brugen af dine følsomme "
            "personoplysninger, gennemfører vi inden for 15 arbejdsdage."
        ),
        extension=(
            "Efter Cal. Civ. Code § 1798.130(a)(2)(A) forlænger vi derfor fristen én gang med yderligere 45 "
            "kalenderdage."
        ),
        complaint="Cal. Civ. Code § 1798.199.45; Californiens statsadvokat (Attorney General) håndhæver også loven",
        clock=(
            "Fristen står ikke stille, mens vi venter: efter de californiske regler (Cal. Code Regs. tit. 11, "
            "§ 7021(b)) løber den fra den dag, vi modtog din anmodning. Svar os derfor så hurtigt som muligt."
        ),
        first_period="45 dage",
        identity_basis="de californiske regler til forbrugerdataloven (Cal. Code Regs. tit. 11, § 7060)",
        courts="",
        regulation=(
            "den californiske forbrugerdatalov (Cal. Civ. Code § 1798.100 ff.) og reglerne til den "
            "(Cal. Code Regs. tit. 11, § 7000 ff.)"
        ),
        refusal_basis="den californiske forbrugerdatalov",
        articles={
            "access": "Cal. Civ. Code § 1798.110",
            "erasure": "Cal. Civ. Code § 1798.105",
            "rectification": "Cal. Civ. Code § 1798.106",
            "objection": "Cal. Civ. Code § 1798.120",
        },
        receipt_process=(
            "Sådan behandler vi din anmodning (Cal. Code Regs. tit. 11, § 7021(a)): Først kontrollerer vi, at den "
            "kommer fra dig. Det gør vi ved at sammenholde det, du giver os, med oplysninger, vi allerede har om dig "
            "(§§ 7060-7062): at du har adgang til denne e-mailadresse og, hvis vi har brug for mere, en eller to "
            "oplysninger til, fx dit kundenummer eller telefonnummer; beder du om bestemte oplysninger, kan vi også "
            "bede om en underskrevet erklæring. Derefter søger vi i alle vores systemer, gør det, du har bedt om, "
            "og skriver til dig med svaret."
        ),
    ),
}

CALIFORNIA = Profile(
    code="us-ca",
    name=_("California (USA)"),
    law="California Consumer Privacy Act as amended by the CPRA; Cal. Code Regs. tit. 11 § 7000 ff.",
    deadline_citation="Cal. Civ. Code § 1798.130(a)(2)(A); Cal. Code Regs. tit. 11 § 7021, § 7026(f)",
    calendar="US-CA",
    authority=Authority(
        name="California Privacy Protection Agency",
        phone="+1 916-572-2900",
        email="info@cppa.ca.gov",
        url="https://cppa.ca.gov",
    ),
    # Know (access), delete (erasure), correct (rectification), opt out of sale/sharing (objection to
    # direct marketing: consent withdrawal and removal from ad partners' audiences), limit the use of
    # sensitive personal information (objection to the purposes the data map marks as using it beyond
    # § 7027(m)). Data portability is part of the right to know (§ 1798.130(a)(3)(B)(iii)): the access
    # bundle's JSON and CSV.
    rights=("access", "erasure", "rectification", "objection"),
    # § 1798.130(a)(2)(A), § 7021(b): 45 calendar days from the day of receipt, once 45 more.
    rule=DayRule(days=45, extension_days=45, first_day_counts=True, working_day_end=False),
    # § 7026(f), § 7027(g)(1): opt-out of sale/sharing and limit within 15 business days, no extension.
    rules_by_right={"objection": WorkingDayRule(days=15)},
    wording=CCPA_WORDING,
    # § 7021(b): "regardless of time required to verify".
    clock_stops=False,
    # § 7021(a): confirm receipt of a request to know, delete or correct within 10 business days, saying how it
    # is processed and verified and when to expect the answer. An opt-out of sale or sharing (§ 7026) has no such
    # rule: it is acted on within 15 business days and needs no verification.
    acknowledge_working_days=10,
    acknowledge_rights=("access", "erasure", "rectification"),
    acknowledge_citation="Cal. Code Regs. tit. 11 § 7021(a)",
    identity=_(
        "CCPA regulations §§ 7060-7062: match two data points for a request to know categories or to delete, three "
        "and a signed declaration for specific pieces; none for an opt-out of sale or sharing (§ 7026(d)). An "
        "authorised agent needs the consumer's signed permission (§ 7063). A request to limit the use of sensitive "
        "personal information needs no verification either (§ 7027(e))."
    ),
    # § 1798.130(a)(3), § 7063: an agent files on the portal's agent page (dsr/workflow/agents.py) with the
    # consumer's signed permission or a power of attorney (Cal. Prob. Code §§ 4121-4130).
    authorised_agents=True,
    agent_citation="Cal. Civ. Code § 1798.130(a)(3); Cal. Code Regs. tit. 11 § 7063",
    # § 1798.120: the opt-out stops sharing for advertising, which dsr carries as a direct-marketing objection.
    # § 1798.121: the limit stops the purposes the data map marks as using sensitive personal information
    # beyond those § 7027(m) permits.
    objection_scopes=("direct_marketing", "sensitive"),
    right_names={
        "access": _("Right to know (Cal. Civ. Code § 1798.110)"),
        "erasure": _("Right to delete (Cal. Civ. Code § 1798.105)"),
        "rectification": _("Right to correct (Cal. Civ. Code § 1798.106)"),
        "objection": _("Right to opt out of sale or sharing (Cal. Civ. Code § 1798.120)"),
        "objection:sensitive": _(
            "Right to limit the use of sensitive personal information (Cal. Civ. Code § 1798.121)"
        ),
    },
    languages=("en",),
    citations=(
        "Cal. Civ. Code §§ 1798.105, 1798.106, 1798.110, 1798.115, 1798.120, 1798.121, 1798.130, 1798.145, 1798.199.45",
        "Cal. Code Regs. tit. 11 §§ 7021, 7026, 7027, 7060-7063",
    ),
)
