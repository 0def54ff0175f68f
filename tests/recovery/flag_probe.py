"""A job and a page that report the rollout flags, so tests can compare a worker's answer with a request's.

The page answers three ways (our helper, waffle's flag_is_active, waffle's
{% flag %} tag), all of which must agree for a user of a tenant.
"""

from django.http import JsonResponse
from django.template import engines
from django.urls import path
from waffle import flag_is_active

from recovery.flags import ALL_FLAGS, flag_is_on_for_request, flag_is_on_for_tenant

_TAGS = engines["django"].from_string(
    "{% load waffle_tags %}"
    + "".join(f"{{% flag '{name}' %}}{name}=on;{{% else %}}{name}=off;{{% endflag %}}" for name in ALL_FLAGS)
)


def read_flags_job(tenant_id):
    """An RQ job: every flag's value for the tenant, as a job sees it."""
    return {name: flag_is_on_for_tenant(name, tenant_id) for name in ALL_FLAGS}


def flags_page(request):
    tags = dict(item.split("=") for item in _TAGS.render({}, request).strip(";").split(";"))
    return JsonResponse(
        {
            "helper": {name: flag_is_on_for_request(request, name) for name in ALL_FLAGS},
            "waffle": {name: bool(flag_is_active(request, name)) for name in ALL_FLAGS},
            "tag": {name: tags[name] == "on" for name in ALL_FLAGS},
        }
    )


urlpatterns = [path("flags-probe/", flags_page)]
