"""Patient records of several clinics: composite keys, a cycle of foreign keys, a short unique reference.

What makes it hard:
- a patient is (org_id, patient_no): Mette is patient 100 at clinic 1 and 200 at
  clinic 2, and Ole is patient 100 at clinic 2, so nothing may match on
  patient_no alone; visit and prescription point at a patient by both columns;
- patient.primary_visit_id -> visit and visit (org_id, patient_no) -> patient go
  round in a circle; the patient's side is nullable;
- patient_ref is VARCHAR(24), UNIQUE and NOT NULL: a hash must fit and stay unique;
  initials is VARCHAR(3), too short for any hash;
- birth_date is NOT NULL and is kept to the year on erasure;
- patient.household_id (NOT NULL) -> household: Mette's home is also her son's;
- visits are kept 10 years from their own date; two of Mette's are older.

PostgreSQL cannot create a table whose foreign key names a table not made yet,
so the circle is closed there with ALTER TABLE; SQLite takes it in CREATE TABLE.
"""

import copy
import datetime as dt

from tests.sources.sql.hard.support import sql_split, years_ago

SCHEMA = """
CREATE TABLE clinic (
    org_id INTEGER PRIMARY KEY,
    name VARCHAR(80) NOT NULL
);
CREATE TABLE household (
    household_id INTEGER PRIMARY KEY,
    street VARCHAR(120) NOT NULL,
    postal_code VARCHAR(10),
    phone VARCHAR(30)
);
CREATE TABLE patient (
    org_id INTEGER NOT NULL,
    patient_no INTEGER NOT NULL,
    patient_ref VARCHAR(24) NOT NULL,
    full_name VARCHAR(100) NOT NULL,
    initials VARCHAR(3),
    email VARCHAR(120),
    phone VARCHAR(30),
    birth_date DATE NOT NULL,
    household_id INTEGER NOT NULL,
    primary_visit_id INTEGER,
    CONSTRAINT pk_patient PRIMARY KEY (org_id, patient_no),
    CONSTRAINT uq_patient_ref UNIQUE (patient_ref),
    CONSTRAINT fk_patient_clinic FOREIGN KEY (org_id) REFERENCES clinic (org_id),
    CONSTRAINT fk_patient_household FOREIGN KEY (household_id) REFERENCES household (household_id){circle_in_sqlite}
);
CREATE TABLE visit (
    visit_id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL,
    patient_no INTEGER NOT NULL,
    visited_on DATE NOT NULL,
    reason VARCHAR(200) NOT NULL,
    clinician VARCHAR(60) NOT NULL,
    CONSTRAINT fk_visit_patient FOREIGN KEY (org_id, patient_no) REFERENCES patient (org_id, patient_no)
);
{circle_in_postgresql};
CREATE TABLE prescription (
    org_id INTEGER NOT NULL,
    patient_no INTEGER NOT NULL,
    rx_no INTEGER NOT NULL,
    visit_id INTEGER,
    drug VARCHAR(80) NOT NULL,
    dose VARCHAR(40),
    CONSTRAINT pk_prescription PRIMARY KEY (org_id, patient_no, rx_no),
    CONSTRAINT fk_prescription_patient FOREIGN KEY (org_id, patient_no) REFERENCES patient (org_id, patient_no),
    CONSTRAINT fk_prescription_visit FOREIGN KEY (visit_id) REFERENCES visit (visit_id)
)
"""
CIRCLE = "CONSTRAINT fk_patient_primary_visit FOREIGN KEY (primary_visit_id) REFERENCES visit (visit_id)"

