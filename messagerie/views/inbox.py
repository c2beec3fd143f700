"""``/messagerie/``: the inbox and the archives, a thread, and archiving or deleting conversations and messages.

Objects are looked up through ``messagerie.selectors`` inside the space the account acts for, so another person's
conversation or message answers 404, exactly like one that does not exist; changes go through
``messagerie.services.inbox``. Opening a thread marks its messages read (as a mail client does); everything else
that changes something is a POST form with its CSRF token, and a deletion is confirmed on its own page first.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mes.acces.decorators import citizen_space_view
from mes.acces.policy import CitizenAccess
from mes.comptes.selectors.profiles import active_citizen
from mes.keyset import InvalidCursor
from messagerie import selectors
from messagerie.models import Conversation, Direction, Message
from messagerie.services import inbox as services

CURSOR_PARAM = "curseur"

# The messagerie's pages are pages of the citizen's space (see ``citizen_space_view``).
messagerie_view = citizen_space_view


def header_unread_count(request: HttpRequest) -> int:
    """The unread messages of the space the account acts for (a parent who chose their child's space: the child's),
    for the badge beside « Messagerie » in the header."""
    return selectors.unread_count(active_citizen(request))


def unread_label(count: int) -> str:
    return ngettext("%(count)s message non lu", "%(count)s messages non lus", count) % {"count": count}


def _conversation_or_404(access: CitizenAccess, conversation_id: UUID) -> Conversation:
    conversation = selectors.conversation_get(access, conversation_id)
    if conversation is None:
        raise Http404(_("Cette conversation n’existe pas dans votre messagerie."))
    return conversation


def _message_or_404(access: CitizenAccess, message_id: UUID) -> Message:
    message = selectors.message_get(access, message_id)
    if message is None:
        raise Http404(_("Ce message n’existe pas dans votre messagerie."))
    return message


def _page_url(request: HttpRequest, cursor: str | None) -> str:
    """The list's own address at ``cursor`` (``None``: its first page), keeping the rest of the query string."""
    query: QueryDict = request.GET.copy()
    if cursor:
        query[CURSOR_PARAM] = cursor
    else:
        query.pop(CURSOR_PARAM, None)
    return "?" + query.urlencode()


# --- The lists ----------------------------------------------------------------------------------------------------


def _list_page(request: HttpRequest, access: CitizenAccess, *, archived: bool) -> HttpResponse:
    cursor = request.GET.get(CURSOR_PARAM) or None
    status, cursor_error = 200, False
    try:
        page = selectors.conversation_page(access, archived=archived, cursor=cursor)
    except InvalidCursor:
        page = selectors.conversation_page(access, archived=archived)
        status, cursor_error, cursor = 400, True, None
    context = {
        "access": access,
        "archived": archived,
        "rows": [
            {
                "conversation": conversation,
                "correspondent": selectors.correspondent_name(conversation.correspondent),
                "url": reverse("messagerie_conversation", args=[conversation.public_id]),
            }
            for conversation in page.conversations
        ],
        "older_url": _page_url(request, page.older_cursor) if page.older_cursor else None,
        "newer_url": _page_url(request, page.newer_cursor) if page.newer_cursor else None,
        "first_url": _page_url(request, None) if cursor else None,
        "cursor_error": cursor_error,
    }
    return render(request, "messagerie/list.html", context, status=status)


@require_GET
@messagerie_view
def inbox(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    return _list_page(request, access, archived=False)


@require_GET
@messagerie_view
def archives(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    return _list_page(request, access, archived=True)


# --- A thread -----------------------------------------------------------------------------------------------------


@require_GET
@messagerie_view
def conversation_detail(request: HttpRequest, access: CitizenAccess, conversation_id: UUID) -> HttpResponse:
    conversation = _conversation_or_404(access, conversation_id)
    just_read = {message.pk for message in services.conversation_read(access=access, conversation=conversation)}
    thread = selectors.conversation_messages(conversation)
    return render(
        request,
        "messagerie/conversation.html",
        {
            "access": access,
            "conversation": conversation,
            "correspondent": selectors.correspondent_name(conversation.correspondent),
            "entries": [
                {
                    "message": message,
                    "sender": selectors.sender_name(message),
                    "inbound": message.direction == Direction.INBOUND,
                    "new": message.pk in just_read,
                }
                for message in thread
            ],
        },
    )


# --- Archive, unarchive, delete -----------------------------------------------------------------------------------


@require_POST
@messagerie_view
def conversation_archive(request: HttpRequest, access: CitizenAccess, conversation_id: UUID) -> HttpResponse:
    conversation = _conversation_or_404(access, conversation_id)
    services.conversation_archive(access=access, conversation=conversation)
    messages.success(
        request, _("La conversation est archivée. Vous la retrouverez dans les archives de votre messagerie.")
    )
    return redirect("messagerie_inbox")


@require_POST
@messagerie_view
def conversation_unarchive(request: HttpRequest, access: CitizenAccess, conversation_id: UUID) -> HttpResponse:
    conversation = _conversation_or_404(access, conversation_id)
    services.conversation_unarchive(access=access, conversation=conversation)
    messages.success(request, _("La conversation est de retour dans votre boîte de réception."))
    return redirect("messagerie_conversation", conversation_id=conversation.public_id)


@require_http_methods(["GET", "POST"])
@messagerie_view
def conversation_delete(request: HttpRequest, access: CitizenAccess, conversation_id: UUID) -> HttpResponse:
    conversation = _conversation_or_404(access, conversation_id)
    if request.method == "POST":
        services.conversation_delete(access=access, conversation=conversation)
        messages.success(request, _("La conversation et ses messages ont été supprimés."))
        return redirect("messagerie_archives" if conversation.archived_at else "messagerie_inbox")
    message_count, attachment_count = selectors.conversation_sizes(conversation)
    return render(
        request,
        "messagerie/confirm_delete.html",
        {
            "access": access,
            "conversation": conversation,
            "message": None,
            "message_count": message_count,
            "attachment_count": attachment_count,
        },
    )


@require_http_methods(["GET", "POST"])
@messagerie_view
def message_delete(request: HttpRequest, access: CitizenAccess, message_id: UUID) -> HttpResponse:
    message = _message_or_404(access, message_id)
    conversation = message.conversation
    if request.method == "POST":
        conversation_gone = services.message_delete(access=access, message=message)
        if conversation_gone:
            messages.success(request, _("Le message a été supprimé, et avec lui la conversation, qui n’en avait plus."))
            return redirect("messagerie_archives" if conversation.archived_at else "messagerie_inbox")
        messages.success(request, _("Le message a été supprimé."))
        return redirect("messagerie_conversation", conversation_id=conversation.public_id)
    return render(
        request,
        "messagerie/confirm_delete.html",
        {
            "access": access,
            "conversation": conversation,
            "message": message,
            "sender": selectors.sender_name(message),
            "attachment_count": message.attachments.count(),
            "last_message": selectors.is_last_message(message),
        },
    )
