"""A process with DEBUG off refuses to start on a public or weak secret, or with the sandbox on.

Attack: deploy (or restart after an environment mix-up) with SECRET_KEY or TOKEN_ENCRYPTION_KEYS
unset, so the public development values in this repository sign sessions and encrypt partner
tokens, or with SANDBOX_ENABLED on, so fake partners and the demo's public passwords are served.
Before: only `check --deploy` said so; gunicorn, the workers and cron started and ran. Now: each of
them exits at start-up, naming the variable and how to generate a value.
"""

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

from config.startup_checks import GENERATE_FERNET_KEY, GENERATE_SECRET_KEY, insecure_settings
from tests.test_settings import REPO, production_env

GUNICORN = [str(REPO / ".venv" / "bin" / "gunicorn") if (REPO / ".venv" / "bin" / "gunicorn").exists() else "gunicorn"]

# (the Procfile's process, what is insecure, what the refusal must name)
PROCESSES = [
    ([*GUNICORN, "config.wsgi", "--bind", "127.0.0.1:0", "--workers", "1"],
     {"SECRET_KEY": settings.DEV_SECRET_KEY}, "SECRET_KEY: is the public development key"),
    ([sys.executable, "manage.py", "rqworker-pool", "default", "--num-workers", "1"],
     {"TOKEN_ENCRYPTION_KEYS": settings.DEV_TOKEN_ENCRYPTION_KEY}, "TOKEN_ENCRYPTION_KEYS: entry 0 is the public development key"),
    ([sys.executable, "manage.py", "rqworker", "default", "--with-scheduler"],
     {"SECRET_KEY": "too-short-to-sign-anything"}, "SECRET_KEY: is too short"),
    ([sys.executable, "manage.py", "rqcron", "config.cron"],
     {"SANDBOX_ENABLED": "1"}, "SANDBOX_ENABLED: is on"),
]


def run(command, env, timeout=30):
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
@pytest.mark.parametrize("command, insecure, named", PROCESSES, ids=["web", "worker-pool", "worker", "cron"])
def test_each_process_refuses_to_start_with_debug_off(command, insecure, named):
    result = run(command, production_env(**insecure))

    assert result.returncode != 0
    assert named in result.stderr
    remedy = {"SANDBOX_ENABLED": "Unset SANDBOX_ENABLED", "SECRET_KEY": GENERATE_SECRET_KEY,
              "TOKEN_ENCRYPTION_KEYS": GENERATE_FERNET_KEY}[next(iter(insecure))]
    assert remedy in result.stderr


@pytest.mark.slow
def test_a_local_run_with_debug_on_starts_on_the_development_values():
    env = production_env(DEBUG="1", SECRET_KEY=settings.DEV_SECRET_KEY, SANDBOX_ENABLED="1",
                         TOKEN_ENCRYPTION_KEYS=settings.DEV_TOKEN_ENCRYPTION_KEY)

    result = run([sys.executable, "manage.py", "check"], env)

    assert result.returncode == 0, result.stderr


class Settings:
    """Just the values the rules read (the real settings object needs none of the rest)."""

    DEV_SECRET_KEY = settings.DEV_SECRET_KEY
    DEV_TOKEN_ENCRYPTION_KEY = settings.DEV_TOKEN_ENCRYPTION_KEY

    def __init__(self, **values):
        self.SECRET_KEY = values.pop("SECRET_KEY", "k" + os.urandom(40).hex())
        self.TOKEN_ENCRYPTION_KEYS = values.pop("TOKEN_ENCRYPTION_KEYS", [Fernet.generate_key().decode()])
        self.SANDBOX_ENABLED = values.pop("SANDBOX_ENABLED", False)
        self.__dict__.update(values)


def named(**values):
    return [str(found) for found in insecure_settings(Settings(**values))]


def test_production_values_pass():
    assert named() == []


@pytest.mark.parametrize("key, problem", [
    (settings.DEV_SECRET_KEY, "is the public development key"),
    ("django-insecure-" + "x1y2z3" * 10, "is a development key"),
    ("s3cret", "is too short or too plain (6 characters"),
    ("ab" * 30, "is too short or too plain (60 characters, 2 different"),
])
def test_a_public_short_or_plain_secret_key_is_named_with_how_to_generate_one(key, problem):
    (found,) = named(SECRET_KEY=key)
    assert found.startswith(f"SECRET_KEY: {problem}") and GENERATE_SECRET_KEY in found


@pytest.mark.parametrize("keys, problem", [
    ([], "is empty"),
    ([Fernet.generate_key().decode(), settings.DEV_TOKEN_ENCRYPTION_KEY], "entry 1 is the public development key"),
    (["c2hvcnQ="], "entry 0 is not a Fernet key (8 characters"),
    (["MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA="], "entry 0 is not random (1 different byte values"),
])
def test_a_missing_public_short_or_hand_made_token_key_is_named_with_how_to_generate_one(keys, problem):
    (found,) = named(TOKEN_ENCRYPTION_KEYS=keys)
    assert found.startswith(f"TOKEN_ENCRYPTION_KEYS: {problem}") and GENERATE_FERNET_KEY in found


def test_the_development_key_among_the_fallbacks_and_the_sandbox_are_named():
    assert [found.split(":")[0] for found in named(SECRET_KEY_FALLBACKS=[settings.DEV_SECRET_KEY], SANDBOX_ENABLED=True)] == [
        "SECRET_KEY_FALLBACKS", "SANDBOX_ENABLED"]
