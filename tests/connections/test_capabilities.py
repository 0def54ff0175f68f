"""The capability matrix and the guardrail that runs before any partner call.

The platform x kind and limit cases are generated from capabilities.json itself,
so a profile or limit added there is tested without touching this file.
"""

import copy
import json

import pytest

from connections.capabilities import (
    CAPABILITIES_PATH,
    CapabilityConfigError,
    check_post,
    connector_kinds,
    get_matrix,
    load_matrix,
    missing_scopes_for,
    split_email_content,
)
from connections.models import Connection, ConnectionAudit, Platform, Post
from recovery.autopause import mark_connection_needs_scopes, scopes_to_request
from recovery.taxonomy import ClassifiedError, ErrorCode
from tests.factories import ConnectionFactory, PostFactory

MATRIX = get_matrix()
PROFILES = sorted(MATRIX.profiles.items())
ACCOUNT_IDS = {"organization": "urn:li:organization:2414183", "member": "urn:li:person:8675309"}


def _id(profile_key):
    platform, account_type = profile_key
    return f"{platform}.{account_type}" if account_type else platform


def _connection(profile, scopes=None, **extra):
    """An unsaved connection of this profile with every scope it needs, unless told otherwise."""
    return Connection(
        platform=profile.platform,
        account_type=profile.account_type if profile.platform == "meta" else "",
        external_account_id=ACCOUNT_IDS.get(profile.account_type, "acct-1"),
        granted_scopes=profile.all_scopes() if scopes is None else scopes,
        **extra,
    )


def _item(media_type, rule, **facts):
    """A media item the rule accepts: its first format, well inside size and duration."""
    fmt = (rule.limits.get(f"{media_type}_formats") or ["jpeg" if media_type == "image" else "mp4"])[0]
    item = {"url": f"https://cdn.example.com/m.{fmt}", "type": media_type, "format": fmt, "size_bytes": 1024}
    if media_type == "video":
        item["duration_s"] = max(rule.limits.get("video_min_s", 0), 5)
    item.update(facts)
    return item


def _base_counts(rule):
    """(images, videos) of the smallest post of this kind the rule accepts."""
    limits = rule.limits
    images = limits.get("images_min", 0)
    videos = limits.get("videos_min", 0)
    while images + videos < limits.get("items_min", 0):
        if limits.get("images_max", 1) > images:
            images += 1
        else:
            videos += 1
    return images, videos


def _post(rule, images=None, videos=None, content=None):
    base_images, base_videos = _base_counts(rule)
    images = base_images if images is None else images
    videos = base_videos if videos is None else videos
    if content is None:
        content = "Summer sale\n\nOur summer sale starts today." if rule.kind == "email" else "Summer sale starts today."
    media = [_item("image", rule) for _ in range(images)] + [_item("video", rule) for _ in range(videos)]
    return {"kind": rule.kind, "content": content, "media": media}


# -- every platform x every kind ----------------------------------------------------

PLATFORM_KINDS = [
    pytest.param(key, kind, id=f"{_id(key)}-{kind}") for key, profile in PROFILES for kind in profile.kinds
]


@pytest.mark.parametrize("profile_key,kind", PLATFORM_KINDS)
def test_every_platform_and_kind_is_allowed_or_refused_with_its_reason(profile_key, kind):
    profile = MATRIX.profiles[profile_key]
    rule = profile.kinds[kind]
    connection = _connection(profile)
    result = check_post(_post(rule), connection)
    built = connector_kinds(connection)
    if rule.supported and kind in built:
        assert result is None, result and result.partner_message
    elif rule.supported:
        # The partner can, our connector cannot yet: refused before the call all the same.
        assert result.code == ErrorCode.CAPABILITY_UNSUPPORTED
        assert result.partner_code == "capability:connector_kind"
    else:
        assert isinstance(result, ClassifiedError)
        assert result.code == ErrorCode.CAPABILITY_UNSUPPORTED
        assert result.partner_message == rule.reason
        assert result.platform == profile.platform
        assert result.http_status is None
        assert not result.retryable and not result.pauses_channel


