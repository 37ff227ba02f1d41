"""dsr settings, read from the environment (django-environ).

Every variable is listed with a one-line comment in `.env.example`. Unset means
the embedded default: SQLite and a filesystem Celery broker under `var/`, and
email printed to the console and kept in an outbox folder.
"""

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# The .env file beside manage.py, or the one DSR_ENV_FILE names; the process's own environment wins over both.
ENV_FILE = Path(os.environ.get("DSR_ENV_FILE") or BASE_DIR / ".env")
if ENV_FILE.is_file():
    environ.Env.read_env(ENV_FILE)

VAR_DIR = Path(env("DSR_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# The development key is refused by the `dsr.E001` deploy check.
DEVELOPMENT_SECRET_KEY = "django-insecure-dsr-development-key-never-use-in-production"  # noqa: S105

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# A failed CSRF check explains itself in the page's language (public forms).
CSRF_FAILURE_VIEW = "dsr.views.public.csrf_failure"

# Public base URL used in emailed links (no trailing slash).
DSR_BASE_URL = env("DSR_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "dsr",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # No page loads anything from another origin (dsr/csp.py, docs/security.md).
    "dsr.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes requires: it turns a lockout into the lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dsr.context_processors.controller",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'dsr.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: WAL and immediate transactions keep
    # writers from failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file, not memory, so that a real worker process can see the test data.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-dsr.sqlite3")}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://dsr")}

# --- Auth ---------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
# django-axes first: it refuses a locked-out username or address before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Staff login lockout: this many failed logins for a username from one address locks it out.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
# Hours a lockout lasts before the next attempt is allowed.
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_TIME", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The issuer name staff see in their authenticator app.
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="dsr")
# With DEBUG on only, staff may skip the second factor (every staff page then says so); ignored otherwise.
DSR_DEMO_SKIP_2FA = env.bool("DSR_DEMO_SKIP_2FA", default=True)

# --- Internationalisation -----------------------------------------------------

LANGUAGE_CODE = env("LANGUAGE_CODE", default="da")
LANGUAGES = [("da", "Dansk"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "dsr" / "locale"]
# English dates in the European order ("22 November 2026"); see dsr/formats/.
FORMAT_MODULE_PATH = ["dsr.formats"]
TIME_ZONE = env("TIME_ZONE", default="Europe/Copenhagen")
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "dsr" / "static"]
# Export bundles (dsr/exports/): sealed files, local by default, S3 (django-storages) with DSR_BUNDLE_STORAGE=s3.
DSR_BUNDLE_STORAGE = env("DSR_BUNDLE_STORAGE", default="local")
if DSR_BUNDLE_STORAGE == "s3":
    _bundle_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("DSR_BUNDLE_S3_BUCKET"),
            "region_name": env("DSR_BUNDLE_S3_REGION", default=None),
            "endpoint_url": env("DSR_BUNDLE_S3_ENDPOINT_URL", default=None),
            "location": env("DSR_BUNDLE_S3_PREFIX", default="dsr"),
            "default_acl": "private",
            "file_overwrite": False,
            "querystring_auth": True,
        },
    }
elif DSR_BUNDLE_STORAGE == "local":
    _bundle_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": env("DSR_BUNDLE_DIR", default=str(VAR_DIR / "bundles")),
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    }
else:
    raise ImproperlyConfigured(f"DSR_BUNDLE_STORAGE must be local or s3, not {DSR_BUNDLE_STORAGE!r}.")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    "bundles": _bundle_storage,
}
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))
WHITENOISE_USE_FINDERS = DEBUG

# --- Security -----------------------------------------------------------------

# One switch for a deployment served over HTTPS (behind a TLS-terminating proxy). On unless DEBUG is:
# a production deployment opts out explicitly (DSR_HTTPS=false), never by forgetting it.
DSR_HTTPS = env.bool("DSR_HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=DSR_HTTPS)
SESSION_COOKIE_SECURE = DSR_HTTPS
CSRF_COOKIE_SECURE = DSR_HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if DSR_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = DSR_HTTPS
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=DSR_HTTPS)
if env.bool("DSR_BEHIND_PROXY", default=DSR_HTTPS):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=256 * 1024)

