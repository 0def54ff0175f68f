"""The sandbox framework: tokens, faults (Python, command, admin), the consent page, mounting."""

import hashlib
import importlib
from io import StringIO

import pytest
import requests
from django.core.management import call_command
from django.urls import clear_url_caches

from connections.platforms.base import PartnerError, get_connector, partner_base_url
from recovery.failures import classify_failure
from sandbox import faults
from sandbox.bridge import link_to_sandbox
from sandbox.models import SandboxAccount, SandboxFault, SandboxRequest, SandboxToken
from tests.factories import ConnectionFactory
from tests.sandbox.sandbox_helpers import consent_page, linked_connection


@pytest.fixture
def acct(db):
    return SandboxAccount.objects.create(platform="meta", account_id="42", name="Page", account_type="facebook_page")


def test_issued_tokens_are_stored_only_as_sha256(db):
    connection = linked_connection("linkedin", external_account_id="m-9")
    stored = set(SandboxToken.objects.values_list("token_hash", flat=True))
    assert stored == {hashlib.sha256(connection.access_token.encode()).hexdigest(),
                      hashlib.sha256(connection.refresh_token.encode()).hexdigest()}
    assert connection.granted_scopes == ["openid", "profile", "email", "w_member_social"]
    assert connection.token_expires_at and connection.refresh_token_expires_at


@pytest.mark.parametrize("args, params, message", [
    (("myspace", faults.EXPIRE_TOKEN), {}, "Unknown platform"),
    (("meta", "melt_down"), {}, "Unknown fault kind"),
    (("meta", faults.REMOVE_SCOPE), {}, "needs scope"),
    (("meta", faults.LATENCY), {"ms": 5, "jitter": 1}, "takes no param jitter"),
    (("meta", faults.EXPIRE_TOKEN, "no-such-account"), {}, "No sandbox meta account"),
])
def test_set_fault_refuses_what_is_not_a_fault(db, args, params, message):
    with pytest.raises(faults.FaultError, match=message):
        faults.set_fault(*args, **params)


def test_clear_faults_by_account_platform_or_all(acct):
    faults.set_fault("meta", faults.EXPIRE_TOKEN, account_id="42")
    faults.set_fault("meta", faults.SERVER_ERROR, status=502)
    faults.set_fault("tiktok", faults.RATE_LIMIT)
    assert faults.clear_faults("meta", account_id="42") == 1
    assert [f.kind for f in faults.list_faults()] == [faults.SERVER_ERROR, faults.RATE_LIMIT]
    assert faults.clear_faults("meta") == 1
    assert faults.clear_faults() == 1


def test_a_platform_fault_hits_every_account(sandbox):
    first = linked_connection("meta", account_type="facebook_page", external_account_id="501")
    second = linked_connection("meta", account_type="facebook_page", external_account_id="502")
    faults.set_fault("meta", faults.RESTRICT_ACCOUNT)
    for connection in (first, second):
        with pytest.raises(PartnerError) as caught:
            get_connector(connection).ping()
        assert caught.value.body["error"]["error_subcode"] == 459


def test_token_faults_spare_tokens_issued_after_them(sandbox):
    connection = linked_connection("meta", account_type="facebook_page", external_account_id="503")
    old_token = connection.access_token
    faults.set_fault("meta", faults.REVOKE_TOKEN, account_id="503")
    link_to_sandbox(connection)  # the user reconnected: a fresh token

    assert get_connector(connection).ping().account_id == "503"
    connection.access_token = old_token
    with pytest.raises(PartnerError) as caught:
        get_connector(connection).ping()
    assert classify_failure(caught.value).code.value == "AUTH_REVOKED"


def test_an_account_flagged_deleted_answers_not_found(sandbox):
    connection = linked_connection("meta", account_type="facebook_page", external_account_id="504")
    SandboxAccount.objects.filter(account_id="504").update(deleted=True)
    with pytest.raises(PartnerError) as caught:
        get_connector(connection).ping()
    assert classify_failure(caught.value).code.value == "RESOURCE_NOT_FOUND"