# What each profile's connection is at the sandbox partner, for publishing for real.
SANDBOX_ACCOUNTS = {
    ("meta", "facebook_page"): dict(account_type="facebook_page", external_account_id="104857600001"),
    ("meta", "instagram_business"): dict(account_type="instagram_business", external_account_id="17841400000000001"),
    ("linkedin", "member"): dict(external_account_id="782bbtaQ"),
    ("linkedin", "organization"): dict(account_type="organization", external_account_id="2414183"),
    ("tiktok", ""): dict(external_account_id="-000QW3rtyUiOpAsDfGhJkL"),
    ("gbp", ""): dict(external_account_id="accounts/1092837465/locations/5550001"),
    ("mailchimp", ""): dict(external_account_id="a1b2c3d4e5"),
}


def test_every_kind_the_guardrail_lets_through_is_published_by_the_connector(sandbox, tenant, monkeypatch):
    """A post of each kind each profile allows goes out through its connector to the sandbox
    partner; a kind the partner allows but our connector cannot send yet is refused first."""
    from connections.platforms import gbp, meta, tiktok
    from connections.platforms.base import get_connector
    from tests.sandbox.sandbox_helpers import linked_connection

    for module, name in ((meta, "CONTAINER_POLL_INTERVAL_S"), (tiktok, "STATUS_POLL_INTERVAL_S"),
                         (gbp, "STATE_POLL_INTERVAL_S")):
        monkeypatch.setattr(module, name, 0.01)
    assert set(SANDBOX_ACCOUNTS) == set(MATRIX.profiles)
    published, refused = [], []
    for key, profile in PROFILES:
        connection = linked_connection(profile.platform, tenant=tenant, scopes=profile.all_scopes(),
                                       **SANDBOX_ACCOUNTS[key])
        for kind, rule in profile.kinds.items():
            if not rule.supported:
                continue
            fields = _post(rule, content=f"Summer sale starts today, {kind} edition.")
            if kind == "email":
                fields["content"] = "Summer sale\n\nIt starts today."
            for item in fields["media"]:  # files the sandbox serves, for connectors that fetch them
                item["url"] = f"{sandbox}/sandbox/media/m.{item['format']}"
            post = PostFactory(connection=connection, tenant=tenant, **fields)
            result = check_post(post, connection)
            if result is not None:
                assert result.code == ErrorCode.CAPABILITY_UNSUPPORTED, (key, kind, result.partner_message)
                assert result.partner_code == "capability:connector_kind" and "from this app yet" in \
                    result.partner_message
                refused.append((key, kind))
                continue
            assert get_connector(connection).publish(post).partner_post_id, (key, kind)
            published.append((key, kind))
    assert len(published) == 20 and len(refused) == 6 and (("meta", "facebook_page"), "reel") in refused


@pytest.mark.parametrize("profile_key", [("meta", "facebook_page"), ("linkedin", "member"), ("gbp", "")])
def test_a_link_is_not_media_a_text_post_may_carry_one(profile_key):
    profile = MATRIX.profiles[profile_key]
    link = {"type": "link", "url": "https://acme.example/menu"}
    assert check_post({"kind": "text", "content": "Our menu", "media": [link]}, _connection(profile)) is None
    photo = {"type": "image", "url": "https://cdn.example.com/a.jpg"}
    refused = check_post({"kind": "text", "content": "Our menu", "media": [link, photo]}, _connection(profile))
    assert refused.code == ErrorCode.VALIDATION_ERROR


@pytest.mark.parametrize("profile_key", [("meta", "facebook_page"), ("linkedin", "member"),
                                         ("linkedin", "organization")])
def test_an_image_post_is_one_image_several_are_a_carousel(profile_key):
    profile = MATRIX.profiles[profile_key]
    photos = [{"type": "image", "url": f"https://cdn.example.com/{n}.jpg"} for n in range(3)]
    refused = check_post({"kind": "image", "content": "Loaves", "media": photos}, _connection(profile))
    assert refused.code == ErrorCode.VALIDATION_ERROR
    assert refused.partner_message.endswith("image posts can have at most 1 image; this one has 3.")


