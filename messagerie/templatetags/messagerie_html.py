"""The formatted text of a received message, cleaned once more as it is rendered.

``Message.body_html`` is sanitised when the message is stored; it is rendered in the page (not in a frame, which
would need a script to size it and would hide the text from the page's reading order) after a second, stricter
cleaning with nh3, for defence in depth: a row written by an older ingestion, a restored backup or a direct edit of
the database cannot bring anything executable to the browser either. What this allow-list keeps is text structure
only: no script, style, form, frame, image or media; no attribute but a link's target and a table cell's span (no
``class``: a message may not borrow the site's own alerts or buttons); links only to http, https and mailto
addresses, never relative ones (a message may not point at the site's own actions), opened without referrer.
The page's Content-Security-Policy (no inline script or style, images from the site only) is the third layer.
"""

import nh3
from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "div", "dl", "dt", "em", "hr",
    "i", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
# Elements dropped with their content (not only their tags): what they hold is code or page metadata, not text.
_DROPPED_WITH_CONTENT = {"script", "style", "title", "template", "noscript", "iframe", "object", "svg", "math"}

_CLEANER = nh3.Cleaner(
    tags=_TAGS,
    clean_content_tags=_DROPPED_WITH_CONTENT,
    attributes={"a": {"href", "title"}, "abbr": {"title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}},
    url_schemes={"http", "https", "mailto"},
    url_relative="deny",
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)


def mail_html_clean(html: str) -> str:
    """``html`` reduced to the allow-list above."""
    return _CLEANER.clean(html or "")


@register.filter
def mail_html(html: str) -> SafeString:
    """Render a message's stored HTML, cleaned again: ``{{ message.body_html|mail_html }}``."""
    return mark_safe(mail_html_clean(html))  # noqa: S308 - the output of the nh3 allow-list above is safe markup
