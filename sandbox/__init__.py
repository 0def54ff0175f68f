"""The sandbox partners: fake Meta, LinkedIn, TikTok, GBP and Mailchimp served by this Django
process under /sandbox/<platform>/ when SANDBOX_ENABLED (local runs, tests; never production).

The prefix stands for the partner's host(s): /sandbox/meta/v26.0/me is graph.facebook.com/v26.0/me.
Connectors reach it through connections.platforms.base.partner_base_url(platform, kind), which
returns f"{SITE_URL}/sandbox/<platform>" when PARTNERS_USE_SANDBOX is on; a partner whose hosts
share a path adds its own segment in both the connector and the sandbox module.

Using it (tests, seed_demo, chaos commands):

    from sandbox.core import sandbox_open_account, issue_tokens
    from sandbox import faults
    issued = sandbox_open_account("meta", "1001", scopes=None)   # a SandboxAccount + fresh tokens for it
    from sandbox.bridge import link_to_sandbox                     # dev commands and tests only: the tokens
    link_to_sandbox(connection, scopes=None)                       # stored on a product connection
    faults.set_fault("meta", faults.EXPIRE_TOKEN, account_id=connection.external_account_id)
    faults.set_fault("tiktok", faults.SERVER_ERROR, status=503, count=1)   # platform-wide, once
    faults.clear_faults()                                                 # platform=, account_id= narrow it

    tests: the `sandbox` fixture (tests/conftest.py) starts the live server, points SITE_URL
    at it and clears faults; SandboxRequest rows show what the partner received.
    Faults also from the admin (Sandbox faults) and `manage.py sandbox_fault set|clear|list`.

Writing a partner module (sandbox/<platform>.py; meta.py is the fullest example):

    class MyPartner(core.SandboxPartner):          # rules + the partner's own error answers
        platform = "gbp"; access_prefix = "ya29."; access_ttl = timedelta(hours=1)
        has_refresh_tokens = True; refresh_ttl = None; hint_param = "login_hint"
        def client_id(self): ...; def client_secret(self): ...
        def invalid_token(self) -> Answer; expired_token(); revoked_token(fault); missing_scope(scope, request)
        def restricted(); not_found(target, request); server_error(status); rate_limited(fault, account)
        def bad_request() -> Answer                     # a body or parameter of the wrong shape
        def unknown_path(request) -> Answer             # a path the sandbox does not model: the partner's JSON
        def hinted_account(accounts, hint, remembered)  # only with a hint_param: the hint's own meaning
        def route(call, url_kwargs) -> Answer | None    # optional: refuse before the token (Meta: a version
                                                        # it never had); call.headers go with any answer
        def check_proof(call, token) -> Answer | None   # optional: how the token was presented (appsecret_proof)
        partial_grants = True                           # False: consent is all requested scopes or none
        redirect_uri_refused = "..."                    # the partner's words for an unregistered redirect_uri
        basic_client_auth = False                       # True: token endpoint takes HTTP Basic client auth
    PARTNER = core.register(MyPartner())

    @core.endpoint(PARTNER, scope="https://www.googleapis.com/auth/business.manage", target="location_id")
    def local_posts(call, account_id, location_id):    # only runs when token and faults let it
        return core.Answer(200, {...})                  # call.account / call.token / call.scopes / call.params / call.data

    @core.endpoint(PARTNER, auth=False)                 # token endpoints: check the client and grant yourself
    def token(call): ...  core.client_credentials(call) -> (id, secret), core.redeem_code(...),
                          core.find_token(..., kind="refresh"), core.token_state(...), core.issue_tokens(...);
                          call.secret(value) redacts a value from the request log

    urlpatterns = [path("o/oauth2/v2/auth", core.authorize_view(PARTNER)), re_path(...),
                   re_path(r"^(?P<rest>.*)$", core.unknown_path_view(PARTNER))]   # always last

API versions come from connections/platforms/versions.py (docs/partners/versions.md).
JWT signing keys (LinkedIn's id_token, Google's push tokens): sandbox/signing.py.

Faults apply in this order (core.endpoint): latency, timeout, server_error, the token
(unknown -> invalid_token, revoked, expired), rate_limit, restrict_account, remove_scope
(when the endpoint needs a scope), delete_target (when the call names a target). Token
faults (expire, revoke, remove_scope) hit only tokens issued before the fault was set.
Tokens and codes are stored as sha256 hashes; the request log redacts them.
The consent pages answer only the redirect URIs registered in SANDBOX_REDIRECT_URIS
(core.registered_redirect_uris) and take Django's CSRF token, as the partners' pages do.

Webhooks the partners send: sandbox/webhooks.py.
"""