def test_instagram_refuses_a_text_only_post_and_says_what_to_do():
    profile = MATRIX.profiles[("meta", "instagram_business")]
    result = check_post({"kind": Post.Kind.TEXT, "content": "Hello"}, _connection(profile))
    assert result.code == ErrorCode.CAPABILITY_UNSUPPORTED
    assert result.partner_message == "Instagram accounts cannot publish text-only posts; add an image or video."
    assert result.action.value == "NOTIFY_USER_FIX_CONTENT"


def test_a_post_model_instance_is_checked_like_its_fields(db):
    connection = ConnectionFactory(platform="linkedin", granted_scopes=["w_member_social"])
    post = PostFactory(connection=connection, kind=Post.Kind.TEXT, content="x" * 3412)
    result = check_post(post, connection)
    assert result.code == ErrorCode.VALIDATION_ERROR
    assert result.partner_message == "LinkedIn posts are limited to 3,000 characters; this one has 3,412."
    assert result.partner_code == "capability:text_max_chars"


def test_a_meta_connection_that_does_not_say_its_account_type_is_refused():
    connection = Connection(platform="meta", account_type="", external_account_id="1", granted_scopes=[])
    result = check_post({"kind": "text", "content": "Hi"}, connection)
    assert result.code == ErrorCode.CAPABILITY_UNSUPPORTED
    assert "which kind of account" in result.partner_message


def test_linkedin_account_type_comes_from_the_urn_when_blank():
    organization = Connection(
        platform="linkedin", external_account_id="urn:li:organization:1", granted_scopes=["w_member_social"]
    )
    result = check_post({"kind": "text", "content": "Hi"}, organization)
    assert result.code == ErrorCode.PERMISSION_INSUFFICIENT
    assert result.missing_scopes == ["w_organization_social"]
    member = Connection(platform="linkedin", external_account_id="abc123", granted_scopes=["w_member_social"])
    assert check_post({"kind": "text", "content": "Hi"}, member) is None


@pytest.mark.parametrize("profile_key", [pytest.param(key, id=_id(key)) for key, _ in PROFILES])
def test_no_connector_claims_a_kind_the_partner_cannot_publish(profile_key):
    profile = MATRIX.profiles[profile_key]
    built = connector_kinds(_connection(profile))
    assert built <= {kind for kind, rule in profile.kinds.items() if rule.supported}


# -- each limit: at the limit passes, one over fails -----------------------------------

COUNT_LIMITS = ("images_max", "videos_max", "items_max", "images_min", "videos_min", "items_min")


def _count_cases():
    for key, profile in PROFILES:
        for kind, rule in profile.kinds.items():
            if not rule.supported:
                continue
            for limit, value in sorted(rule.limits.items()):
                if limit in COUNT_LIMITS:
                    case = _count_case(rule, limit, value)
                    if case:
                        yield pytest.param(key, kind, limit, *case, id=f"{_id(key)}-{kind}-{limit}={value}")
                elif limit in ("text_max_chars", "hashtags_max", "subject_max_chars", "image_max_bytes",
                               "video_max_bytes", "video_min_s", "video_max_s", "image_formats", "video_formats"):
                    if _media_kind_allows(rule, limit):
                        yield pytest.param(key, kind, limit, None, None, id=f"{_id(key)}-{kind}-{limit}")


def _media_kind_allows(rule, limit):
    if limit.startswith("image_"):
        return rule.limits.get("images_max", 1) > 0 and rule.limits.get("items_max", 1) > 0
    if limit.startswith("video_"):
        return rule.limits.get("videos_max", 1) > 0 and rule.limits.get("items_max", 1) > 0
    if limit == "subject_max_chars":
        return rule.kind == "email"
    return rule.kind != "email"


