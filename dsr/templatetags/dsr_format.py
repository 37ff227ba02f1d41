"""Small formatting filters for the public pages, emails and letters."""

from email.utils import parseaddr

from django import template

register = template.Library()


@register.filter
def absolute(value: int) -> int:
    """Return the number without its sign ("overdue by 3 days", never "-3 days")."""
    return abs(int(value))


@register.filter
def email_address(value: str) -> str:
    """Return the bare address of "Name <address>" (for mailto: links and display)."""
    return parseaddr(value or "")[1] or (value or "")


@register.filter(is_safe=True)
def sentence_end(value: str) -> str:
    """End the sentence ``value`` closes with a full stop, unless it has one ("Adyen N.V.", "NutriPartner Inc.").

    Lists of names end sentences in the letters and emails; a company's name often ends with its own full stop.
    """
    return value if str(value).rstrip().endswith((".", "!", "?")) else value + "."
