"""Failed sign-ins are throttled (django-axes), per account and per client address, on the product's
sign-in page and the admin's; the user is told, and ops see and lift lockouts in the admin.

Attack: guess a member's password on /accounts/login/ (or /admin/login/) as fast as the server
answers. Before: every guess got the same 200 page, without end. Now: after LOGIN_FAILURE_LIMIT (5)
failures the account is locked (429, a page saying so), whatever address the guesses come from,
and the address is locked whatever account it tries.
"""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.urls import reverse

LOGIN = reverse("login")
ADMIN_LOGIN = reverse("admin:login")
LIMIT = settings.AXES_FAILURE_LIMIT


def sign_in(client, username, password, url=LOGIN, address="203.0.113.7", **extra):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address, **extra)


def fail(client, username, times, **kwargs):
    """`times` wrong passwords; each but a locking one is the sign-in page again, saying it did not match."""
    for _ in range(times):
        response = sign_in(client, username, "wrong-guess", **kwargs)
        assert response.status_code == 429 or b"did not match" in response.content or b"correct username" in response.content


def test_guessing_a_password_locks_the_account_and_says_so(client, member):
    fail(client, "member", LIMIT - 1)
    assert sign_in(client, "member", "wrong-guess").status_code == 429  # the limit-th failure locks

    # The right password does not get in while the account is locked, and the page says why.
    locked = sign_in(client, "member", "correct-horse-battery")
    assert locked.status_code == 429
    page = " ".join(locked.content.decode().split())
    assert "Too many failed sign-ins" in page and f"paused for {settings.AXES_COOLOFF_TIME.seconds // 60} minutes" in page
    assert client.get("/posts/").status_code == 302  # nobody signed in


def test_fewer_failures_than_the_limit_let_the_member_in(client, member):
    fail(client, "member", LIMIT - 1)

    assert sign_in(client, "member", "correct-horse-battery").status_code == 302


def test_the_account_stays_locked_from_another_address(client, member):
    for number in range(LIMIT):
        sign_in(client, "member", "wrong-guess", address=f"198.51.100.{number + 1}")

    assert sign_in(Client(), "member", "correct-horse-battery", address="192.0.2.200").status_code == 429


def test_one_address_guessing_many_accounts_is_locked_for_every_account(client, member, owner):
    for number in range(LIMIT):
        sign_in(client, f"someone-{number}", "wrong-guess")

    assert sign_in(client, "member", "correct-horse-battery").status_code == 429
    # Another address is not locked out for the member.
    assert sign_in(Client(), "member", "correct-horse-battery", address="192.0.2.200").status_code == 302


def test_the_admins_sign_in_is_throttled_too(client, operator):
    fail(client, "operator", LIMIT - 1, url=ADMIN_LOGIN)

    assert sign_in(client, "operator", "wrong-guess", url=ADMIN_LOGIN).status_code == 429
    assert sign_in(client, "operator", "correct-horse-battery", url=ADMIN_LOGIN).status_code == 429


def test_ops_see_the_lockout_in_the_admin_and_lift_it(client, member, operator):
    fail(client, "member", LIMIT)
    ops = Client()
    ops.force_login(operator)

    listing = ops.get(reverse("admin:axes_accessattempt_changelist")).content.decode()
    assert "member" in listing and "203.0.113.7" in listing

    attempt = AccessAttempt.objects.get(username="member")
    assert ops.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"}).status_code == 302
    assert sign_in(client, "member", "correct-horse-battery").status_code == 302


def test_a_forged_forwarded_address_changes_nothing_without_a_trusted_proxy(client, member):
    for number in range(LIMIT):
        sign_in(client, f"someone-{number}", "wrong-guess", HTTP_X_FORWARDED_FOR=f"198.51.100.{number + 1}")

    # Every guess came from 203.0.113.7, whatever the header said: that address is locked.
    assert sign_in(client, "member", "correct-horse-battery", HTTP_X_FORWARDED_FOR="192.0.2.9").status_code == 429


@pytest.mark.parametrize("forged", ["", "192.0.2.66, "])
def test_behind_a_trusted_proxy_each_client_is_counted_at_its_own_address(client, member, settings, forged):
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    settings.AXES_IPWARE_PROXY_COUNT = 0  # TRUSTED_PROXY_COUNT=1: the load balancer appends the client's address
    proxy = "10.0.0.2"
    for number in range(LIMIT):
        sign_in(client, f"someone-{number}", "wrong-guess", address=proxy, HTTP_X_FORWARDED_FOR=f"{forged}198.51.100.1")

    # The guesser (198.51.100.1) is locked; another client behind the same proxy is not, even if the
    # guesser wrote another address first in the header.
    assert sign_in(client, "member", "correct-horse-battery", address=proxy,
                   HTTP_X_FORWARDED_FOR=f"{forged}198.51.100.1").status_code == 429
    assert sign_in(Client(), "member", "correct-horse-battery", address=proxy,
                   HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 302
