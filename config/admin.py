"""The admin's django-rq dashboard without the pages that cannot work.

django-rq registers its dashboard as a ModelAdmin of a model without a table (Dashboard), so Django
adds the object pages every ModelAdmin has (`<id>/change/`, `<id>/delete/`, `<id>/history/`); each
queries the missing table and answers 500. They are left out here, so those URLs are 404 like any
other that does not exist; the dashboard's own pages stay as django-rq makes them.
"""

from django.contrib import admin
from django_rq.admin import QueueAdmin
from django_rq.models import Dashboard

_OBJECT_PAGES = ("change", "delete", "history")


class DashboardAdmin(QueueAdmin):
    def get_urls(self):
        object_names = {f"{self.opts.app_label}_{self.opts.model_name}_{page}" for page in _OBJECT_PAGES}
        return [
            url for url in super().get_urls()
            if url.name not in object_names and not str(url.pattern).startswith("<path:object_id>")
        ]


if admin.site.is_registered(Dashboard):
    admin.site.unregister(Dashboard)
    admin.site.register(Dashboard, DashboardAdmin)
