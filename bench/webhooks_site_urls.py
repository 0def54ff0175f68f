"""The product's URLs and one bare view (/bare/: read the body, answer 200), served by the same server."""

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as product_urlpatterns


@csrf_exempt
def bare(request):
    request.body  # noqa: B018  the same bytes cross the wire and are read, as a receiver reads them
    return HttpResponse(status=200)


urlpatterns = [path("bare/", bare), *product_urlpatterns]
