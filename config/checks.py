"""Deploy checks: refuse the development-only secrets when DEBUG is off."""

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, Tags, register


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
