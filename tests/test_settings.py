"""Production settings pass Django's deploy checks; the development secrets do not."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet
from django.conf import settings

REPO = Path(__file__).resolve().parent.parent
# Every variable config/settings.py reads that could leak in from the test run's environment.
_INHERITED = ("DEBUG", "SANDBOX_ENABLED", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "PARTNERS_USE_SANDBOX")


def production_env(**overrides):
    env = {key: value for key, value in os.environ.items() if key not in _INHERITED}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        TOKEN_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="app.example.com",
        SITE_URL="https://app.example.com",
        DATABASE_URL=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    )
    env.update(overrides)
    return env


def check_deploy(env):
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_settings_pass_check_deploy():
    result = check_deploy(production_env())

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_refuses_the_development_token_key_even_beside_a_real_one():
    keys = f"{Fernet.generate_key().decode()},{settings.DEV_TOKEN_ENCRYPTION_KEY}"

    result = check_deploy(production_env(TOKEN_ENCRYPTION_KEYS=keys))

    assert result.returncode != 0
    assert "TOKEN_ENCRYPTION_KEYS: entry 1 is the public development key" in result.stderr


def test_check_deploy_refuses_the_development_secret_key_and_the_sandbox():
    result = check_deploy(production_env(SECRET_KEY=settings.DEV_SECRET_KEY, SANDBOX_ENABLED="1"))

    assert result.returncode != 0
    assert "SECRET_KEY: is the public development key" in result.stderr
    assert "SANDBOX_ENABLED: is on" in result.stderr
    assert "TOKEN_ENCRYPTION_KEYS" not in result.stderr


def test_check_deploy_with_debug_on_lists_what_a_production_process_would_refuse():
    result = check_deploy(production_env(DEBUG="1", SECRET_KEY=settings.DEV_SECRET_KEY, SANDBOX_ENABLED="1",
                                         TOKEN_ENCRYPTION_KEYS=settings.DEV_TOKEN_ENCRYPTION_KEY))

    assert result.returncode != 0
    for check_id in ("config.E001", "config.E002", "config.E003"):
        assert check_id in result.stderr


def test_the_readme_documents_every_environment_variable_the_settings_read():
    settings_source = (REPO / "config" / "settings.py").read_text()
    names = set(re.findall(r'env_(?:str|bool|int|list)\(\s*"([A-Z0-9_]+)"', settings_source))
    readme = (REPO / "README.md").read_text()

    assert names  # the pattern still finds them
    assert sorted(name for name in names if f"`{name}`" not in readme) == []
