"""Small formatting filters for the public pages, emails and letters."""

from django import template

register = template.Library()


@register.filter
def absolute(value: int) -> int:
    """Return the number without its sign ("overdue by 3 days", never "-3 days")."""
    return abs(int(value))