# --- Email --------------------------------------------------------------------

if env("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
    if EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend":  # noqa: F821
        # Django's console backend prints whole bodies, codes and links included; ours logs only the subject.
        EMAIL_BACKEND = "dsr.mail.ConsoleOutboxBackend"
else:
    EMAIL_BACKEND = "dsr.mail.ConsoleOutboxBackend"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Privacy team <privacy@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where the local outbox keeps a copy of every message sent (dashboard: Outbox).
DSR_OUTBOX_DIR = Path(env("DSR_OUTBOX_DIR", default=str(VAR_DIR / "outbox")))
# Staff addresses that receive deadline reminders; empty = every active staff user.
DSR_STAFF_NOTIFY_EMAILS = env.list("DSR_STAFF_NOTIFY_EMAILS", default=[])

# --- Celery -------------------------------------------------------------------

# With the host spelled out, kombu does not warn that it is missing.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://localhost//")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport with each message written whole before it can be read (config/broker.py).
    CELERY_BROKER_TRANSPORT = "config.broker:Transport"
    # The end-to-end tests give their worker a folder of its own (DSR_BROKER_DIR).
    _broker_dir = Path(env("DSR_BROKER_DIR", default=str(VAR_DIR / "broker")))
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Remote control (inspect, ping) keeps its exchange tables here, not in the working directory.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # Redis: a message not acknowledged within an hour is handed out again.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# A worker process keeps its database connection from task to task (CONN_MAX_AGE, CONN_HEALTH_CHECKS,
# config.celery.connections_recycle) and closes it unconditionally after this many tasks; 0 closes it after each.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=100)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- REST API -----------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["dsr.api.parsers.LimitedJSONParser"],
    "EXCEPTION_HANDLER": "dsr.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "dsr API",
    "DESCRIPTION": "File and follow GDPR data subject rights requests.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from our own static files: no CDN script on a page staff open with a session.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- dsr ----------------------------------------------------------------------

# Serve the demo ad partner (an OpenGDPR processor) under /demo/processor/. Never in production.
DSR_DEMO = env.bool("DSR_DEMO", default=DEBUG)
# The controller's name until a data map is loaded (the map's controller wins).
DSR_CONTROLLER_NAME = env("DSR_CONTROLLER_NAME", default="The data controller")

# The controller's country: its public holidays move deadlines (Reg. 1182/71 Art. 3(4)).
DSR_COUNTRY = env("DSR_COUNTRY", default="DK")
# Identity verification (GDPR Art. 12(6)).
DSR_VERIFICATION_TTL_MINUTES = env.int("DSR_VERIFICATION_TTL_MINUTES", default=60)
DSR_VERIFICATION_MAX_ATTEMPTS = env.int("DSR_VERIFICATION_MAX_ATTEMPTS", default=5)
DSR_VERIFICATION_RESEND_INTERVAL_SECONDS = env.int("DSR_VERIFICATION_RESEND_INTERVAL_SECONDS", default=60)
DSR_VERIFICATION_MAX_SENDS = env.int("DSR_VERIFICATION_MAX_SENDS", default=5)
# How long the preference centre stays open after the email was confirmed (dsr/preferences.py).
DSR_PREFERENCES_GRANT_MINUTES = env.int("DSR_PREFERENCES_GRANT_MINUTES", default=30)
DSR_UNVERIFIED_EXPIRY_DAYS = env.int("DSR_UNVERIFIED_EXPIRY_DAYS", default=14)
# Closed requests keep the requester's details this long, then only the evidence remains.
DSR_RECORD_RETENTION_DAYS = env.int("DSR_RECORD_RETENTION_DAYS", default=3 * 365)
# Staff reminders: this many days before the due date, and again when overdue.
DSR_REMINDER_DAYS_BEFORE = env.int("DSR_REMINDER_DAYS_BEFORE", default=5)
# Fees for manifestly unfounded or excessive requests and further copies (GDPR Art. 12(5)(a), Art. 15(3);
# docs/decisions/0015-fees.md): the currency, the highest amount staff may ask, and how to pay, as the letter
# says it in each language. dsr never takes payments itself.
DSR_FEE_CURRENCY = env("DSR_FEE_CURRENCY", default="DKK")
DSR_FEE_MAX_AMOUNT = env.int("DSR_FEE_MAX_AMOUNT", default=1000)
DSR_FEE_PAYMENT_INSTRUCTIONS_DA = env("DSR_FEE_PAYMENT_INSTRUCTIONS_DA", default="")
DSR_FEE_PAYMENT_INSTRUCTIONS_EN = env("DSR_FEE_PAYMENT_INSTRUCTIONS_EN", default="")
# Public intake rate limits (per client IP / per email address), "count/period".
DSR_INTAKE_RATE_PER_IP = env("DSR_INTAKE_RATE_PER_IP", default="30/hour")
DSR_INTAKE_RATE_PER_EMAIL = env("DSR_INTAKE_RATE_PER_EMAIL", default="5/hour")
# Code guesses and status reads per client IP.
DSR_VERIFY_RATE_PER_IP = env("DSR_VERIFY_RATE_PER_IP", default="60/hour")
# The public edge (docs/security.md). Proxies whose X-Forwarded-For is believed: empty = none (REMOTE_ADDR is
# the client), a number of proxies in front of dsr (e.g. 1), or their networks (e.g. 10.0.0.0/8,fd00::/8).
DSR_TRUSTED_PROXIES = env("DSR_TRUSTED_PROXIES", default="")
# New unverified requests from everyone together, whatever their addresses.
DSR_INTAKE_RATE_GLOBAL = env("DSR_INTAKE_RATE_GLOBAL", default="60/minute")
# Code guesses and link requests per request reference, from any address.
DSR_VERIFY_RATE_PER_REFERENCE = env("DSR_VERIFY_RATE_PER_REFERENCE", default="20/hour")
# Wrong codes for one email address over all its requests; past it, staff verify (the owner is told).
DSR_CODE_FAILURES_PER_EMAIL = env("DSR_CODE_FAILURES_PER_EMAIL", default="15/3d")
# Shortest time a code check or a lost-link answer takes, so a known reference answers no faster than an unknown.
DSR_EDGE_ANSWER_SECONDS = env.float("DSR_EDGE_ANSWER_SECONDS", default=0.4)
# Largest file staff may upload to a manual task, in megabytes.
DSR_UPLOAD_MAX_MB = env.int("DSR_UPLOAD_MAX_MB", default=25)
# Key of the keyed hash (HMAC-SHA256) that erasure writes into "hash" fields; empty = derived from SECRET_KEY.
DSR_ANONYMISE_KEY = env("DSR_ANONYMISE_KEY", default="")
# The work on the sources (dsr/engine/, docs/decisions/0008-jobs.md).
# Erasure plans run without staff approval when true (the privacy team's choice).
DSR_ERASURE_AUTO_APPROVE = env.bool("DSR_ERASURE_AUTO_APPROVE", default=False)
# Key of the HMAC kept on the suppression list and restriction register; empty = derived from SECRET_KEY.
DSR_SUPPRESSION_KEY = env("DSR_SUPPRESSION_KEY", default="")
# Key lists of their own (dsr/keys.py, docs/security.md), newest first; older keys still verify and open.
# Empty = SECRET_KEY (system check dsr.W401). Suppression list, restriction register (empty = the suppression
# keys), and sealed waiting values (queued email contents, webhook signing secrets, receivers' link tokens).
DSR_SUPPRESSION_KEYS = env.list("DSR_SUPPRESSION_KEYS", default=[])
DSR_RESTRICTION_KEYS = env.list("DSR_RESTRICTION_KEYS", default=[])
DSR_MESSAGE_KEYS = env.list("DSR_MESSAGE_KEYS", default=[])
# Signed checkpoints of the audit chain (dsr/audit_checkpoints.py, docs/security.md): the Ed25519 private key
# (a PEM file's path or the PEM itself; empty = none, or a development key under VAR_DIR when DEBUG), older
# public keys that still verify (base64), where checkpoints are written (empty = VAR_DIR/audit-checkpoints; in
# production storage the database's operator cannot rewrite), and how often beat writes one.
DSR_AUDIT_SIGNING_KEY = env("DSR_AUDIT_SIGNING_KEY", default="")
DSR_AUDIT_VERIFY_KEYS = env.list("DSR_AUDIT_VERIFY_KEYS", default=[])
DSR_AUDIT_CHECKPOINT_DIR = env("DSR_AUDIT_CHECKPOINT_DIR", default="")
DSR_AUDIT_CHECKPOINT_MINUTES = env.int("DSR_AUDIT_CHECKPOINT_MINUTES", default=60)
# Addresses (the DPO's, an auditor's) that get each checkpoint by email as well, its file attached: a copy
# outside every system dsr's operators run. Empty = none.
DSR_AUDIT_CHECKPOINT_EMAILS = env.list("DSR_AUDIT_CHECKPOINT_EMAILS", default=[])
# Purposes that are direct marketing (Art. 21(3)); empty = every purpose with the "marketing" category.
DSR_MARKETING_PURPOSES = env.list("DSR_MARKETING_PURPOSES", default=[])
# A job's runs: attempts before it fails for good, and the first backoff (doubling, at most an hour).
DSR_JOB_MAX_ATTEMPTS = env.int("DSR_JOB_MAX_ATTEMPTS", default=6)
DSR_JOB_RETRY_SECONDS = env.float("DSR_JOB_RETRY_SECONDS", default=30)
# A stage's jobs on sources that touch only their own database run this many to a task, one after another (1: a
# task each, for many workers in front of slow databases).
DSR_JOBS_PER_TASK = env.int("DSR_JOBS_PER_TASK", default=8)
# A running job's lease, renewed every third of it while the job works: a dead worker's job is taken over
# once its lease runs out (the reconciler's next run after it).
DSR_JOB_LEASE_SECONDS = env.int("DSR_JOB_LEASE_SECONDS", default=60)
# How often work waiting for a processor or a person is looked at again.
DSR_JOB_POLL_SECONDS = env.int("DSR_JOB_POLL_SECONDS", default=300)
# A queued job with no progress for this long gets its "go" signal again from the reconciler.
DSR_JOB_DISPATCH_GRACE_SECONDS = env.int("DSR_JOB_DISPATCH_GRACE_SECONDS", default=45)
# How often the reconciler runs (seconds).
DSR_RECONCILE_INTERVAL_SECONDS = env.int("DSR_RECONCILE_INTERVAL_SECONDS", default=30)
# How often each worker hands the "go" signals the web processes recorded to the broker (dsr/signals.py).
DSR_SIGNAL_SWEEP_SECONDS = env.float("DSR_SIGNAL_SWEEP_SECONDS", default=1.0)
# A second filing of the same right, email and details this soon after the first is the first (a client's retry).
DSR_DUPLICATE_FILING_SECONDS = env.int("DSR_DUPLICATE_FILING_SECONDS", default=600)
# Export bundles (dsr/exports/, docs/exports.md). The key seals bundles at rest (AES-256-GCM): 32 random
# bytes in URL-safe base64; empty = derived from SECRET_KEY. Old keys still open bundles sealed with them.
DSR_BUNDLE_KEY = env("DSR_BUNDLE_KEY", default="")
DSR_BUNDLE_KEYS_OLD = env.list("DSR_BUNDLE_KEYS_OLD", default=[])
# Staff preview and release every bundle before the person gets the link.
DSR_BUNDLE_REVIEW = env.bool("DSR_BUNDLE_REVIEW", default=False)
# Days a released bundle is kept before the purge deletes it.
DSR_BUNDLE_RETENTION_DAYS = env.int("DSR_BUNDLE_RETENTION_DAYS", default=30)
# zlib level of the ZIP: 1 is about three times faster than 6 and the files about a sixth larger.
DSR_BUNDLE_COMPRESSLEVEL = env.int("DSR_BUNDLE_COMPRESSLEVEL", default=1)
# An emailed download link: days it works and downloads it allows; new links a person can ask for.
DSR_DOWNLOAD_LINK_DAYS = env.int("DSR_DOWNLOAD_LINK_DAYS", default=14)
DSR_DOWNLOAD_LIMIT = env.int("DSR_DOWNLOAD_LIMIT", default=5)
DSR_DOWNLOAD_REISSUE_RATE = env("DSR_DOWNLOAD_REISSUE_RATE", default="3/day")
# Direct transmission to another controller (GDPR Art. 20(2), dsr/exports/transmission.py): days and downloads
# the receiver's link allows; attempts at its HTTPS endpoint use the webhook settings below. The notice is signed
# per Standard Webhooks with DSR_TRANSMISSION_SIGNING_SECRET (whsec_...; empty = derived from SECRET_KEY).
# DSR_TRANSMISSION_ALLOW_LOCAL lets endpoints on this machine (http://localhost) receive: development and tests.
DSR_TRANSMISSION_LINK_DAYS = env.int("DSR_TRANSMISSION_LINK_DAYS", default=7)
DSR_TRANSMISSION_DOWNLOAD_LIMIT = env.int("DSR_TRANSMISSION_DOWNLOAD_LIMIT", default=3)
DSR_TRANSMISSION_SIGNING_SECRET = env("DSR_TRANSMISSION_SIGNING_SECRET", default="")
DSR_TRANSMISSION_ALLOW_LOCAL = env.bool("DSR_TRANSMISSION_ALLOW_LOCAL", default=False)

# Outbound webhooks (dsr/webhooks.py, docs/webhooks.md): attempts per delivery, first backoff (doubling,
# at most an hour) and the time one attempt may take.
DSR_WEBHOOK_MAX_ATTEMPTS = env.int("DSR_WEBHOOK_MAX_ATTEMPTS", default=8)
DSR_WEBHOOK_RETRY_SECONDS = env.float("DSR_WEBHOOK_RETRY_SECONDS", default=30)
DSR_WEBHOOK_TIMEOUT_SECONDS = env.float("DSR_WEBHOOK_TIMEOUT_SECONDS", default=10)
# Processors' status callbacks (dsr/api/callbacks.py): largest body accepted, and the rate per client address.
DSR_CALLBACK_MAX_BYTES = env.int("DSR_CALLBACK_MAX_BYTES", default=64 * 1024)
DSR_CALLBACK_RATE_PER_IP = env("DSR_CALLBACK_RATE_PER_IP", default="120/minute")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # No emailed link's token in any log line (dsr/logmask.py): paths reach the log in warnings and requests.
    "filters": {"mask_tokens": {"()": "dsr.logmask.TokenMaskFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["mask_tokens"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # runserver's request lines, through the masking handler instead of Django's own.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # django-axes names the username and address of every login at INFO: no personal data in logs.
        "axes": {"level": "WARNING"},
        # WeasyPrint narrates every stylesheet it parses at INFO, on import and on each letter.
        "weasyprint": {"level": "WARNING"},
    },
}

# Retention sweeps (docs/retention.md): how many people one batch (one transaction in the source) covers.
DSR_SWEEP_BATCH_SIZE = env.int("DSR_SWEEP_BATCH_SIZE", default=2000)
