"""/sandbox/<platform>/...: each partner module's urlpatterns, at the partner's own relative paths."""

from importlib import import_module

from django.urls import include, path

from sandbox.faults import PLATFORMS
from sandbox.media import media_view

urlpatterns = [path("media/<str:name>", media_view, name="sandbox-media")]
urlpatterns += [path(f"{platform}/", include(import_module(f"sandbox.{platform}").urlpatterns))
                for platform in PLATFORMS]
