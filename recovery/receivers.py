"""Cache flushes for TenantFlag's tenant lists.

Waffle's own m2m_changed receiver covers only `users` and `groups`; without
this one, a tenant added to a flag's on or off list would not be seen until
the cache entry expired (CACHE TIMEOUT, 300 s by default).
"""

from django.db import transaction
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from recovery.models import TenantFlag


@receiver(m2m_changed, sender=TenantFlag.tenants.through)
@receiver(m2m_changed, sender=TenantFlag.excluded_tenants.through)
def flush_flag_when_tenant_lists_change(sender, instance, action, pk_set, **kwargs):
    """Flush the changed flags' cache entries once the change commits.

    On commit, not at once: flushing inside the transaction would let another
    process re-cache the old lists before the new ones are visible.
    """
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if isinstance(instance, TenantFlag):
        flags = [instance]
    elif pk_set:  # changed from the tenant's side: tenant.flags_on.add(flag)
        flags = list(TenantFlag.objects.filter(pk__in=pk_set))
    else:  # tenant.flags_on.clear() does not say which flags it touched
        flags = list(TenantFlag.objects.all())
    for flag in flags:
        transaction.on_commit(flag.flush)
