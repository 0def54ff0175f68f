"""System checks: refuse the development-only secrets when DEBUG is off, and the partner API
versions in use that are retired or about to be."""

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.utils import timezone

from connections.platforms import versions


@register(Tags.security, deploy=True)
def check_production_secrets(app_configs, **kwargs):
    errors = []
    if settings.SECRET_KEY == settings.DEV_SECRET_KEY:
        errors.append(Error("SECRET_KEY is the development key.", hint="Set SECRET_KEY.", id="config.E001"))
    if settings.DEV_TOKEN_ENCRYPTION_KEY in settings.TOKEN_ENCRYPTION_KEYS:
        errors.append(
            Error(
                "TOKEN_ENCRYPTION_KEYS holds the development key.",
                hint="Generate one with `python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`.",
                id="config.E002",
            )
        )
    if settings.SANDBOX_ENABLED:
        errors.append(Error("SANDBOX_ENABLED is on.", hint="Unset SANDBOX_ENABLED in production.", id="config.E003"))
    return errors


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