def test_request_log_names_the_fault_that_answered(sandbox):
    connection = linked_connection("tiktok", external_account_id="-000x")
    faults.set_fault("tiktok", faults.SERVER_ERROR, account_id="-000x", status=502, count=1)
    with pytest.raises(PartnerError):
        get_connector(connection).ping()
    get_connector(connection).ping()
    assert list(SandboxRequest.objects.values_list("status", "fault")) == [(502, "server_error"), (200, "")]


def test_management_command_sets_lists_and_clears(acct):
    out = StringIO()
    call_command("sandbox_fault", "set", "meta", "rate_limit", "--account", "42", "--param", "usage=business",
                 "--param", "regain_minutes=19", "--count", "2", stdout=out)
    fault = SandboxFault.objects.get()
    assert (fault.account, fault.params, fault.remaining) == (acct, {"usage": "business", "regain_minutes": 19}, 2)
    call_command("sandbox_fault", "list", stdout=out)
    assert "rate_limit" in out.getvalue() and "2 left" in out.getvalue()
    call_command("sandbox_fault", "clear", "meta", stdout=out)
    assert "cleared 1 fault(s)" in out.getvalue() and not SandboxFault.objects.exists()


def test_management_command_rejects_a_bad_fault(acct):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="needs ms"):
        call_command("sandbox_fault", "set", "meta", "latency")


def test_operator_sets_a_fault_in_the_admin(client, operator, acct, django_assert_max_num_queries):
    client.force_login(operator)
    response = client.post("/admin/sandbox/sandboxfault/add/", {
        "platform": "meta", "account": acct.pk, "kind": "remove_scope", "params": "{}", "remaining": ""})
    assert response.status_code == 200 and "remove_scope needs scope" in response.content.decode()

    response = client.post("/admin/sandbox/sandboxfault/add/", {
        "platform": "meta", "account": acct.pk, "kind": "remove_scope",
        "params": '{"scope": "pages_manage_posts"}', "remaining": ""})
    assert response.status_code == 302
    assert SandboxFault.objects.get().params == {"scope": "pages_manage_posts"}
    for _ in range(5):
        faults.set_fault("meta", faults.LATENCY, account_id="42", ms=10)
    with django_assert_max_num_queries(8):
        assert client.get("/admin/sandbox/sandboxfault/").status_code == 200


def test_a_fault_set_by_the_command_answers_the_connector_until_the_command_clears_it(sandbox):
    connection = linked_connection("meta", account_type="facebook_page", external_account_id="601")
    call_command("sandbox_fault", "set", "meta", "revoke_token", "--account", "601", "--param", "subcode=458",
                 stdout=StringIO())
    with pytest.raises(PartnerError) as caught:
        get_connector(connection).ping()
    assert caught.value.body["error"]["error_subcode"] == 458
    assert classify_failure(caught.value).code.value == "AUTH_REVOKED"

    call_command("sandbox_fault", "clear", "meta", "--account", "601", stdout=StringIO())
    assert get_connector(connection).ping().account_id == "601"

    call_command("sandbox_fault", "set", "meta", "server_error", "--param", "status=503", "--count", "1",
                 stdout=StringIO())  # the whole platform, once
    with pytest.raises(PartnerError) as caught:
        get_connector(connection).ping()
    assert caught.value.status == 503 and classify_failure(caught.value).code.value == "PARTNER_5XX"
    assert get_connector(connection).ping().account_id == "601"


def test_a_fault_added_in_the_admin_answers_the_connector_until_it_is_deleted(sandbox, client, operator):
    connection = linked_connection("linkedin", external_account_id="m-602")
    account = SandboxAccount.objects.get(platform="linkedin", account_id="m-602")
    client.force_login(operator)
    refused = client.post("/admin/sandbox/sandboxfault/add/", {
        "platform": "linkedin", "account": account.pk, "kind": "rate_limit", "params": '{"usage": "app"}'})
    assert refused.status_code == 200 and "linkedin rate_limit usage &#x27;app&#x27; is not the partner" in \
        refused.content.decode()
    response = client.post("/admin/sandbox/sandboxfault/add/", {
        "platform": "linkedin", "account": account.pk, "kind": "rate_limit", "params": '{"retry_after": 30}',
        "remaining": ""})
    assert response.status_code == 302
    with pytest.raises(PartnerError) as caught:
        get_connector(connection).ping()
    assert caught.value.status == 429 and classify_failure(caught.value).retry_after_s == 30

    fault = SandboxFault.objects.get()
    assert client.post(f"/admin/sandbox/sandboxfault/{fault.pk}/delete/", {"post": "yes"}).status_code == 302
    assert get_connector(connection).ping().account_id == "m-602"
    assert "rate_limit" in client.get("/admin/sandbox/sandboxrequest/").content.decode()  # what the partner answered