def _count_case(rule, limit, value):
    """((images, videos) that pass, (images, videos) that fail), or None when a tighter limit binds."""
    limits = rule.limits
    images_max = limits.get("images_max", 10**6)
    videos_max = limits.get("videos_max", 10**6)
    items_max = limits.get("items_max", 10**6)
    base_images, base_videos = _base_counts(rule)
    if limit == "images_max":
        if value + base_videos > items_max:
            return None
        return (value, base_videos), (value + 1, base_videos)
    if limit == "videos_max":
        if value + base_images > items_max:
            return None
        return (base_images, value), (base_images, value + 1)
    if limit == "items_max":
        images = min(images_max, value)
        videos = value - images
        if videos > videos_max:
            return None
        over = (images + 1, videos) if images < images_max else (images, videos + 1)
        return (images, videos), over
    if limit == "images_min":
        return (value, base_videos), (value - 1, base_videos) if value > 0 else None
    if limit == "videos_min":
        return (base_images, value), (base_images, value - 1) if value > 0 else None
    if limit == "items_min":
        if value == 0:
            return None
        return (base_images, base_videos), ((base_images - 1, base_videos) if base_images else (0, base_videos - 1))
    raise AssertionError(limit)


@pytest.mark.parametrize("profile_key,kind,limit,passing,failing", list(_count_cases()))
def test_each_limit_just_inside_passes_and_just_outside_fails(profile_key, kind, limit, passing, failing):
    profile = MATRIX.profiles[profile_key]
    rule = profile.kinds[kind]
    connection = _connection(profile)
    value = rule.limits[limit]

    if limit in COUNT_LIMITS:
        if failing is None:
            pytest.skip("no count below zero")
        assert check_post(_post(rule, *passing), connection, connector_gate=False) is None
        result = check_post(_post(rule, *failing), connection, connector_gate=False)
        assert result.code == ErrorCode.VALIDATION_ERROR
        assert result.partner_code.startswith("capability:")
        return

    if limit in ("text_max_chars", "hashtags_max", "subject_max_chars"):
        if limit == "text_max_chars":
            inside, outside = "x" * value, "x" * (value + 1)
        elif limit == "hashtags_max":
            inside = " ".join(f"#tag{n}" for n in range(value))
            outside = " ".join(f"#tag{n}" for n in range(value + 1))
        else:
            inside, outside = "s" * value + "\n\nBody", "s" * (value + 1) + "\n\nBody"
        assert check_post(_post(rule, content=inside), connection, connector_gate=False) is None
        result = check_post(_post(rule, content=outside), connection, connector_gate=False)
        assert result.code == ErrorCode.VALIDATION_ERROR
        assert result.partner_code == f"capability:{limit}"
        assert f"{value:,}" in result.partner_message and f"{value + 1:,}" in result.partner_message
        return

    media_type = "image" if limit.startswith("image_") else "video"
    counts = dict(zip(("image", "video"), _base_counts(rule)))
    if not counts[media_type]:
        # Make room for one item of the media the limit is about (a story takes one item).
        other = "video" if media_type == "image" else "image"
        if sum(counts.values()) + 1 > rule.limits.get("items_max", 10**6):
            counts[other] -= 1
        counts[media_type] = 1
    images, videos = counts["image"], counts["video"]

    def post_with(**facts):
        post = _post(rule, images, videos)
        target = next(item for item in post["media"] if item["type"] == media_type)
        target.update(facts)
        if "format" in facts:
            target["url"] = f"https://cdn.example.com/m.{facts['format']}"
        return post

    if limit.endswith("_formats"):
        inside = {"format": value[-1]}
        outside = {"format": "heic" if media_type == "image" else "flv"}
    elif limit.endswith("_max_bytes"):
        inside, outside = {"size_bytes": value}, {"size_bytes": value + 1}
    elif limit == "video_min_s":
        if value == 0:
            pytest.skip("no minimum")
        inside, outside = {"duration_s": value}, {"duration_s": value - 0.5}
    else:
        inside, outside = {"duration_s": value}, {"duration_s": value + 1}
    assert check_post(post_with(**inside), connection, connector_gate=False) is None
    result = check_post(post_with(**outside), connection, connector_gate=False)
    assert result.code == ErrorCode.MEDIA_ERROR
    assert result.partner_code == f"capability:{limit}"


