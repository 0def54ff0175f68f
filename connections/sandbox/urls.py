"""/sandbox/<platform>/...: each partner module's urlpatterns, at the partner's own relative paths."""

from importlib import import_module

from django.urls import include, path

from connections.sandbox.faults import PLATFORMS
from connections.sandbox.media import media_view

urlpatterns = [path("media/<str:name>", media_view, name="sandbox-media")]

for _platform in PLATFORMS:
    try:
        _module = import_module(f"connections.sandbox.{_platform}")
    except ModuleNotFoundError as exc:  # a partner module not written yet
        if exc.name != f"connections.sandbox.{_platform}":
            raise
        continue
    urlpatterns.append(path(f"{_platform}/", include(_module.urlpatterns)))