def test_a_usage_throttle_the_partner_does_not_have_is_refused(db):
    with pytest.raises(faults.FaultError, match="tiktok rate_limit usage 'app' is not the partner's; none"):
        faults.set_fault("tiktok", faults.RATE_LIMIT, usage="app")
    with pytest.raises(faults.FaultError, match="one of app, business"):
        faults.set_fault("meta", faults.RATE_LIMIT, usage="day")


def test_consent_page_refuses_an_unknown_app(sandbox):
    response = requests.get(f"{sandbox}/sandbox/meta/v26.0/dialog/oauth",
                            params={"client_id": "999", "redirect_uri": "https://x.example/cb", "state": "s"})
    assert response.status_code == 400 and "is not valid" in response.text


def test_consent_page_with_no_accounts_lets_the_user_name_one(sandbox):
    url = (f"{sandbox}/sandbox/tiktok/v2/auth/authorize/?client_key=devtiktokclientkey&response_type=code"
           f"&scope=user.info.basic&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&state=s1")
    session = requests.Session()
    html, hidden, offered, preselected = consent_page(session, url)
    assert offered == [] and preselected is None and "No sandbox accounts yet" in html
    response = session.post(url, data={**hidden, "new_account_id": "-000new", "new_account_name": "New Creator",
                                       "grant": "user.info.basic", "action": "allow"}, allow_redirects=False)
    assert response.status_code == 302 and "code=" in response.headers["Location"]
    assert SandboxAccount.objects.get(platform="tiktok").name == "New Creator"


def test_connectors_use_the_real_hosts_unless_the_sandbox_is_on(settings):
    settings.PARTNERS_USE_SANDBOX = False
    assert partner_base_url("meta", "api") == "https://graph.facebook.com"
    assert partner_base_url("linkedin", "oauth") == "https://www.linkedin.com"
    assert partner_base_url("tiktok", "api") == "https://open.tiktokapis.com"
    settings.PARTNERS_USE_SANDBOX = True
    settings.SITE_URL = "http://127.0.0.1:9999/"
    assert partner_base_url("tiktok", "api") == "http://127.0.0.1:9999/sandbox/tiktok"
    settings.SANDBOX_ENABLED = False
    assert partner_base_url("tiktok", "oauth") == "https://www.tiktok.com"


def test_sandbox_urls_are_not_mounted_when_disabled(client, settings, db):
    import config.urls

    paths = ["/sandbox/meta/v26.0/me", "/sandbox/gbp/o/oauth2/v2/auth?client_id=x", "/sandbox/tiktok/v2/oauth/token/",
             "/sandbox/mailchimp/3.0/ping", "/sandbox/media/a.png"]
    settings.SANDBOX_ENABLED = False
    try:
        importlib.reload(config.urls)
        clear_url_caches()
        for path in paths:
            assert client.get(path).status_code == 404, path
        assert client.post("/sandbox/linkedin/oauth/v2/accessToken", {"grant_type": "x"}).status_code == 404
    finally:
        settings.SANDBOX_ENABLED = True
        importlib.reload(config.urls)
        clear_url_caches()
    assert client.get("/sandbox/meta/v26.0/me").status_code == 400  # Meta's invalid-token answer


def test_linking_to_the_sandbox_keeps_an_existing_account(db):
    SandboxAccount.objects.create(platform="tiktok", account_id="-000k", name="Kept", restricted=True)
    connection = ConnectionFactory(platform="tiktok", external_account_id="-000k", external_account_name="Other")
    link_to_sandbox(connection, scopes=["user.info.basic"])
    account = SandboxAccount.objects.get(platform="tiktok")
    assert (account.name, account.restricted) == ("Kept", True)
    assert connection.granted_scopes == ["user.info.basic"]