def test_limit_messages_name_the_limit_and_the_value():
    instagram = MATRIX.profiles[("meta", "instagram_business")]
    connection = _connection(instagram)
    reel = {"kind": "reel", "content": "", "media": [
        {"url": "https://cdn.example.com/r.mp4", "type": "video", "duration_s": 962, "size_bytes": 10}
    ]}
    assert check_post(reel, connection).partner_message == (
        "Instagram reels take videos of 3 seconds to 15 minutes; this video is 16 minutes 2 seconds."
    )
    png = {"kind": "image", "content": "", "media": [{"url": "https://cdn.example.com/a.png"}]}
    result = check_post(png, connection)
    assert result.code == ErrorCode.MEDIA_ERROR
    assert result.partner_message == "Instagram image posts take JPEG images; this image is PNG."
    carousel = {"kind": "carousel", "content": "", "media": [{"url": f"https://c.example.com/{n}.jpg"} for n in range(11)]}
    assert check_post(carousel, connection).partner_message == (
        "Instagram carousels can have at most 10 items; this one has 11."
    )
    tags = {"kind": "image", "content": " ".join(f"#t{n}" for n in range(31)), "media": [{"url": "https://c.example.com/a.jpg"}]}
    assert check_post(tags, connection).partner_message == "Instagram captions can have at most 30 hashtags; this one has 31."
    big = {"kind": "story", "media": [{"url": "https://c.example.com/s.mp4", "size_bytes": 150 * 1024 * 1024}]}
    assert check_post(big, connection).partner_message == (
        "Instagram stories take videos of at most 100 MB; this video is 150 MB."
    )


def test_a_text_post_cannot_carry_media_and_an_image_post_needs_an_image():
    linkedin = MATRIX.profiles[("linkedin", "member")]
    connection = _connection(linkedin)
    text = {"kind": "text", "content": "Hi", "media": [{"url": "https://c.example.com/a.jpg"}]}
    assert check_post(text, connection).partner_message == (
        "A text post cannot carry images or videos; schedule it as an image or video post."
    )
    image = {"kind": "image", "content": "Hi", "media": []}
    assert check_post(image, connection).partner_message == "LinkedIn image posts need at least 1 image; this one has 0."


def test_an_email_needs_a_subject_line_within_its_limit():
    mailchimp = MATRIX.profiles[("mailchimp", "")]
    connection = _connection(mailchimp)
    assert split_email_content("\nSpring news\n\n<p>Hello</p>") == ("Spring news", "<p>Hello</p>")
    assert check_post({"kind": "email", "content": "Spring news\n\n<p>Hello</p>"}, connection) is None
    assert split_email_content("Only a subject") == ("Only a subject", "Only a subject")
    assert check_post({"kind": "email", "content": "Only a subject"}, connection) is None
    assert check_post({"kind": "email", "content": "  \n\n"}, connection).code == ErrorCode.VALIDATION_ERROR
    long_subject = {"kind": "email", "content": "s" * 151 + "\nBody"}
    assert check_post(long_subject, connection).partner_message == (
        "Mailchimp subject lines are limited to 150 characters; this one has 151."
    )


def test_media_facts_that_are_not_given_are_left_to_the_partner():
    tiktok = MATRIX.profiles[("tiktok", "")]
    video = {"kind": "video", "content": "Hi", "media": [{"url": "https://cdn.example.com/stream"}]}
    # No format, size or duration: nothing to check against but the count (the item is taken as an image).
    assert check_post(video, _connection(tiktok)).code == ErrorCode.VALIDATION_ERROR
    video["media"][0]["type"] = "video"
    assert check_post(video, _connection(tiktok)) is None


# -- scopes ------------------------------------------------------------------------------

SCOPE_CASES = [
    pytest.param(key, kind, index, id=f"{_id(key)}-{kind}-{index}")
    for key, profile in PROFILES
    for kind, rule in profile.kinds.items()
    if rule.supported
    for index, _ in enumerate(profile.scope_requirements(rule.capability))
]