DATA = """
INSERT INTO clinic VALUES (1, 'Lægehuset Aarhus'), (2, 'Tandklinikken Vejle'), (3, 'Fysio Nord');
INSERT INTO household VALUES
    (1, 'Vestergade 1, 2. th.', '8000', '+45 86 12 34 56'),
    (2, 'Strandvejen 4', '7100', '+45 20 30 40 50'),
    (3, 'Ole Rømers Gade 5', '8000', '11223344'),
    (4, 'Kongensgade 20', '5000', NULL),
    (5, 'Møllevej 2', '8200', NULL);
INSERT INTO patient VALUES
    (1, 100, 'AAR-000100', 'Mette Hansen', 'MH', 'mette@example.dk', '+45 20 30 40 50', '1984-06-17', 1, NULL),
    (2, 200, 'VEJ-000200', 'Mette Hansen', 'MH', ' Mette@Example.DK', NULL, '1984-06-17', 2, NULL),
    (2, 100, 'VEJ-000100', 'Ole Jensen', 'OJ', 'ole@example.dk', '11223344', '1979-02-02', 3, NULL),
    (1, 101, 'AAR-000101', 'Anna Berg', 'AB', 'anna@example.dk', NULL, '1990-11-30', 4, NULL),
    (1, 102, 'AAR-000102', 'Karl Smed', 'KS', NULL, NULL, '1955-01-01', 5, NULL),
    (1, 103, 'AAR-000103', 'Emil Juhl', 'EJ', NULL, NULL, '2015-09-09', 1, NULL);
INSERT INTO visit VALUES
    (1, 1, 100, '{twelve_years}', 'Rygsmerter', 'Dr. Lund'),
    (2, 1, 100, '{one_year}', 'Kontrol af blodtryk', 'Dr. Lund'),
    (3, 2, 200, '{three_years}', 'Tandrensning', 'Tandlæge Møller'),
    (4, 2, 200, '{eleven_years}', 'Rodbehandling', 'Tandlæge Møller'),
    (5, 2, 100, '{two_years}', 'Fyldning', 'Tandlæge Møller'),
    (6, 1, 101, '{fifteen_years}', 'Vaccination', 'Dr. Lund'),
    (7, 1, 102, '{one_year}', 'Knæsmerter', 'Dr. Lund'),
    (8, 1, 103, '{one_year}', 'Børneundersøgelse', 'Dr. Lund');
UPDATE patient SET primary_visit_id = 2 WHERE org_id = 1 AND patient_no = 100;
UPDATE patient SET primary_visit_id = 4 WHERE org_id = 2 AND patient_no = 200;
UPDATE patient SET primary_visit_id = 5 WHERE org_id = 2 AND patient_no = 100;
UPDATE patient SET primary_visit_id = 6 WHERE org_id = 1 AND patient_no = 101;
INSERT INTO prescription VALUES
    (1, 100, 1, 2, 'Amlodipin', '5 mg'),
    (1, 100, 2, 1, 'Ibuprofen', '400 mg'),
    (1, 100, 3, NULL, 'Panodil', '500 mg'),
    (2, 200, 1, 3, 'Fluor', NULL),
    (2, 100, 1, 5, 'Amoxicillin', '500 mg'),
    (1, 101, 1, 6, 'Vaccine', NULL)
"""

KEYS = {
    "clinic": ("org_id",),
    "household": ("household_id",),
    "patient": ("org_id", "patient_no"),
    "visit": ("visit_id",),
    "prescription": ("org_id", "patient_no", "rx_no"),
}

MARKERS = [
    "mette",
    "hansen",
    "AAR-000100",
    "VEJ-000200",
    "20304050",
    "1984-06-17",
    "Strandvejen",
    "Rygsmerter",
    "Rodbehandling",
    "Amlodipin",
    "Ibuprofen",
    "Panodil",
    "Fluor",
]

# Ground truth: Mette's patients by both key columns (her patient_no 100 at clinic 1 is Ole's number at clinic 2).
METTES_PATIENTS = "SELECT org_id, patient_no FROM patient WHERE lower(trim(email)) = :email"
TRUTH = {
    "patient": """
        SELECT p.*, c.name AS "org_id (label)" FROM patient p JOIN clinic c ON c.org_id = p.org_id
        WHERE lower(trim(p.email)) = :email
    """,
    "household": """
        SELECT * FROM household
        WHERE household_id IN (SELECT household_id FROM patient WHERE lower(trim(email)) = :email)
    """,
    "visit": """
        SELECT v.* FROM visit v JOIN patient p ON p.org_id = v.org_id AND p.patient_no = v.patient_no
        WHERE lower(trim(p.email)) = :email
    """,
    "prescription": """
        SELECT * FROM prescription r
        WHERE EXISTS (
                SELECT 1 FROM patient p
                WHERE p.org_id = r.org_id AND p.patient_no = r.patient_no AND lower(trim(p.email)) = :email)
           OR r.visit_id IN (
                SELECT v.visit_id FROM visit v JOIN patient p ON p.org_id = v.org_id AND p.patient_no = v.patient_no
                WHERE lower(trim(p.email)) = :email)
    """,
}
# Households that other patients live in too.
HOUSEHOLDS_OTHERS_USE = "SELECT household_id FROM patient WHERE lower(trim(coalesce(email, ''))) <> :email"
# Journalføringsbekendtgørelsen § 15: a record is kept 10 years from its date; :cutoff is ten years ago.
VISITS_PAST_HOLD = """
    SELECT v.visit_id FROM visit v JOIN patient p ON p.org_id = v.org_id AND p.patient_no = v.patient_no
    WHERE lower(trim(p.email)) = :email AND v.visited_on < :cutoff
"""

