"""Media files the sandbox hosts, so connectors that fetch a post's media have something to fetch.

/sandbox/media/<anything>.png|.jpg answers a 1x1 PNG; .mp4 a few bytes labelled video/mp4.
"""

import base64

from django.http import Http404, HttpResponse

_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "mp4": "video/mp4"}


def media_view(request, name: str):
    extension = name.rsplit(".", 1)[-1].lower()
    if extension not in _TYPES:
        raise Http404(name)
    content = _PNG if extension != "mp4" else b"\x00\x00\x00\x18ftypmp42sandbox-video"
    return HttpResponse(content, content_type=_TYPES[extension])