@pytest.mark.parametrize("profile_key,kind,index", SCOPE_CASES)
def test_a_missing_scope_is_permission_insufficient_naming_exactly_that_scope(profile_key, kind, index):
    profile = MATRIX.profiles[profile_key]
    rule = profile.kinds[kind]
    requirement = profile.scope_requirements(rule.capability)[index]
    dropped = requirement if isinstance(requirement, list) else [requirement]
    granted = [scope for scope in profile.all_scopes() if scope not in dropped]
    result = check_post(_post(rule), _connection(profile, scopes=granted), connector_gate=False)
    assert result.code == ErrorCode.PERMISSION_INSUFFICIENT
    assert result.missing_scopes == [dropped[0]]
    assert dropped[0] in result.partner_message
    assert result.requires_reauth and result.pauses_channel and not result.retryable


def test_any_one_of_alternative_scopes_is_enough():
    tiktok = MATRIX.profiles[("tiktok", "")]
    video = _post(tiktok.kinds["video"])
    assert check_post(video, _connection(tiktok, scopes=["user.info.basic", "video.upload"])) is None
    result = check_post(video, _connection(tiktok, scopes=["user.info.basic"]))
    assert result.missing_scopes == ["video.publish"]


def test_mailchimp_needs_no_scopes():
    mailchimp = MATRIX.profiles[("mailchimp", "")]
    assert check_post(_post(mailchimp.kinds["email"]), _connection(mailchimp, scopes=[])) is None


def test_missing_scopes_for_a_capability_other_than_publishing():
    facebook = MATRIX.profiles[("meta", "facebook_page")]
    connection = _connection(facebook, scopes=["pages_manage_posts", "pages_read_engagement"])
    assert missing_scopes_for(connection, "analytics") == ["read_insights"]
    assert missing_scopes_for(connection, "text") == []


def test_missing_scopes_pause_the_connection_with_exactly_those_scopes_recorded_and_no_partner_call(sandbox, tenant):
    from connections.platforms.base import get_connector
    from sandbox.bridge import link_to_sandbox
    from sandbox.models import SandboxRequest
    from tests.sandbox.sandbox_helpers import linked_connection

    manage = "https://www.googleapis.com/auth/business.manage"
    connection = linked_connection("gbp", scopes=[], tenant=tenant, external_account_id="accounts/1/locations/2")
    post = PostFactory(connection=connection, kind=Post.Kind.TEXT, content="Quarterly results are out.")

    result = check_post(post, connection)
    assert result.code == ErrorCode.PERMISSION_INSUFFICIENT
    assert result.missing_scopes == [manage]
    pause = mark_connection_needs_scopes(connection, result.missing_scopes, post_id=post.pk)

    assert pause.changed
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ATTENTION
    assert connection.pause_reason == "PERMISSION_INSUFFICIENT"
    scopes_row = connection.audits.get(action=ConnectionAudit.Action.SCOPES_MISSING)
    assert scopes_row.details == {"missing_scopes": [manage], "post_id": post.pk}
    pause_row = connection.audits.get(action=ConnectionAudit.Action.AUTO_PAUSE)
    assert pause_row.details["missing_scopes"] == [manage]
    assert pause_row.details["reason_code"] == "PERMISSION_INSUFFICIENT"
    assert scopes_to_request(connection) == [manage]
    # The guardrail ran before any partner call: the sandbox partner saw nothing.
    assert not SandboxRequest.objects.exists()

    # Once the scope is granted the same post passes and does reach the partner.
    link_to_sandbox(connection, scopes=[manage])
    connection.refresh_from_db()
    assert check_post(post, connection) is None
    get_connector(connection).publish(post)
    assert SandboxRequest.objects.filter(platform="gbp", method="POST").count() == 1


@pytest.mark.django_db
def test_an_organization_lacking_its_write_scope_is_paused_asking_for_exactly_it(tenant):
    connection = ConnectionFactory(
        tenant=tenant,
        platform="linkedin",
        external_account_id="urn:li:organization:2414183",
        granted_scopes=["r_organization_social"],
    )
    post = PostFactory(connection=connection, kind=Post.Kind.TEXT, content="Quarterly results are out.")
    result = check_post(post, connection)
    assert result.missing_scopes == ["w_organization_social"]
    mark_connection_needs_scopes(connection, result.missing_scopes)
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ATTENTION
    assert scopes_to_request(connection) == ["w_organization_social", "r_organization_social"]


