from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="connections:posts"), name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("django-rq/", include("django_rq.urls")),
    path("", include("connections.urls", namespace="connections")),
    path("", include("insights.urls", namespace="insights")),  # /ops/... (staff: health, weekly) and /advisor/
    path("webhooks/", include("webhooks.urls", namespace="webhooks")),
]

if settings.SANDBOX_ENABLED:
    urlpatterns += [path("sandbox/", include("sandbox.urls"))]