PATIENT_RECORDS_HOLD = {
    "name": {"da": "Journalføringspligt", "en": "Duty to keep patient records"},
    "law": "Journalføringsbekendtgørelsen § 15 (patient records are kept 10 years)",
    "period_rule": {"after": "collected", "years": 10},
}

TABLES = {
    "clinic": {"context": {"label": "name"}},
    "patient": {
        "identifiers": {"email": ["email"]},
        "categories": {
            "patient_ref": "identity",
            "full_name": "identity",
            "initials": "identity",
            "email": "contact",
            "phone": "contact",
            "birth_date": "identity",
        },
        "erasure": {
            "strategy": "anonymise",
            "fields": {
                "patient_ref": "hash",
                "full_name": "redact",
                "initials": "clear",
                "email": "clear",
                "phone": "clear",
                "birth_date": {"truncate": "year"},
            },
        },
    },
    "household": {
        "links": [{"table": "patient", "columns": {"household_id": "household_id"}}],
        "shared": "skip",
        "categories": {"street": "contact", "postal_code": "contact", "phone": "contact"},
        "erasure": {"strategy": "anonymise", "fields": {"street": "redact", "postal_code": "clear", "phone": "clear"}},
    },
    "visit": {
        "link": {"table": "patient", "columns": {"org_id": "org_id", "patient_no": "patient_no"}},
        "categories": {"reason": "health", "visited_on": "health"},
        "erasure": {
            "strategy": "keep",
            "hold": "patient_records",
            "date_column": "visited_on",
            "after_hold": "anonymise",
            "fields": {"reason": "redact"},
        },
    },
    "prescription": {
        "links": [
            {"table": "patient", "columns": {"org_id": "org_id", "patient_no": "patient_no"}},
            {"table": "visit", "columns": {"visit_id": "visit_id"}},
        ],
        "categories": {"drug": "health", "dose": "health"},
        "erasure": {"strategy": "delete"},
    },
}


YEARS_AGO = {"one": 1, "two": 2, "three": 3, "eleven": 11, "twelve": 12, "fifteen": 15}


def clinic_tables() -> dict:
    """Return a copy of the clinics' map that a test may change."""
    return copy.deepcopy(TABLES)


def clinic_tables_deleting() -> dict:
    """Return the clinics' map with patients, visits and prescriptions deleted.

    A visit may be some other patient's primary visit, and patient cannot link to
    visit by primary_visit_id without links going round in a circle; so visits are
    `shared: skip`: one another patient points at is left (the key is nullable).
    """
    tables = clinic_tables()
    for name in ("patient", "visit", "prescription"):
        tables[name]["erasure"] = {"strategy": "delete"}
    tables["visit"]["shared"] = "skip"
    return tables


def clinic_statements(dialect: str, today: dt.date | None = None) -> list[str]:
    """Return the DDL (the circle closed in CREATE TABLE on SQLite, by ALTER TABLE on PostgreSQL) and data."""
    today = today or dt.date.today()
    sqlite = dialect == "sqlite"
    schema = SCHEMA.format(
        circle_in_sqlite=f",\n    {CIRCLE}" if sqlite else "",
        circle_in_postgresql="" if sqlite else f"ALTER TABLE patient ADD {CIRCLE}",
    )
    days = {f"{word}_year{'s' if n > 1 else ''}": years_ago(today, n) for word, n in YEARS_AGO.items()}
    return sql_split(schema) + sql_split(DATA.format(**{name: day.isoformat() for name, day in days.items()}))
