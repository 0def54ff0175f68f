"""Settings, all from the environment (see README "Configuration").

Defaults serve the one-command local run (SQLite, a local Redis); production
sets DEBUG=0 and real values, and `manage.py check --deploy` then reports
nothing.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str
from config.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)

# The insecure defaults exist only so a developer can start with no setup; with DEBUG off
# every process refuses to start with them (config/startup_checks.py).
DEV_SECRET_KEY = "django-insecure-local-development-only-key-do-not-deploy"
# A Fernet key that is public by being here: local runs and tests only.
DEV_TOKEN_ENCRYPTION_KEY = "bG9jYWwtZGV2LW9ubHktdG9rZW4ta2V5LTMyYnl0ZXM="

SECRET_KEY = env_str("SECRET_KEY", DEV_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Comma-separated Fernet keys: the first encrypts, all decrypt (rotation).
TOKEN_ENCRYPTION_KEYS = env_list("TOKEN_ENCRYPTION_KEYS", [DEV_TOKEN_ENCRYPTION_KEY])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "config",  # before django_rq: its rqcron command (JSON start-up lines) replaces django-rq's
    "django_rq",
    "waffle",
    "axes",
    "connections",
    "recovery",
    "webhooks",
    "insights",
    "sandbox",  # the sandbox partners; its URLs mount only when SANDBOX_ENABLED
]

MIDDLEWARE = [
    "config.request_logs.RequestLogMiddleware",  # first: every line of the request carries its requestId
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.DebugNotFoundPageMiddleware",
    "config.middleware.RefuseNulBytesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "waffle.middleware.WaffleMiddleware",
    "config.middleware.DjangoRQNotFoundMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

# Error reports (the DEBUG pages, mailed and logged 500s) mask every secret, DEBUG on or off.
DEFAULT_EXCEPTION_REPORTER = "config.error_reports.RedactingExceptionReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.error_reports.RedactingExceptionReporterFilter"

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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "connections.context_processors.attention",  # the workspace and the channels banner
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The local run's SQLite is written by the web server, a threaded worker and cron at once: take the
    # write lock when a transaction starts (no upgrade deadlock), wait for it rather than fail at once,
    # and let readers go on while one writes (WAL).
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

# One Redis cache shared by web and worker processes: waffle's flag cache must
# be the same in both, so a flag change in the admin reaches workers.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "cr",
        "TIMEOUT": env_int("CACHE_TIMEOUT", 300),
    }
}

RQ_QUEUES = {
    name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 120}
    for name in ("default", "publish", "webhooks", "pings")
}
# Every worker process runs RQ_WORKER_THREADS RQ workers, one partner call in flight each (recovery/worker.py);
# every job enqueued carries the request and cycle ids of what enqueued it (recovery.worker.RecoveryQueue).
RQ = {"WORKER_CLASS": "recovery.worker.ThreadedRecoveryWorker", "QUEUE_CLASS": "recovery.worker.RecoveryQueue"}
RQ_WORKER_THREADS = env_int("RQ_WORKER_THREADS", 32)
# A running job's heartbeat in RQ's StartedJobRegistry lasts this long; its worker renews it every third of
# it while the process lives (recovery/worker.py), so a job whose heartbeat ran out lost its worker.
RQ_JOB_HEARTBEAT_TTL_S = env_int("RQ_JOB_HEARTBEAT_TTL_S", 15)
if RQ_JOB_HEARTBEAT_TTL_S < 2:
    raise ImproperlyConfigured("RQ_JOB_HEARTBEAT_TTL_S must be at least 2 (seconds).")
RQ_SHOW_ADMIN_LINK = True
RQ_API_TOKEN = env_str("RQ_API_TOKEN", "")

# The publishing pipeline (docs/pipeline.md). A publish job is killed at its
# timeout; a post left "publishing" past the lease has lost its job (a killed
# worker) and the sweeper takes it over, so the lease must exceed the longest a
# job can run (PUBLISH_LEASE_S, below the partner timeouts).
PUBLISH_JOB_TIMEOUT_S = env_int("PUBLISH_JOB_TIMEOUT_S", 60)
PUBLISH_DUE_INTERVAL_S = env_int("PUBLISH_DUE_INTERVAL_S", 10)  # cron: enqueue posts that came due
PUBLISH_SWEEP_INTERVAL_S = env_int("PUBLISH_SWEEP_INTERVAL_S", 30)  # cron: recover abandoned and lost jobs
# cron: fail the publish jobs whose heartbeat ran out (their worker died) and recover their posts at once.
PUBLISH_ABANDONED_CHECK_INTERVAL_S = env_int("PUBLISH_ABANDONED_CHECK_INTERVAL_S", 5)
# A scheduled post whose planned run is this far in the past lost its job (Redis lost it): enqueue again.
PUBLISH_LOST_JOB_GRACE_S = env_int("PUBLISH_LOST_JOB_GRACE_S", 900)
# The due-post enqueuer takes at most this many posts of one tenant per run (fairness between tenants).
PUBLISH_ENQUEUE_PER_TENANT = env_int("PUBLISH_ENQUEUE_PER_TENANT", 100)
# ...in batches of about this many posts (one transaction and one Redis round trip each), until
# nothing is due or this many seconds have passed (the next run resumes where it stopped).
PUBLISH_ENQUEUE_BATCH = env_int("PUBLISH_ENQUEUE_BATCH", 1000)
PUBLISH_ENQUEUE_BUDGET_S = env_int("PUBLISH_ENQUEUE_BUDGET_S", max(1, PUBLISH_DUE_INTERVAL_S - 2))
# At most this many publish jobs of one tenant queued or running at once (RQ RateLimit): tenant isolation.
PUBLISH_TENANT_CONCURRENCY = env_int("PUBLISH_TENANT_CONCURRENCY", 2)
# Token buckets (recovery/policies/rate_limit.py): per (tenant, platform) and per platform for the app.
# capacity = burst, per_second = refill. From the partners' documented limits (partners.md).
PUBLISH_RATE_LIMITS = {
    # Graph API: app limit scales with users; Pages BUC limits per Page.
    "meta": {"tenant": {"capacity": 10, "per_second": 1.0}, "app": {"capacity": 100, "per_second": 20.0}},
    # Daily per-member and per-app limits, reset at midnight UTC.
    "linkedin": {"tenant": {"capacity": 5, "per_second": 0.2}, "app": {"capacity": 50, "per_second": 5.0}},
    # Post init: 6 a minute per token.
    "tiktok": {"tenant": {"capacity": 6, "per_second": 0.1}, "app": {"capacity": 60, "per_second": 5.0}},
    # 300 QPM per project; 10 edits a minute per profile.
    "gbp": {"tenant": {"capacity": 10, "per_second": 10 / 60}, "app": {"capacity": 50, "per_second": 5.0}},
    # 10 simultaneous connections per user (not a rate): a modest rate keeps under it.
    "mailchimp": {"tenant": {"capacity": 10, "per_second": 2.0}, "app": {"capacity": 100, "per_second": 20.0}},
    "default": {"tenant": {"capacity": 5, "per_second": 1.0}, "app": {"capacity": 50, "per_second": 10.0}},
}
# Meta usage headers (recovery/policies/usage_throttle.py): past threshold_pct, stop calling.
USAGE_THROTTLE = {"threshold_pct": 90, "app_backoff_s": 300, "min_backoff_s": 60}
# Circuit breaker per connection (recovery/policies/circuit_breaker.py).
CIRCUIT_BREAKER = {
    "failures": env_int("BREAKER_FAILURES", 5),  # partner-down failures within window_s open it
    "window_s": env_int("BREAKER_WINDOW_S", 120),
    "cooldown_s": env_int("BREAKER_COOLDOWN_S", 60),  # open this long, then one probe
    "probe_timeout_s": PUBLISH_JOB_TIMEOUT_S + 10,  # a probe that never reports frees its slot
}

# Synthetic pings (recovery/pings.py, docs/pings-and-tokens.md): each connection's next ping is drawn
# uniformly from [PING_MIN_INTERVAL_S, PING_MAX_INTERVAL_S] after the last one, so pings never come in
# waves; a cron tick every PING_TICK_INTERVAL_S enqueues the due ones, PING_TICK_BATCH rows a statement,
# at most PING_TICK_LIMIT a tick (the rest are the next tick's, oldest first).
PING_MIN_INTERVAL_S = env_int("PING_MIN_INTERVAL_S", 3 * 3600)
PING_MAX_INTERVAL_S = env_int("PING_MAX_INTERVAL_S", 6 * 3600)
PING_TICK_INTERVAL_S = env_int("PING_TICK_INTERVAL_S", 60)
PING_TICK_BATCH = env_int("PING_TICK_BATCH", 1000)
PING_TICK_LIMIT = env_int("PING_TICK_LIMIT", 20000)
PING_JOB_TIMEOUT_S = env_int("PING_JOB_TIMEOUT_S", 60)
# A connection whose pings failed this many times in a row (transient failures) is critical, not warning.
PING_CRITICAL_AFTER = env_int("PING_CRITICAL_AFTER", 3)
if not 0 < PING_MIN_INTERVAL_S <= PING_MAX_INTERVAL_S:
    raise ImproperlyConfigured("PING_MIN_INTERVAL_S must be positive and at most PING_MAX_INTERVAL_S.")
# Token upkeep (recovery/token_upkeep.py): a cron tick every TOKEN_REFRESH_TICK_S refreshes the tokens
# about to expire (each partner's rule); a refresh that failed for a transient reason is tried again
# TOKEN_REFRESH_RETRY_S later. Every TOKEN_NOTICE_INTERVAL_S the users of connections that will need
# them within 7 days are told, once per connection and expiry.
TOKEN_REFRESH_TICK_S = env_int("TOKEN_REFRESH_TICK_S", 60)
TOKEN_REFRESH_RETRY_S = env_int("TOKEN_REFRESH_RETRY_S", 300)
TOKEN_NOTICE_INTERVAL_S = env_int("TOKEN_NOTICE_INTERVAL_S", 3600)

# Mail to tenants' owners and admins (recovery/notifications.py: a channel paused and back, a sign-in ending,
# the weekly summary): the console locally, SMTP (EMAIL_HOST...) in production.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Connection recovery <no-reply@localhost>")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

# Failed sign-ins (django-axes, on the product's login and the admin's): after LOGIN_FAILURE_LIMIT
# failures within LOGIN_LOCKOUT_MINUTES, the account is locked, and so is the client address (each
# on its own), for LOGIN_LOCKOUT_MINUTES; the page says so (429). Ops see and lift lockouts in the
# admin (Axes: access attempts). Behind proxies, TRUSTED_PROXY_COUNT says how many append to
# X-Forwarded-For, so the client's address is read from it (and a forged one is ignored).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_CALLABLE = "config.views.login_locked_out"
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # a lockout ends when it said it would
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if TRUSTED_PROXY_COUNT else ("REMOTE_ADDR",)
# python-ipware counts the proxies after the client in X-Forwarded-For: the nearest one is REMOTE_ADDR.
AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT - 1 if TRUSTED_PROXY_COUNT else None
IPWARE_STRICT = False  # a client that sends its own X-Forwarded-For is read at its real place, not dropped

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Feature flags: our per-tenant flag model (must be set before the first migration).
WAFFLE_FLAG_MODEL = "recovery.TenantFlag"
WAFFLE_CREATE_MISSING_FLAGS = False
WAFFLE_FLAG_DEFAULT = False

# The sandbox partners (sandbox): on for local runs and tests only.
SANDBOX_ENABLED = env_bool("SANDBOX_ENABLED", default=DEBUG)
# Where the app itself is reachable (used to build the sandbox base URLs).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")
# Connectors talk to f"{SITE_URL}/sandbox/<platform>" instead of the partner's
# hosts when this and SANDBOX_ENABLED are both on (connections.platforms.base.partner_base_url).
PARTNERS_USE_SANDBOX = env_bool("PARTNERS_USE_SANDBOX", default=SANDBOX_ENABLED)
# The redirect URIs registered for our app at each sandbox partner: its consent page refuses any other,
# as the partners do. "{platform}" stands for the partner (meta, linkedin...); a path is on SITE_URL.
# The product's connect and reconnect callbacks must be listed here (and at the real partners).
SANDBOX_REDIRECT_URIS = env_list("SANDBOX_REDIRECT_URIS", ["/channels/reconnect/callback/"])

# Partner hosts: the real ones. One setting per host a connector calls.
META_API_BASE = env_str("META_API_BASE", "https://graph.facebook.com")
META_OAUTH_BASE = env_str("META_OAUTH_BASE", "https://www.facebook.com")  # the Login dialog
META_VIDEO_BASE = env_str("META_VIDEO_BASE", "https://graph-video.facebook.com")  # Page video uploads
# API versions: empty means the registry's current one (connections/platforms/versions.py,
# docs/partners/versions.md); set one only to pin another. `manage.py check` warns 90 days
# before the version in use is retired and errs once it is.
META_API_VERSION = env_str("META_API_VERSION", "")
LINKEDIN_API_BASE = env_str("LINKEDIN_API_BASE", "https://api.linkedin.com")
LINKEDIN_OAUTH_BASE = env_str("LINKEDIN_OAUTH_BASE", "https://www.linkedin.com")
LINKEDIN_API_VERSION = env_str("LINKEDIN_API_VERSION", "")  # the LinkedIn-Version header (YYYYMM[.RR])
TIKTOK_API_BASE = env_str("TIKTOK_API_BASE", "https://open.tiktokapis.com")
TIKTOK_OAUTH_BASE = env_str("TIKTOK_OAUTH_BASE", "https://www.tiktok.com")
GBP_API_BASE = env_str("GBP_API_BASE", "https://mybusiness.googleapis.com")
GBP_OAUTH_BASE = env_str("GBP_OAUTH_BASE", "https://accounts.google.com")
GBP_TOKEN_BASE = env_str("GBP_TOKEN_BASE", "https://oauth2.googleapis.com")
# Accounts and location names moved off v4 to these two APIs (v4 still hosts localPosts).
GBP_ACCOUNTS_BASE = env_str("GBP_ACCOUNTS_BASE", "https://mybusinessaccountmanagement.googleapis.com")
GBP_INFO_BASE = env_str("GBP_INFO_BASE", "https://mybusinessbusinessinformation.googleapis.com")
# Each Mailchimp account lives in one datacenter: {dc} is filled in from its OAuth metadata (us19...).
MAILCHIMP_API_BASE = env_str("MAILCHIMP_API_BASE", "https://{dc}.api.mailchimp.com")
MAILCHIMP_OAUTH_BASE = env_str("MAILCHIMP_OAUTH_BASE", "https://login.mailchimp.com")

# Our app's credentials at each partner. The defaults are for local runs and
# tests against the sandbox partners only; production sets real ones.
META_APP_ID = env_str("META_APP_ID", "100000000000001")
META_APP_SECRET = env_str("META_APP_SECRET", "dev-meta-app-secret")
LINKEDIN_CLIENT_ID = env_str("LINKEDIN_CLIENT_ID", "dev-linkedin-client")
LINKEDIN_CLIENT_SECRET = env_str("LINKEDIN_CLIENT_SECRET", "dev-linkedin-secret")
TIKTOK_CLIENT_KEY = env_str("TIKTOK_CLIENT_KEY", "devtiktokclientkey")
TIKTOK_CLIENT_SECRET = env_str("TIKTOK_CLIENT_SECRET", "dev-tiktok-secret")
GBP_CLIENT_ID = env_str("GBP_CLIENT_ID", "dev-gbp-client.apps.googleusercontent.com")
GBP_CLIENT_SECRET = env_str("GBP_CLIENT_SECRET", "dev-gbp-secret")
MAILCHIMP_CLIENT_ID = env_str("MAILCHIMP_CLIENT_ID", "dev-mailchimp-client")
MAILCHIMP_CLIENT_SECRET = env_str("MAILCHIMP_CLIENT_SECRET", "dev-mailchimp-secret")

# Partner webhooks (webhooks/, docs/webhooks.md). Meta, LinkedIn and TikTok sign with the app
# credentials above; these are the receivers' own secrets and limits.
META_VERIFY_TOKEN = env_str("META_VERIFY_TOKEN", "dev-meta-verify-token")  # Meta's hub.verify_token handshake
# Google Business Profile notifications come as Cloud Pub/Sub pushes with an OIDC token: its audience
# (empty: the push endpoint's URL, {SITE_URL}/webhooks/gbp/, Pub/Sub's default) and the push
# subscription's service account (empty: every push is refused, except the sandbox partner's own
# when the connectors use the sandbox). Google's signing keys are read from GBP_CERTS_BASE.
GBP_PUBSUB_AUDIENCE = env_str("GBP_PUBSUB_AUDIENCE", "")
GBP_PUBSUB_SERVICE_ACCOUNT = env_str("GBP_PUBSUB_SERVICE_ACCOUNT", "")
GBP_CERTS_BASE = env_str("GBP_CERTS_BASE", "https://www.googleapis.com")  # /oauth2/v3/certs: the JWKS
# Mailchimp signs nothing: the secret is the last segment of the URL it posts to.
MAILCHIMP_WEBHOOK_SECRET = env_str("MAILCHIMP_WEBHOOK_SECRET", "dev-mailchimp-webhook-secret")
WEBHOOK_MAX_BODY_BYTES = env_int("WEBHOOK_MAX_BODY_BYTES", 5 * 1024 * 1024)  # larger: 413, before reading it
WEBHOOK_TIMESTAMP_TOLERANCE_S = env_int("WEBHOOK_TIMESTAMP_TOLERANCE_S", 300)  # TikTok's signed timestamp
WEBHOOK_SWEEP_INTERVAL_S = env_int("WEBHOOK_SWEEP_INTERVAL_S", 30)  # cron: re-enqueue events whose job was lost
# An event still unprocessed this long after it arrived (or after its retry was due) has its job checked.
WEBHOOK_SWEEP_GRACE_S = env_int("WEBHOOK_SWEEP_GRACE_S", 30)

# Partner HTTP: (connect, read) timeouts of every connector's Session, in seconds.
PARTNER_CONNECT_TIMEOUT_S = env_int("PARTNER_CONNECT_TIMEOUT_S", 5)
PARTNER_READ_TIMEOUT_S = env_int("PARTNER_READ_TIMEOUT_S", 20)
# A job in a worker thread (recovery/worker.py) gets its timeout when it next runs Python: at
# most one partner read after the job timeout. Defaults recover a killed job within
# 60 + 20 + 10 + 30 (sweep interval) s = 2 min.
PUBLISH_LEASE_S = env_int("PUBLISH_LEASE_S", PUBLISH_JOB_TIMEOUT_S + PARTNER_READ_TIMEOUT_S + 10)
# The sandbox's "timeout" fault sleeps past the read timeout, but never longer than this.
SANDBOX_MAX_SLEEP_S = env_int("SANDBOX_MAX_SLEEP_S", 30)

# Security: safe defaults when DEBUG is off; check --deploy reports nothing.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

SENTRY_DSN = env_str("SENTRY_DSN", "")

# Metrics (config/metrics.py): DogStatsD to the Datadog agent; empty host: nothing is sent.
STATSD_HOST = env_str("STATSD_HOST", "")
STATSD_PORT = env_int("STATSD_PORT", 8125)
METRICS_ENV = env_str("METRICS_ENV", "dev" if DEBUG else "production")
# cron: the periodic gauges (DLQ size and age, queue depth and oldest wait, paused connections, token expiries).
HEALTH_GAUGES_INTERVAL_S = env_int("HEALTH_GAUGES_INTERVAL_S", 60)
# cron: the weekly summary and the Advisor (insights/weekly.py), in cron syntax, UTC: Mondays 03:00 by default,
# the week that ended at Monday 00:00. A build reads every tenant's week in one pass; its job may take this long.
WEEKLY_SUMMARY_CRON = env_str("WEEKLY_SUMMARY_CRON", "0 3 * * 1")
WEEKLY_SUMMARY_JOB_TIMEOUT_S = env_int("WEEKLY_SUMMARY_JOB_TIMEOUT_S", 1800)

# Logs (config/logs.py): one JSON object a line on stderr, in web, worker and cron processes alike,
# with requestId / cycleId and the connection in hand, every secret masked by a filter on the handler.
LOGGING_CONFIG = "config.logs.configure_logging"
LOGGING = logging_config(level=env_str("LOG_LEVEL", "INFO"))

# Errors to people (config/sentry.py): on only when SENTRY_DSN is set; masks tokens before sending.
from config.sentry import init_sentry  # noqa: E402

init_sentry(SENTRY_DSN, environment=env_str("SENTRY_ENVIRONMENT", "development" if DEBUG else "production"))
