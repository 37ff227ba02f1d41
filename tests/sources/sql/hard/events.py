"""An app's users with events partitioned by date and an audit log split across inherited tables.

On PostgreSQL `event` is declaratively partitioned by range of `occurred_on`
(three partitions), and `audit_log` is partitioned the old way: rows in the parent
and in two tables that INHERIT from it, each with its own primary and foreign key.
A parent's query reads its children's rows too, so a row read through the parent
and again through its child would be exported twice. SQLite has neither: there
`event` and `audit_log` are plain tables of the same shape.

Users have a second email column (backup_email): Mette's work account is found
by it. event_kind is a lookup table (a context table). Audit rows are dated
relative to today (three and two years ago, 40 days ago), so a hold of a year
has ended for the older ones whenever the tests run.
"""

import copy
import datetime as dt

from tests.sources.sql.hard.support import sql_split, years_ago

SCHEMA = """
CREATE TABLE event_kind (
    kind_id INTEGER PRIMARY KEY,
    label VARCHAR(40) NOT NULL
);
CREATE TABLE app_user (
    user_id INTEGER PRIMARY KEY,
    email VARCHAR(120) NOT NULL,
    backup_email VARCHAR(120),
    display_name VARCHAR(60) NOT NULL,
    signed_up_on DATE NOT NULL,
    CONSTRAINT uq_app_user_email UNIQUE (email)
);
CREATE TABLE event (
    event_id BIGINT NOT NULL,
    occurred_on DATE NOT NULL,
    user_id INTEGER NOT NULL,
    kind_id INTEGER NOT NULL,
    ip_address VARCHAR(45),
    detail VARCHAR(200),
    CONSTRAINT pk_event PRIMARY KEY (event_id, occurred_on),
    CONSTRAINT fk_event_user FOREIGN KEY (user_id) REFERENCES app_user (user_id),
    CONSTRAINT fk_event_kind FOREIGN KEY (kind_id) REFERENCES event_kind (kind_id)
){partition_by};
CREATE TABLE audit_log (
    log_id INTEGER NOT NULL,
    user_id INTEGER,
    logged_at TIMESTAMP NOT NULL,
    action VARCHAR(40) NOT NULL,
    ip_address VARCHAR(45),
    CONSTRAINT pk_audit_log PRIMARY KEY (log_id),
    CONSTRAINT fk_audit_log_user FOREIGN KEY (user_id) REFERENCES app_user (user_id)
)
"""

POSTGRESQL_PARTITIONS = """
CREATE TABLE event_before_2025 PARTITION OF event FOR VALUES FROM (MINVALUE) TO ('2025-01-01');
CREATE TABLE event_2025 PARTITION OF event FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE event_from_2026 PARTITION OF event FOR VALUES FROM ('2026-01-01') TO (MAXVALUE);
CREATE TABLE audit_log_archive (
    CONSTRAINT pk_audit_log_archive PRIMARY KEY (log_id),
    CONSTRAINT fk_audit_log_archive_user FOREIGN KEY (user_id) REFERENCES app_user (user_id)
) INHERITS (audit_log);
CREATE TABLE audit_log_recent (
    CONSTRAINT pk_audit_log_recent PRIMARY KEY (log_id),
    CONSTRAINT fk_audit_log_recent_user FOREIGN KEY (user_id) REFERENCES app_user (user_id)
) INHERITS (audit_log)
"""
PARTITIONS = {
    "event": ["event_before_2025", "event_2025", "event_from_2026"],
    "audit_log": ["audit_log_archive", "audit_log_recent"],
}

DATA = """
INSERT INTO event_kind VALUES (1, 'login'), (2, 'purchase'), (3, 'export'), (4, 'backup');
INSERT INTO app_user VALUES
    (1, 'mette@example.dk', 'mette.h@gmail.example', 'Mette H.', '2023-05-01'),
    (2, 'ole@example.dk', NULL, 'Ole', '2023-06-01'),
    (3, 'anna@example.dk', 'anna@backup.example', 'Anna B.', '2024-01-10'),
    (4, 'mh@firma.example', ' METTE@example.dk', 'Mette (arbejde)', '2023-09-09');
INSERT INTO event VALUES
    (1, '2024-03-01', 1, 1, '192.0.2.10', 'iPhone'),
    (2, '2024-03-01', 2, 1, '198.51.100.7', 'Firefox'),
    (3, '2025-06-01', 1, 2, '192.0.2.10', 'ordre 1001'),
    (4, '2025-01-01', 3, 1, '203.0.113.5', NULL),
    (5, '2026-02-01', 1, 1, '192.0.2.11', 'iPhone'),
    (6, '2025-07-07', 4, 3, '192.0.2.12', 'eksport af kundeliste'),
    (7, '2026-02-01', 2, 2, '198.51.100.7', 'ordre 1002'),
    (8, '2023-11-11', 4, 1, '192.0.2.12', NULL);
INSERT INTO audit_log VALUES
    (1, 1, '{three_years} 08:00:00', 'password_reset', '192.0.2.10'),
    (2, 2, '{three_years} 09:00:00', 'login', '198.51.100.7'),
    (3, NULL, '{three_years} 03:00:00', 'backup_run', NULL);
INSERT INTO {archive} VALUES
    (4, 1, '{two_years} 10:00:00', 'email_changed', '192.0.2.10'),
    (5, 3, '{two_years} 11:00:00', 'login', '203.0.113.5');
INSERT INTO {recent} VALUES
    (6, 4, '{forty_days} 12:00:00', 'export', '192.0.2.12'),
    (7, 2, '{forty_days} 13:00:00', 'login', '198.51.100.7'),
    (8, NULL, '{forty_days} 03:00:00', 'backup_run', NULL)
"""

