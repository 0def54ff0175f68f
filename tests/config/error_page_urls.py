"""A URLconf for tests/config/test_error_pages.py: the product's URLs and views that fail with a token in hand."""

from django.urls import path

from config.urls import urlpatterns as product_urlpatterns


def fails_with_the_token_in_hand(request):
    """A view that fails while it holds the token it was sent (as a connector's caller might)."""
    access_token = request.GET.get("access_token", "")
    bearer = request.headers.get("Authorization", "")
    partner_reply = {"error": {"message": f"Invalid OAuth access token - Cannot parse access token: {access_token}"}}
    raise ValueError(f"partner refused {access_token!r} ({bearer}): {partner_reply}")


urlpatterns = [path("fails/", fails_with_the_token_in_hand), *product_urlpatterns]
