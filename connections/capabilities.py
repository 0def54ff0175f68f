"""What each partner account can publish, checked before any partner call.

The matrix lives in capabilities.json beside this module (what is supported,
the partner's limits, the scopes each capability needs, and notes with the
sources). It is read and validated once, at start-up (ConnectionsConfig.ready):
an unknown key, platform, kind or limit stops the process instead of being
ignored.

`check_post(post, connection)` is the guardrail the publish job runs before it
calls the connector. It returns None when the post can go out, or a
ClassifiedError the pipeline handles like any partner failure:

- the kind is not available for the platform or account type:
  CAPABILITY_UNSUPPORTED ("Instagram accounts cannot publish text-only posts;
  add an image or video");
- the connection lacks a scope the kind's capability needs:
  PERMISSION_INSUFFICIENT with `missing_scopes` (the pipeline then pauses the
  connection and records them, recovery.autopause.mark_connection_needs_scopes,
  so the reconnect asks for exactly those);
- the text, the number of items or a media file's format, size or duration is
  over a limit: VALIDATION_ERROR naming the limit ("LinkedIn posts are limited
  to 3,000 characters; this one has 3,412"), or MEDIA_ERROR for a file the
  partner would refuse (format, size, duration: the taxonomy's own definition).

Checks run in that order: a kind the account cannot publish says nothing about
its scopes, and a missing scope pauses the channel for every post, so it is
reported before one post's content. The specific reason is in
`partner_message`; `partner_code` names the rule ("capability:text_max_chars").
Nothing here calls a partner, pauses a connection or writes a row: it says what a platform accepts.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

from connections.models import Platform, Post
from connections.platforms.base import get_connector_class
from recovery.taxonomy import ClassifiedError, ErrorCode

CAPABILITIES_PATH = Path(__file__).with_name("capabilities.json")

CAPABILITY_NAMES = ("text", "image", "video", "stories", "scheduling", "analytics")

# Every limit the matrix may set, with the type its value must have.
LIMIT_TYPES: dict[str, type] = {
    "text_max_chars": int,
    "hashtags_max": int,
    "subject_max_chars": int,
    "images_min": int,
    "images_max": int,
    "videos_min": int,
    "videos_max": int,
    "items_min": int,
    "items_max": int,
    "image_formats": list,
    "image_max_bytes": int,
    "video_formats": list,
    "video_max_bytes": int,
    "video_min_s": int,
    "video_max_s": int,
}

# What a check_result means for the pipeline; this module only ever returns these.
CapabilityResult = ClassifiedError | None

_PROFILE_KEYS = {"label", "text_noun", "capabilities", "scopes", "limits", "kinds"}
_KIND_KEYS = {"supported", "reason", "limits", "text_noun"}
_MULTI_KEYS = {"account_types", "default_account_type", "account_type_by_id_prefix"}

# Format names as the matrix spells them; what media items may say instead.
_FORMAT_ALIASES = {"jpg": "jpeg", "jpe": "jpeg", "tif": "tiff", "mpg": "mpeg", "quicktime": "mov", "qt": "mov"}
_VIDEO_FORMATS = {"mp4", "mov", "m4v", "avi", "mkv", "webm", "wmv", "mpeg", "3gp", "flv"}
# A hashtag as Instagram counts one: '#' then word characters, not glued to a preceding word.
_HASHTAG = re.compile(r"(?<![\w#])#\w+")


class CapabilityConfigError(ImproperlyConfigured):
    """capabilities.json says something this module does not understand."""


@dataclass(frozen=True)
class KindRule:
    """One Post.kind on one profile: whether it is supported, why not, and its effective limits."""

    kind: str
    supported: bool
    capability: str
    noun: str
    text_noun: str
    reason: str = ""
    limits: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Profile:
    """One platform, or one account type of a platform (meta's facebook_page, instagram_business)."""

    platform: str
    account_type: str
    label: str
    text_noun: str
    capabilities: dict
    scopes: dict
    limits: dict
    kinds: dict

    def supports(self, capability: str) -> bool:
        return bool(self.capabilities.get(capability))

    def scope_requirements(self, capability: str) -> list:
        return list(self.scopes.get(capability, []))

    def all_scopes(self) -> list[str]:
        """Every scope this profile's capabilities need (the preferred one of each choice), in order."""
        wanted: list[str] = []
        for capability in CAPABILITY_NAMES:
            if not self.supports(capability):
                continue
            for requirement in self.scope_requirements(capability):
                scope = requirement[0] if isinstance(requirement, list) else requirement
                if scope not in wanted:
                    wanted.append(scope)
        return wanted


@dataclass(frozen=True)
class Matrix:
    profiles: dict  # (platform, account_type) -> Profile; account_type "" for single-profile platforms
    account_types: dict  # platform -> {"default": str, "by_id_prefix": {prefix: type}, "types": [..]}


# -- loading and validation ----------------------------------------------------


def _fail(where: str, problem: str):
    raise CapabilityConfigError(f"capabilities.json {where}: {problem}")


def _check_keys(where: str, data: Any, allowed: set, required: set = frozenset()):
    if not isinstance(data, dict):
        _fail(where, "must be an object")
    unknown = {key for key in data if not key.startswith("_")} - allowed
    if unknown:
        _fail(where, f"unknown key(s) {sorted(unknown)}")
    missing = set(required) - set(data)
    if missing:
        _fail(where, f"missing key(s) {sorted(missing)}")


def _check_limits(where: str, limits: Any) -> dict:
    _check_keys(where, limits, set(LIMIT_TYPES))
    clean = {}
    for key, value in limits.items():
        if key.startswith("_"):
            continue
        expected = LIMIT_TYPES[key]
        if expected is int and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            _fail(f"{where}.{key}", "must be a whole number >= 0")
        if expected is list:
            if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
                _fail(f"{where}.{key}", "must be a non-empty list of format names")
            value = [_normalise_format(v) for v in value]
        clean[key] = value
    return clean


def _check_scopes(where: str, scopes: Any, capabilities: dict) -> dict:
    _check_keys(where, scopes, set(CAPABILITY_NAMES))
    clean = {}
    for capability, requirements in scopes.items():
        if capability.startswith("_"):
            continue
        if not capabilities[capability]:
            _fail(f"{where}.{capability}", "scopes given for a capability the profile does not have")
        if not isinstance(requirements, list):
            _fail(f"{where}.{capability}", "must be a list")
        for requirement in requirements:
            if isinstance(requirement, str) and requirement:
                continue
            if isinstance(requirement, list) and requirement and all(isinstance(s, str) and s for s in requirement):
                continue
            _fail(f"{where}.{capability}", f"{requirement!r} is neither a scope nor a list of alternative scopes")
        clean[capability] = requirements
    for capability, supported in capabilities.items():
        if supported and capability not in clean:
            _fail(where, f"no scopes for capability {capability!r} (write [] when it needs none)")
    return clean


def _load_profile(where: str, platform: str, account_type: str, data: Any, kind_defs: dict) -> Profile:
    _check_keys(where, data, _PROFILE_KEYS, required=_PROFILE_KEYS)
    if not isinstance(data["label"], str) or not isinstance(data["text_noun"], str):
        _fail(where, "label and text_noun must be strings")
    capabilities = data["capabilities"]
    _check_keys(f"{where}.capabilities", capabilities, set(CAPABILITY_NAMES), required=set(CAPABILITY_NAMES))
    if not all(isinstance(capabilities[name], bool) for name in CAPABILITY_NAMES):
        _fail(f"{where}.capabilities", "values must be true or false")
    capabilities = {name: capabilities[name] for name in CAPABILITY_NAMES}
    scopes = _check_scopes(f"{where}.scopes", data["scopes"], capabilities)
    limits = _check_limits(f"{where}.limits", data["limits"])

    kinds_data = data["kinds"]
    _check_keys(f"{where}.kinds", kinds_data, set(kind_defs), required=set(kind_defs))
    kinds = {}
    for kind, definition in kind_defs.items():
        kwhere = f"{where}.kinds.{kind}"
        entry = kinds_data[kind]
        _check_keys(kwhere, entry, _KIND_KEYS, required={"supported"})
        if not isinstance(entry["supported"], bool):
            _fail(kwhere, "supported must be true or false")
        reason = entry.get("reason", "")
        if not entry["supported"] and not (isinstance(reason, str) and reason):
            _fail(kwhere, "an unsupported kind needs a reason the user can act on")
        if entry["supported"] and not capabilities[definition["capability"]]:
            _fail(kwhere, f"supported, but the profile lacks its capability {definition['capability']!r}")
        # Precedence: the platform's limits, the kind's shape, the platform's override for the kind.
        merged = {**limits, **definition["limits"], **_check_limits(f"{kwhere}.limits", entry.get("limits", {}))}
        kinds[kind] = KindRule(
            kind=kind,
            supported=entry["supported"],
            capability=definition["capability"],
            noun=definition["noun"],
            text_noun=entry.get("text_noun", data["text_noun"]),
            reason=reason,
            limits=merged,
        )
    return Profile(
        platform=platform,
        account_type=account_type,
        label=data["label"],
        text_noun=data["text_noun"],
        capabilities=capabilities,
        scopes=scopes,
        limits=limits,
        kinds=kinds,
    )


def load_matrix(path: Path | str = CAPABILITIES_PATH) -> Matrix:
    """Read and validate the matrix; CapabilityConfigError (an ImproperlyConfigured) on anything unknown.

    Rules:
    - top-level keys: kinds, platforms (keys starting with "_" are notes, anywhere);
    - kinds: exactly Post.Kind's values, each with a known capability, a noun and shape limits;
    - platforms: exactly the Platform choices; each one profile, or account_types of profiles;
    - a profile has every capability (true/false), scopes for each true one, known limits
      of the right type, and an entry for every kind; an unsupported kind has a reason;
      a supported kind's capability is true.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CapabilityConfigError(f"capabilities.json cannot be read: {exc}") from exc
    _check_keys("(top level)", data, {"kinds", "platforms"}, required={"kinds", "platforms"})

    kind_defs_data = data["kinds"]
    kind_values = set(Post.Kind.values)
    _check_keys("kinds", kind_defs_data, kind_values, required=kind_values)
    kind_defs = {}
    for kind in Post.Kind.values:
        definition = kind_defs_data[kind]
        _check_keys(f"kinds.{kind}", definition, {"capability", "noun", "limits"}, required={"capability", "noun"})
        if definition["capability"] not in CAPABILITY_NAMES:
            _fail(f"kinds.{kind}.capability", f"unknown capability {definition['capability']!r}")
        kind_defs[kind] = {
            "capability": definition["capability"],
            "noun": definition["noun"],
            "limits": _check_limits(f"kinds.{kind}.limits", definition.get("limits", {})),
        }

    platforms = data["platforms"]
    platform_values = set(Platform.values)
    _check_keys("platforms", platforms, platform_values, required=platform_values)
    profiles: dict = {}
    account_types: dict = {}
    for platform in Platform.values:
        pdata = platforms[platform]
        where = f"platforms.{platform}"
        if isinstance(pdata, dict) and "account_types" in pdata:
            _check_keys(where, pdata, _MULTI_KEYS, required={"account_types"})
            types = pdata["account_types"]
            _check_keys(f"{where}.account_types", types, set(types))
            type_names = [name for name in types if not name.startswith("_")]
            if not type_names:
                _fail(f"{where}.account_types", "needs at least one account type")
            for account_type in type_names:
                profiles[(platform, account_type)] = _load_profile(
                    f"{where}.account_types.{account_type}", platform, account_type, types[account_type], kind_defs
                )
            default = pdata.get("default_account_type", "")
            if default and default not in type_names:
                _fail(f"{where}.default_account_type", f"{default!r} is not one of {type_names}")
            by_prefix = pdata.get("account_type_by_id_prefix", {})
            if not isinstance(by_prefix, dict) or any(v not in type_names for v in by_prefix.values()):
                _fail(f"{where}.account_type_by_id_prefix", f"values must be among {type_names}")
            account_types[platform] = {"default": default, "by_id_prefix": dict(by_prefix), "types": type_names}
        else:
            profiles[(platform, "")] = _load_profile(where, platform, "", pdata, kind_defs)
    return Matrix(profiles=profiles, account_types=account_types)


@functools.cache
def get_matrix() -> Matrix:
    """The matrix, loaded once per process (ConnectionsConfig.ready loads it at start-up)."""
    return load_matrix()


# -- looking a connection up ----------------------------------------------------


def resolve_account_type(platform: str, account_type: str = "", external_account_id: str = "") -> str:
    """The profile key of an account: "" for single-profile platforms, else its account type.

    - Connection.account_type wins when the platform knows it;
    - else the external id's prefix (linkedin: urn:li:organization: is an organization);
    - else the platform's default; "" when it has none (meta: the connection must say).
    """
    spec = get_matrix().account_types.get(platform)
    if spec is None:
        return ""
    if account_type in spec["types"]:
        return account_type
    for prefix, mapped in spec["by_id_prefix"].items():
        if external_account_id.startswith(prefix):
            return mapped
    return spec["default"]


def get_profile(platform: str, account_type: str = "", external_account_id: str = "") -> Profile | None:
    """The profile of a platform/account type, or None when the account type cannot be told."""
    key = resolve_account_type(platform, account_type, external_account_id)
    return get_matrix().profiles.get((platform, key))


def profile_for_connection(connection) -> Profile | None:
    return get_profile(connection.platform, connection.account_type or "", connection.external_account_id or "")


def granted_scope_set(connection) -> set[str]:
    """The connection's granted scopes as a set (a stored string is split on commas and spaces)."""
    granted = connection.granted_scopes or []
    if isinstance(granted, str):
        granted = re.split(r"[,\s]+", granted)
    return {scope.strip() for scope in granted if scope and scope.strip()}


def missing_scopes(requirements: list, granted: set[str]) -> list[str]:
    """The scopes to ask for: each requirement not met, the preferred (first) one of a choice."""
    missing: list[str] = []
    for requirement in requirements:
        choices = requirement if isinstance(requirement, list) else [requirement]
        if not any(choice in granted for choice in choices) and choices[0] not in missing:
            missing.append(choices[0])
    return missing


def missing_scopes_for(connection, capability: str) -> list[str]:
    """What `connection` lacks for one capability (for pings and analytics as well as publishing)."""
    profile = profile_for_connection(connection)
    if profile is None or not profile.supports(capability):
        return []
    return missing_scopes(profile.scope_requirements(capability), granted_scope_set(connection))


def connector_kinds(connection) -> set[str]:
    """The kinds our connector for this platform can send (its `supported_kinds`).

    The matrix says what the partner can publish; a connector may not have every kind yet,
    and a post it cannot send must be refused here, before the call, like any other.
    """
    return set(get_connector_class(connection.platform).supported_kinds(connection.account_type or ""))


# -- the check --------------------------------------------------------------------


def split_email_content(content: str) -> tuple[str, str]:
    """An email post's subject line (its first line) and body (the rest, leading blank lines dropped).

    A one-line email is its own body: Mailchimp will not send a campaign without content.
    """
    content = (content or "").lstrip("\r\n")
    subject, _, body = content.partition("\n")
    subject, body = subject.strip(), body.lstrip("\r\n")
    return subject, body if body.strip() else subject


def _fields(post_or_fields) -> tuple[str, str, list]:
    if isinstance(post_or_fields, Mapping):
        return (
            str(post_or_fields.get("kind") or "text"),
            post_or_fields.get("content") or "",
            list(post_or_fields.get("media") or []),
        )
    return post_or_fields.kind, post_or_fields.content or "", list(post_or_fields.media or [])


def _normalise_format(value: str) -> str:
    value = (value or "").strip().lower().lstrip(".")
    if "/" in value:  # a MIME type: image/jpeg, video/quicktime
        value = value.split("/", 1)[1]
    return _FORMAT_ALIASES.get(value, value)


def _media_format(item: Mapping) -> str:
    declared = item.get("format") or item.get("mime_type") or ""
    if declared:
        return _normalise_format(str(declared))
    suffix = Path(urlparse(str(item.get("url") or "")).path).suffix
    return _normalise_format(suffix) if suffix else ""


def _media_type(item: Mapping) -> str:
    """image, video, or link (a URL the post links to: not a media file, counted by no limit)."""
    declared = str(item.get("type") or "").lower()
    if declared in ("image", "video", "link"):
        return declared
    return "video" if _media_format(item) in _VIDEO_FORMATS else "image"


def _number(value) -> float | None:
    if isinstance(value, bool) or value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [_plural(value, unit) for value, unit in ((hours, "hour"), (minutes, "minute"), (secs, "second")) if value]
    return " ".join(parts) or "0 seconds"


def _size(n_bytes: float) -> str:
    gib, mib = 1024**3, 1024**2
    if n_bytes >= gib:
        return f"{n_bytes / gib:.1f}".rstrip("0").rstrip(".") + " GB"
    if n_bytes >= mib:
        return f"{n_bytes / mib:.1f}".rstrip("0").rstrip(".") + " MB"
    return f"{n_bytes / 1024:.0f} KB"


def _format_list(formats: list[str]) -> str:
    names = [name.upper() for name in formats]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _failure(code: ErrorCode, connection, rule: str, message: str, missing: list[str] | None = None):
    return ClassifiedError(
        code=code,
        platform=connection.platform,
        http_status=None,
        partner_code=f"capability:{rule}",
        partner_message=message,
        missing_scopes=list(missing or []),
    )


def _check_counts(rule: KindRule, label: str, images: list, videos: list, connection) -> CapabilityResult:
    limits = rule.limits
    counts = {"images": len(images), "videos": len(videos), "items": len(images) + len(videos)}
    what = {"images": "image", "videos": "video", "items": "item"}
    where = f"{label} {rule.noun}"
    for name in ("items", "images", "videos"):
        n = counts[name]
        low, high = limits.get(f"{name}_min"), limits.get(f"{name}_max")
        if high == 0 and n > 0:
            if rule.kind == "text":
                message = "A text post cannot carry images or videos; schedule it as an image or video post."
            else:
                message = f"{where} cannot carry {name}; this one has {n:,}."
            return _failure(ErrorCode.VALIDATION_ERROR, connection, f"{name}_max", message)
        if high is not None and n > high:
            message = f"{where} can have at most {_plural(high, what[name])}; this one has {n:,}."
            return _failure(ErrorCode.VALIDATION_ERROR, connection, f"{name}_max", message)
        if low is not None and n < low:
            message = f"{where} need at least {_plural(low, what[name])}; this one has {n:,}."
            return _failure(ErrorCode.VALIDATION_ERROR, connection, f"{name}_min", message)
    return None


def _check_files(rule: KindRule, label: str, kind_of_media: str, items: list, connection) -> CapabilityResult:
    limits = rule.limits
    where = f"{label} {rule.noun}"
    formats = limits.get(f"{kind_of_media}_formats")
    max_bytes = limits.get(f"{kind_of_media}_max_bytes")
    for index, item in enumerate(items, start=1):
        this = f"this {kind_of_media}" if len(items) == 1 else f"{kind_of_media} {index}"
        fmt = _media_format(item)
        # An unknown format is left to the partner: refusing what we cannot read would block good posts.
        if formats and fmt and fmt not in formats:
            message = f"{where} take {_format_list(formats)} {kind_of_media}s; {this} is {fmt.upper()}."
            return _failure(ErrorCode.MEDIA_ERROR, connection, f"{kind_of_media}_formats", message)
        size = _number(item.get("size_bytes"))
        if max_bytes is not None and size is not None and size > max_bytes:
            message = f"{where} take {kind_of_media}s of at most {_size(max_bytes)}; {this} is {_size(size)}."
            return _failure(ErrorCode.MEDIA_ERROR, connection, f"{kind_of_media}_max_bytes", message)
        if kind_of_media == "video":
            duration = _number(item.get("duration_s"))
            low, high = limits.get("video_min_s"), limits.get("video_max_s")
            too_short = low is not None and duration is not None and duration < low
            too_long = high is not None and duration is not None and duration > high
            if too_short or too_long:
                if high is not None:
                    span = f"{_duration(low or 0)} to {_duration(high)}"
                else:
                    span = f"at least {_duration(low)}"
                rule_name = "video_min_s" if too_short else "video_max_s"
                message = f"{where} take videos of {span}; {this} is {_duration(duration)}."
                return _failure(ErrorCode.MEDIA_ERROR, connection, rule_name, message)
    return None


def check_post(post_or_fields, connection, *, connector_gate: bool = True) -> CapabilityResult:
    """None if `connection` can publish this post; otherwise why not, as a ClassifiedError.

    `post_or_fields`: a Post, or a mapping with kind, content and media (the
    form's data before a Post exists). Media items: {"url", "type": "image"|"video",
    "size_bytes", "duration_s", "format"}; a fact an item does not give is not checked.
    {"type": "link", "url"} items are links the post carries, not media: no limit counts them.
    `connector_gate=False` checks against the partner only (what the matrix says), leaving
    out whether our connector can send the kind yet.

    Rules, first failure wins:
    1. the account type cannot be told, the kind is unsupported by the partner, or our
       connector cannot send it yet: CAPABILITY_UNSUPPORTED;
    2. a scope the kind's capability needs is not granted: PERMISSION_INSUFFICIENT,
       `missing_scopes` listing exactly what to ask for;
    3. item counts, text length, hashtags, an email's subject: VALIDATION_ERROR;
    4. a media file's format, size or duration: MEDIA_ERROR.
    """
    kind, content, media = _fields(post_or_fields)
    profile = profile_for_connection(connection)
    if profile is None:
        message = (
            f"This {connection.get_platform_display()} connection does not say which kind of account it is; "
            "reconnect it to choose the account again."
        )
        return _failure(ErrorCode.CAPABILITY_UNSUPPORTED, connection, "account_type", message)
    rule = profile.kinds.get(kind)
    if rule is None:
        return _failure(ErrorCode.CAPABILITY_UNSUPPORTED, connection, "kind", f"{kind!r} is not a kind of post.")
    if not rule.supported:
        return _failure(ErrorCode.CAPABILITY_UNSUPPORTED, connection, "kind", rule.reason)
    if connector_gate and kind not in connector_kinds(connection):
        message = f"{profile.label} {rule.noun} cannot be published from this app yet; choose another kind of post."
        return _failure(ErrorCode.CAPABILITY_UNSUPPORTED, connection, "connector_kind", message)

    lacking = missing_scopes(profile.scope_requirements(rule.capability), granted_scope_set(connection))
    if lacking:
        message = (
            f"This {profile.label} connection lacks the permission{'s' if len(lacking) > 1 else ''} "
            f"{', '.join(lacking)} needed to publish {rule.noun}; reconnect it and approve "
            f"{'them' if len(lacking) > 1 else 'it'}."
        )
        return _failure(ErrorCode.PERMISSION_INSUFFICIENT, connection, "scopes", message, missing=lacking)

    images = [item for item in media if isinstance(item, Mapping) and _media_type(item) == "image"]
    videos = [item for item in media if isinstance(item, Mapping) and _media_type(item) == "video"]
    failure = _check_counts(rule, profile.label, images, videos, connection)
    if failure:
        return failure

    limits = rule.limits
    if kind == "email":
        subject, body = split_email_content(content)
        if not subject:
            message = "An email needs a subject line: write it on the first line, then the body."
            return _failure(ErrorCode.VALIDATION_ERROR, connection, "email_parts", message)
        high = limits.get("subject_max_chars")
        if high is not None and len(subject) > high:
            message = (
                f"{profile.label} subject lines are limited to {high:,} characters; this one has {len(subject):,}."
            )
            return _failure(ErrorCode.VALIDATION_ERROR, connection, "subject_max_chars", message)
    else:
        high = limits.get("text_max_chars")
        if high is not None and len(content) > high:
            message = f"{rule.text_noun} are limited to {high:,} characters; this one has {len(content):,}."
            return _failure(ErrorCode.VALIDATION_ERROR, connection, "text_max_chars", message)
        high = limits.get("hashtags_max")
        hashtags = len(_HASHTAG.findall(content))
        if high is not None and hashtags > high:
            message = f"{rule.text_noun} can have at most {high:,} hashtags; this one has {hashtags:,}."
            return _failure(ErrorCode.VALIDATION_ERROR, connection, "hashtags_max", message)

    return _check_files(rule, profile.label, "image", images, connection) or _check_files(
        rule, profile.label, "video", videos, connection
    )