KEYS = {
    "event_kind": ("kind_id",),
    "app_user": ("user_id",),
    "event": ("event_id", "occurred_on"),
    "audit_log": ("log_id",),
}

MARKERS = ["mette", "mh@firma", "192.0.2.1", "iphone", "ordre 1001", "kundeliste"]

METTES_USERS = "SELECT user_id FROM app_user WHERE lower(trim(email)) = :email OR lower(trim(backup_email)) = :email"


def truth_sql(dialect: str) -> dict[str, str]:
    """Return the ground-truth SQL of Mette's rows; on PostgreSQL it reads each partition and child by itself."""
    if dialect == "postgresql":
        events = " UNION ALL ".join(f"SELECT * FROM {name}" for name in PARTITIONS["event"])  # noqa: S608
        logs = " UNION ALL ".join(
            ["SELECT * FROM ONLY audit_log", *(f"SELECT * FROM {name}" for name in PARTITIONS["audit_log"])]  # noqa: S608
        )
    else:
        events, logs = "SELECT * FROM event", "SELECT * FROM audit_log"
    return {
        "app_user": f"SELECT * FROM app_user WHERE user_id IN ({METTES_USERS})",  # noqa: S608
        "event": f"""
            SELECT e.*, k.label AS "kind_id (label)" FROM ({events}) e JOIN event_kind k ON k.kind_id = e.kind_id
            WHERE e.user_id IN ({METTES_USERS})
        """,  # noqa: S608
        "audit_log": f"SELECT * FROM ({logs}) a WHERE a.user_id IN ({METTES_USERS})",  # noqa: S608
    }


# Logningsbekendtgørelsen: traffic data is kept one year.
LOGGING_HOLD = {
    "name": {"da": "Logningspligt", "en": "Duty to log"},
    "law": "Logningsbekendtgørelsen § 4 (traffic data is kept one year)",
    "period_rule": {"after": "collected", "years": 1},
}

TABLES = {
    "event_kind": {"context": {"label": "label"}},
    "app_user": {
        "identifiers": {"email": ["email", "backup_email"]},
        "categories": {"email": "contact", "backup_email": "contact", "display_name": "identity"},
        "erasure": {
            "strategy": "anonymise",
            "fields": {"email": "hash", "backup_email": "clear", "display_name": "redact"},
        },
    },
    "event": {
        "link": {"table": "app_user", "columns": {"user_id": "user_id"}},
        "categories": {"ip_address": "technical", "detail": "usage", "occurred_on": "usage"},
        "erasure": {"strategy": "delete"},
    },
    "audit_log": {
        "links": [{"table": "app_user", "columns": {"user_id": "user_id"}}],
        "categories": {"ip_address": "technical", "action": "usage"},
        "erasure": {"strategy": "anonymise", "fields": {"ip_address": "clear"}},
    },
}


def events_tables() -> dict:
    """Return a copy of the app's map that a test may change."""
    return copy.deepcopy(TABLES)


def events_statements(dialect: str, today: dt.date | None = None) -> list[str]:
    """Return the DDL and data: partitioned and inherited tables on PostgreSQL, plain tables on SQLite."""
    postgresql = dialect == "postgresql"
    schema = SCHEMA.format(partition_by=" PARTITION BY RANGE (occurred_on)" if postgresql else "")
    today = today or dt.date.today()
    days = {
        "three_years": years_ago(today, 3),
        "two_years": years_ago(today, 2),
        "forty_days": today - dt.timedelta(days=40),
    }
    children = dict.fromkeys(("archive", "recent"), "audit_log")
    if postgresql:
        children = {"archive": "audit_log_archive", "recent": "audit_log_recent"}
    data = DATA.format(**children, **{name: day.isoformat() for name, day in days.items()})
    return sql_split(schema) + (sql_split(POSTGRESQL_PARTITIONS) if postgresql else []) + sql_split(data)
