"""What a process with DEBUG off refuses to start with: public or weak secrets, and the sandbox.

`refuse_insecure_start(settings)` runs in ConfigConfig.ready(), so every process refuses alike:
the web (gunicorn config.wsgi), the workers (manage.py rqworker, rqworker-pool), cron (manage.py
rqcron) and any other command, before it serves, works or migrates anything. The deploy check
(config/checks.py, `check --deploy`) lists the same problems.

Refused, each with the variable named and how to make a value:
- SECRET_KEY: the public development key, any `django-insecure-` key, or one shorter than 50
  characters or of fewer than 5 different characters (Django's own bar for security.W009);
  SECRET_KEY_FALLBACKS holding the development key.
- TOKEN_ENCRYPTION_KEYS: empty, holding the public development key, or an entry that is not a
  Fernet key (32 url-safe base64 bytes: anything shorter is refused) or whose 32 bytes are too
  uniform to be random (fewer than 16 different byte values: a hand-made key).
- SANDBOX_ENABLED: the sandbox partners (fake partners, and seed_demo's public passwords).

Local runs set DEBUG=1 and are not checked. The test settings run with DEBUG off and the
development keys on purpose, and say so with ALLOW_DEVELOPMENT_SECRETS (a setting only
config/settings_test.py sets; no environment variable reaches it).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE_CHARACTERS = 5
FERNET_KEY_MIN_UNIQUE_BYTES = 16

GENERATE_SECRET_KEY = (
    "python -c 'from django.core.management.utils import get_random_secret_key; print(get_random_secret_key())'"
)
GENERATE_FERNET_KEY = "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"


@dataclass(frozen=True)
class InsecureSetting:
    """One reason to refuse: the variable, what is wrong with it, and what to do."""

    variable: str
    problem: str
    remedy: str

    def __str__(self):
        return f"{self.variable}: {self.problem} {self.remedy}"


def _secret_key_problem(key: str, dev_key: str) -> str:
    if key == dev_key:
        return "is the public development key."
    if key.startswith("django-insecure"):
        return "is a development key (it starts with 'django-insecure')."
    if len(key) < SECRET_KEY_MIN_LENGTH or len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
        return (f"is too short or too plain ({len(key)} characters, {len(set(key))} different; at least "
                f"{SECRET_KEY_MIN_LENGTH} and {SECRET_KEY_MIN_UNIQUE_CHARACTERS}).")
    return ""


def _fernet_key_problem(key: str, dev_key: str) -> str:
    if key == dev_key:
        return "is the public development key"
    try:
        raw = base64.urlsafe_b64decode(key.encode())
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        return f"is not a Fernet key ({len(key)} characters; a key is 44, 32 url-safe base64 bytes)"
    if len(set(raw)) < FERNET_KEY_MIN_UNIQUE_BYTES:
        return f"is not random ({len(set(raw))} different byte values in 32)"
    return ""


def insecure_settings(settings) -> list[InsecureSetting]:
    """Every reason these settings must not run with DEBUG off (whatever DEBUG is), in a fixed order."""
    found = []
    secret_key_remedy = f"Generate one with `{GENERATE_SECRET_KEY}` and set SECRET_KEY."
    problem = _secret_key_problem(settings.SECRET_KEY, settings.DEV_SECRET_KEY)
    if problem:
        found.append(InsecureSetting("SECRET_KEY", problem, secret_key_remedy))
    if settings.DEV_SECRET_KEY in getattr(settings, "SECRET_KEY_FALLBACKS", []):
        found.append(InsecureSetting("SECRET_KEY_FALLBACKS", "holds the public development key.",
                                     "Remove it: sessions and links it signed must not stay valid."))
    keys_remedy = (f"Generate a key with `{GENERATE_FERNET_KEY}` and set TOKEN_ENCRYPTION_KEYS "
                   "(README: Rotating the token key).")
    if not settings.TOKEN_ENCRYPTION_KEYS:
        found.append(InsecureSetting("TOKEN_ENCRYPTION_KEYS", "is empty.", keys_remedy))
    for index, key in enumerate(settings.TOKEN_ENCRYPTION_KEYS):
        problem = _fernet_key_problem(key, settings.DEV_TOKEN_ENCRYPTION_KEY)
        if problem:
            found.append(InsecureSetting("TOKEN_ENCRYPTION_KEYS", f"entry {index} {problem}.", keys_remedy))
    if settings.SANDBOX_ENABLED:
        found.append(InsecureSetting(
            "SANDBOX_ENABLED", "is on: the sandbox partners and the demo's public passwords are for local runs and tests.",
            "Unset SANDBOX_ENABLED (or set it to 0).",
        ))
    return found


def refuse_insecure_start(settings) -> None:
    """Raise ImproperlyConfigured naming every insecure setting, when DEBUG is off (and the test
    settings did not allow the development secrets)."""
    if settings.DEBUG or getattr(settings, "ALLOW_DEVELOPMENT_SECRETS", False):
        return
    found = insecure_settings(settings)
    if found:
        lines = "\n".join(f"- {item}" for item in found)
        raise ImproperlyConfigured(f"Refusing to start with DEBUG off:\n{lines}")