@pytest.mark.django_db
def test_an_already_paused_connection_still_records_the_scopes_to_ask_for(tenant):
    connection = ConnectionFactory(tenant=tenant, platform="gbp", paused=True)
    pause = mark_connection_needs_scopes(connection, ["https://www.googleapis.com/auth/business.manage"])
    assert not pause.changed
    connection.refresh_from_db()
    assert connection.pause_reason == "AUTH_EXPIRED"  # the first reason stands
    assert connection.audits.filter(action=ConnectionAudit.Action.SCOPES_MISSING).count() == 1
    assert scopes_to_request(connection) == ["https://www.googleapis.com/auth/business.manage"]
    with pytest.raises(ValueError):
        mark_connection_needs_scopes(connection, [])


@pytest.mark.django_db
def test_a_resume_ends_the_request_for_the_missing_scopes(tenant):
    from recovery.autopause import resume_connection

    connection = ConnectionFactory(tenant=tenant, platform="tiktok", granted_scopes=["user.info.basic"])
    mark_connection_needs_scopes(connection, ["video.publish", "custom.scope"])
    assert "custom.scope" in scopes_to_request(connection)
    resume_connection(tenant.pk, connection.pk)
    assert scopes_to_request(connection) == ["user.info.basic", "video.publish", "video.list"]


# -- the file itself is validated at load --------------------------------------------------


def _raw():
    return json.loads(CAPABILITIES_PATH.read_text())


def _write(tmp_path, data):
    path = tmp_path / "capabilities.json"
    path.write_text(json.dumps(data))
    return path


def test_the_shipped_matrix_covers_every_platform_and_kind():
    assert {platform for platform, _ in MATRIX.profiles} == set(Platform.values)
    assert set(MATRIX.profiles) >= {("meta", "facebook_page"), ("meta", "instagram_business")}
    for profile in MATRIX.profiles.values():
        assert set(profile.kinds) == set(Post.Kind.values)


BROKEN = {
    "an unknown top-level key": lambda d: d.update(extra=1),
    "an unknown platform": lambda d: d["platforms"].update(myspace=copy.deepcopy(d["platforms"]["gbp"])),
    "a missing platform": lambda d: d["platforms"].pop("mailchimp"),
    "an unknown limit": lambda d: d["platforms"]["gbp"]["limits"].update(emoji_max=3),
    "a limit of the wrong type": lambda d: d["platforms"]["gbp"]["limits"].update(text_max_chars="1500"),
    "an unknown capability": lambda d: d["platforms"]["gbp"]["capabilities"].update(polls=True),
    "an unknown kind": lambda d: d["platforms"]["gbp"]["kinds"].update(poll={"supported": False, "reason": "No"}),
    "an unknown key in a kind": lambda d: d["platforms"]["gbp"]["kinds"]["text"].update(maybe=True),
    "an unsupported kind without a reason": lambda d: d["platforms"]["gbp"]["kinds"].update(video={"supported": False}),
    "a supported kind without its capability": lambda d: d["platforms"]["gbp"]["kinds"].update(video={"supported": True}),
    "a capability without scopes": lambda d: d["platforms"]["gbp"]["scopes"].pop("image"),
    "an unknown account type default": lambda d: d["platforms"]["linkedin"].update(default_account_type="school"),
    "a kind of post the model does not have": lambda d: d["kinds"].update(poll=d["kinds"]["text"]),
}


@pytest.mark.parametrize("why", BROKEN)
def test_a_broken_matrix_stops_the_start_up(tmp_path, why):
    data = _raw()
    BROKEN[why](data)
    with pytest.raises(CapabilityConfigError):
        load_matrix(_write(tmp_path, data))


def test_notes_are_allowed_anywhere(tmp_path):
    data = _raw()
    data["platforms"]["gbp"]["limits"]["_notes"] = ["a note"]
    data["platforms"]["gbp"]["kinds"]["text"]["_notes"] = ["a note"]
    assert load_matrix(_write(tmp_path, data)).profiles[("gbp", "")].limits["text_max_chars"] == 1500


def test_the_matrix_is_loaded_once_at_start_up():
    assert get_matrix.cache_info().currsize == 1
    assert get_matrix() is MATRIX
