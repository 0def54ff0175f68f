"""What the sandbox partners know: their accounts, the tokens and codes they issued,
the faults set on them and the requests they received.

Tokens and codes are stored as sha256 hashes only: the sandbox is a fake partner,
but a database dump of it must still not hand out working credentials.
"""

from django.db import models


class SandboxAccount(models.Model):
    """An account on a sandbox partner: a Facebook Page, an Instagram business account,
    a LinkedIn member or organization, a TikTok creator, a GBP location, a Mailchimp audience.

    `account_id` is the partner's id, the one a Connection stores as external_account_id.
    """

    platform = models.CharField(max_length=20)
    account_id = models.CharField(max_length=200)
    name = models.CharField(max_length=300, blank=True)
    # The partner's kind of account where it has several (meta: facebook_page, instagram_business).
    account_type = models.CharField(max_length=40, blank=True)
    # Every scope the account's user would grant on the consent page.
    scopes = models.JSONField(default=list, blank=True)
    restricted = models.BooleanField(default=False)
    deleted = models.BooleanField(default=False)
    # Partner-specific facts (e.g. meta: the Page an Instagram account belongs to).
    extra = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["platform", "account_id"], name="sandbox_account_unique_per_platform")
        ]

    def __str__(self):
        return f"{self.platform}:{self.account_id} {self.name}".strip()


class SandboxToken(models.Model):
    """A token a sandbox partner issued. Only its sha256 is kept."""

    class Kind(models.TextChoices):
        ACCESS = "access", "Access token"
        REFRESH = "refresh", "Refresh token"

    platform = models.CharField(max_length=20)
    token_hash = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    account = models.ForeignKey(SandboxAccount, on_delete=models.CASCADE, related_name="tokens")
    scopes = models.JSONField(default=list, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)  # null: never expires
    revoked = models.BooleanField(default=False)
    # meta: "short" (from a code) or "long" (from fb_exchange_token); free-form elsewhere.
    lifetime = models.CharField(max_length=10, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.platform} {self.kind} token for {self.account.account_id}"


class SandboxAuthCode(models.Model):
    """An OAuth authorization code from the sandbox consent page: single use, 10 minutes."""

    platform = models.CharField(max_length=20)
    code_hash = models.CharField(max_length=64, unique=True)
    account = models.ForeignKey(SandboxAccount, on_delete=models.CASCADE, related_name="auth_codes")
    scopes = models.JSONField(default=list, blank=True)
    client_id = models.CharField(max_length=200)
    redirect_uri = models.CharField(max_length=1000)
    expires_at = models.DateTimeField()
    used = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.platform} code for {self.account.account_id}"


class SandboxObject(models.Model):
    """Something a sandbox partner holds for an account: a post, a media container, a publish job.

    Partner modules keep what later calls read back here (a feed, a container's
    status, a publish status) in `data`, in the partner's own field names.
    """

    platform = models.CharField(max_length=20)
    account = models.ForeignKey(SandboxAccount, on_delete=models.CASCADE, related_name="held_objects")
    object_id = models.CharField(max_length=200)
    kind = models.CharField(max_length=40)  # e.g. meta: post, photo, container, media
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["platform", "object_id"], name="sandbox_object_unique_per_platform")
        ]
        indexes = [
            # Feeds and quotas: an account's objects of one kind, newest first.
            models.Index(fields=["account", "kind", "-created_at"], name="sandbox_obj_account_kind_idx"),
        ]

    def __str__(self):
        return f"{self.platform} {self.kind} {self.object_id}"


class SandboxFault(models.Model):
    """A fault the sandbox injects: for one account, or (account empty) the whole platform.

    Kinds and their params are in sandbox/faults.py. Token faults
    (expire, revoke, remove scope) hit only tokens issued before the fault was set,
    so a reconnect heals them as it would at the real partner.
    """

    platform = models.CharField(max_length=20)
    account = models.ForeignKey(
        SandboxAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="faults"
    )
    kind = models.CharField(max_length=30)
    params = models.JSONField(default=dict, blank=True)
    # How many more requests it answers; null: until cleared.
    remaining = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # Every sandbox request: the active faults of one platform.
            models.Index(fields=["platform", "account"], name="sandbox_fault_platform_idx"),
        ]
        ordering = ["created_at", "id"]

    def __str__(self):
        target = self.account.account_id if self.account_id else "all accounts"
        return f"{self.platform} {self.kind} ({target})"


class SandboxRequest(models.Model):
    """One request a sandbox partner received, so tests and ops can see what the partner got.

    Bodies are excerpts with every token, code and secret replaced by [redacted].
    """

    platform = models.CharField(max_length=20)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    account = models.ForeignKey(
        SandboxAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="requests"
    )
    request_headers = models.JSONField(default=dict, blank=True)
    request_body = models.TextField(blank=True)
    status = models.PositiveSmallIntegerField()
    response_body = models.TextField(blank=True)
    fault = models.CharField(max_length=30, blank=True)  # the fault kind that answered, if any
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # Tests and the admin: a platform's requests in order.
            models.Index(fields=["platform", "created_at"], name="sandbox_req_platform_idx"),
        ]
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.method} {self.path} -> {self.status}"
