"""Test settings: speed and safety overrides only."""

from config.settings import *  # noqa: F401,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SANDBOX_ENABLED = True
SECURE_SSL_REDIRECT = False
# Tests do not run collectstatic: the manifest storage would fail every admin page.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
# Live-server threads would hold pooled connections open and delay dropping the test database.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# Serve static files from the apps' folders (no collectstatic in tests), as DEBUG does.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
