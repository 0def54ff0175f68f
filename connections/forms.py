"""Forms of the connections app: a post (new, or fixed after a content failure), and the backfill choices."""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django import forms
from django.utils import timezone

from connections.capabilities import check_post
from connections.channels import channel_label
from connections.models import Post
from recovery.backfill import Choice

# The kinds whose one media URL is a video (the others: an image, or a link for a text post).
VIDEO_KINDS = (Post.Kind.VIDEO, Post.Kind.REEL)
TIME_FORMAT = "%Y-%m-%dT%H:%M"


class UtcDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format=TIME_FORMAT, **kwargs)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt_timezone.utc) if timezone.is_naive(value) else value


class ChannelChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return channel_label(obj)


class PostForm(forms.Form):
    """A post: channel, kind, text, one media URL, time (UTC). The capability guard checks it before it is saved.

    A post the channel cannot publish is refused with the guard's own reason ("LinkedIn posts are
    limited to 3,000 characters; this one has 3,412"), shown at the top of the form.
    """

    channel = ChannelChoiceField(queryset=None, empty_label=None)
    kind = forms.ChoiceField(choices=Post.Kind.choices, initial=Post.Kind.TEXT)
    content = forms.CharField(label="Text", widget=forms.Textarea(attrs={"rows": 5}), required=False,
                              help_text="For an email: the first line is the subject.")
    media_url = forms.URLField(label="Media URL", required=False, assume_scheme="https",
                               help_text="An image or video file; for a text post, a link.")
    scheduled_at = forms.DateTimeField(label="Time (UTC)", widget=UtcDateTimeInput(),
                                       input_formats=[TIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"])

    def __init__(self, data=None, *, connections, post: Post | None = None):
        initial = None
        if post is not None:
            media = (post.media or [{}])[0] if post.media else {}
            initial = {"channel": post.connection_id, "kind": post.kind, "content": post.content,
                       "media_url": media.get("url", ""), "scheduled_at": timezone.now() + timedelta(minutes=5)}
        else:
            initial = {"scheduled_at": timezone.now() + timedelta(hours=1)}
        super().__init__(data, initial=initial)
        self.fields["channel"].queryset = connections

    def clean_scheduled_at(self):
        return _utc(self.cleaned_data["scheduled_at"])

    def post_fields(self) -> dict:
        """kind, content, media and scheduled_at, as post_create takes them."""
        data = self.cleaned_data
        media = []
        if data.get("media_url"):
            if data["kind"] == Post.Kind.TEXT:
                media = [{"url": data["media_url"], "type": "link"}]
            else:
                media = [{"url": data["media_url"], "type": "video" if data["kind"] in VIDEO_KINDS else "image"}]
        return {"kind": data["kind"], "content": data.get("content") or "", "media": media,
                "scheduled_at": data["scheduled_at"]}

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        fields = self.post_fields()
        failure = check_post(fields, cleaned["channel"])
        if failure is not None:
            message = failure.partner_message or failure.entry.happened
            raise forms.ValidationError(message, code=failure.code.value.lower())
        return cleaned


class BackfillForm(forms.Form):
    """For each missed post: publish now, reschedule (with a time), skip, or decide later; or one choice for all."""

    ALL_CHOICES = [(Choice.PUBLISH_NOW.value, "Publish all now"), (Choice.RESCHEDULE.value, "Reschedule all"),
                   (Choice.SKIP.value, "Skip all")]
    EACH_CHOICES = [("", "Decide later"), (Choice.PUBLISH_NOW.value, "Publish now"),
                    (Choice.RESCHEDULE.value, "Reschedule"), (Choice.SKIP.value, "Skip")]

    all = forms.ChoiceField(choices=ALL_CHOICES, required=False)
    when_all = forms.DateTimeField(label="New time for all (UTC)", required=False, widget=UtcDateTimeInput(),
                                   input_formats=[TIME_FORMAT, "%Y-%m-%d %H:%M"])

    def __init__(self, data=None, *, posts: list[Post]):
        super().__init__(data)
        self.posts = posts
        for post in posts:
            self.fields[f"choice_{post.pk}"] = forms.ChoiceField(
                choices=self.EACH_CHOICES, required=False, widget=forms.RadioSelect, label=f"Post {post.pk}"
            )
            self.fields[f"when_{post.pk}"] = forms.DateTimeField(
                label="New time (UTC)", required=False, widget=UtcDateTimeInput(),
                input_formats=[TIME_FORMAT, "%Y-%m-%d %H:%M"],
            )

    def rows(self):
        """(post, its choice field, its time field), for the template."""
        return [(post, self[f"choice_{post.pk}"], self[f"when_{post.pk}"]) for post in self.posts]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("all") == Choice.RESCHEDULE.value and not cleaned.get("when_all"):
            self.add_error("when_all", "Choose the new time.")
        for post in self.posts:
            if cleaned.get(f"choice_{post.pk}") == Choice.RESCHEDULE.value and not cleaned.get(f"when_{post.pk}"):
                self.add_error(f"when_{post.pk}", "Choose the new time.")
        return cleaned

    def choices(self) -> list[tuple[int, Choice, datetime | None]]:
        """[(post id, choice, new time)]: the one choice for all when given, else each post's own."""
        data = self.cleaned_data
        if data.get("all"):
            choice = Choice(data["all"])
            when = _utc(data.get("when_all")) if choice is Choice.RESCHEDULE else None
            return [(post.pk, choice, when) for post in self.posts]
        chosen = []
        for post in self.posts:
            value = data.get(f"choice_{post.pk}")
            if value:
                choice = Choice(value)
                chosen.append((post.pk, choice, _utc(data.get(f"when_{post.pk}")) if choice is Choice.RESCHEDULE else None))
        return chosen
