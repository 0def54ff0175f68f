"""Signing in: the page a user lands on from every login-required page."""

from django.urls import reverse


def test_the_login_page_renders_and_signs_a_member_in_to_their_posts(client, member):
    page = client.get(reverse("login") + "?next=/posts/")
    assert page.status_code == 200
    assert b"Sign in" in page.content

    response = client.post(
        reverse("login"), {"username": "member", "password": "correct-horse-battery", "next": "/posts/"}
    )

    assert response.status_code == 302 and response["Location"] == "/posts/"
    assert client.get("/posts/").status_code == 200


def test_a_wrong_password_says_so_and_signs_nobody_in(client, member):
    response = client.post(reverse("login"), {"username": "member", "password": "wrong"})

    assert response.status_code == 200
    assert b"did not match" in response.content
    assert client.get("/posts/").status_code == 302


def test_home_sends_an_anonymous_visitor_to_sign_in(client, db):
    response = client.get("/", follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0].startswith(reverse("login"))
