"""Template filters of the ops pages."""

from datetime import timedelta

from django import template

from connections.admin import format_age

register = template.Library()


@register.filter
def seconds_as_age(seconds):
    """A number of seconds as the admin's short age ("3 h 12 min"); "-" when there is none."""
    if seconds is None or seconds == "":
        return "-"
    return format_age(timedelta(seconds=float(seconds)))


@register.filter
def seconds_as_lag(seconds):
    """A short delay: "85 ms" under a second, "4.2 s" under a minute, else as seconds_as_age; "-" when there is none."""
    if seconds is None or seconds == "":
        return "-"
    seconds = float(seconds)
    if seconds < 1:
        return f"{round(seconds * 1000)} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    return seconds_as_age(seconds)


@register.filter
def get_item(mapping, key):
    """mapping[key] in a template (None when absent)."""
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def split_words(text):
    """"a b c" -> ["a", "b", "c"] (a fixed list written in a template)."""
    return str(text).split()


@register.filter
def percent(share):
    """A share (0.125) as "12.5%"."""
    return f"{float(share) * 100:.1f}%"
