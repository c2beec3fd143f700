"""Dates written the French way in the profil médical's pages: « 1er mars 2024 », « 17 mai 1980 »."""

from datetime import date

from django import template
from django.utils import formats

register = template.Library()


@register.filter
def long_date(value: date | None) -> str:
    if not value:
        return ""
    text = formats.date_format(value, "j F Y")
    return f"1er{text[1:]}" if value.day == 1 else text
