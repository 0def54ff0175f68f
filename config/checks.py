"""System checks: the development-only secrets and the sandbox (`check --deploy`; a process with
DEBUG off refuses to start with them, config/startup_checks.py), and the partner API versions in
use that are retired or about to be."""

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.utils import timezone

from config.startup_checks import insecure_settings
from connections.platforms import versions

# One id per variable, as the deploy check has always reported them.
_INSECURE_SETTING_IDS = {"SECRET_KEY": "config.E001", "SECRET_KEY_FALLBACKS": "config.E001",
                         "TOKEN_ENCRYPTION_KEYS": "config.E002", "SANDBOX_ENABLED": "config.E003"}


@register(Tags.security, deploy=True)
def check_production_secrets(app_configs, **kwargs):
    """What a process with DEBUG off refuses to start with (config/startup_checks.py), as deploy-check errors."""
    return [
        Error(f"{found.variable} {found.problem}", hint=found.remedy, id=_INSECURE_SETTING_IDS[found.variable])
        for found in insecure_settings(settings)
    ]


@register(Tags.security)
def check_token_keys_are_valid(app_configs, **kwargs):
    errors = []
    if not settings.TOKEN_ENCRYPTION_KEYS:
        errors.append(Error("TOKEN_ENCRYPTION_KEYS is empty.", id="config.E004"))
    for index, key in enumerate(settings.TOKEN_ENCRYPTION_KEYS):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            errors.append(Error(f"TOKEN_ENCRYPTION_KEYS entry {index} is not a Fernet key.", id="config.E005"))
    return errors


@register()
def check_partner_api_versions(app_configs, **kwargs):
    """Each partner API version in use (connections/platforms/versions.py):
    - config.W010: retired within versions.WARN_DAYS (90) days;
    - config.E010: retired, or not a version the partner has (every LinkedIn call fails with 426;
      Meta silently serves the call as another version).
    """
    today = timezone.now().date()
    messages = []
    for state in versions.problems_in_use(today):
        kind, check_id = (Warning, "config.W010") if state.status is versions.Status.RETIRING else (Error, "config.E010")
        messages.append(kind(state.summary(today), hint=state.hint(), id=check_id))
    return messages
