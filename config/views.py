"""Pages of the project as a whole (not of one app)."""

from math import ceil

from django.conf import settings
from django.shortcuts import render


def login_locked_out(request, original_response=None, credentials=None):
    """django-axes' answer to a sign-in while the account or the address is locked out
    (AXES_LOCKOUT_CALLABLE): the product's page, 429 Too Many Requests, saying for how long."""
    minutes = ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": minutes}
    return render(request, "registration/locked_out.html", context, status=429)
