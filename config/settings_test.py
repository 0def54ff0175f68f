"""Test settings: speed and safety overrides only."""

from config.settings import *  # noqa: F401,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SANDBOX_ENABLED = True
SECURE_SSL_REDIRECT = False
