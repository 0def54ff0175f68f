"""The ops endpoints the README documents answer, and django-rq's pages answer 404 for what does not exist.

- `/django-rq/metrics/` (README, Ops): before, prometheus_client was not installed and the endpoint
  answered 404 to everyone; now django-rq[prometheus] serves RQ's figures in Prometheus's format.
- django-rq's dashboard with a queue, worker or scheduler number or a job id that does not exist
  (`/django-rq/queues/99/`, `/django-rq/queues/0/<no such job>/`): before, IndexError, OverflowError,
  NoSuchJobError or ValueError, a 500; now 404.
"""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(operator):
    client = Client(raise_request_exception=False)
    client.force_login(operator)
    return client


def test_the_metrics_endpoint_serves_rqs_figures_to_staff(staff):
    response = staff.get("/django-rq/metrics/")

    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain")
    assert b"# TYPE rq_workers gauge" in response.content and b"rq_jobs" in response.content


def test_the_metrics_endpoint_takes_the_api_token_and_refuses_anyone_else(settings, db):
    settings.RQ_API_TOKEN = "a-long-random-api-token-for-prometheus"

    assert Client().get("/django-rq/metrics/", HTTP_AUTHORIZATION=f"Bearer {settings.RQ_API_TOKEN}").status_code == 200
    assert Client().get("/django-rq/metrics/", HTTP_AUTHORIZATION="Bearer guessed").status_code == 401
    assert Client().get("/django-rq/metrics/").status_code == 401


@pytest.mark.parametrize("path", [
    "/django-rq/queues/99/",
    "/django-rq/queues/99999999999999999999999/",
    "/django-rq/queues/99/finished/",
    "/django-rq/queues/0/no-such-job/",
    "/django-rq/queues/0/no-such-job/requeue/",
    "/django-rq/queues/0/not%20an%20id!/",
    "/django-rq/workers/99/",
    "/django-rq/schedulers/99/",
    "/admin/django_rq/dashboard/queues/99/empty/",
    "/django-rq/schedulers/0/",
    "/admin/django_rq/dashboard/0/delete/",
    "/admin/django_rq/dashboard/0/change/",
    "/admin/django_rq/dashboard/0/history/",
    "/admin/django_rq/dashboard/0/",
])
def test_django_rq_pages_for_something_that_does_not_exist_answer_404(staff, path):
    assert staff.get(path).status_code == 404


def test_the_admins_rq_dashboard_still_opens(staff):
    assert staff.get("/admin/django_rq/dashboard/").status_code == 200


def test_a_stats_token_of_any_characters_is_refused_not_a_crash(db):
    response = Client(raise_request_exception=False).get("/django-rq/stats.json/\u00e9t\u00e9/")

    assert response.status_code in (401, 404)
