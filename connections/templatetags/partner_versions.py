"""{% partner_version_notes %}: the admin index's note on partner API versions in use that are
retired or retire within 90 days (the same findings as the config.W010 / config.E010 checks)."""

from django import template
from django.utils import timezone

from connections.platforms import versions

register = template.Library()


@register.inclusion_tag("admin/partner_version_notes.html")
def partner_version_notes():
    today = timezone.now().date()
    notes = [{"level": "warning" if state.status is versions.Status.RETIRING else "error",
              "text": state.summary(today), "source": state.source}
             for state in versions.problems_in_use(today)]
    return {"notes": notes}
