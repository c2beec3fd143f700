"""The citizen's actions in the messagerie: reply, forward, send a document of the dossier, try a failed delivery
again, save an attachment into the dossier, add an attached calendar to the agenda.

Objects are looked up through ``messagerie.selectors`` (and the dossier's ``documents_visible``) inside the space the
account acts for, so another person's message, attachment or document answers 404, exactly like one that does not
exist. Every change is a POST form with its CSRF token, made by ``messagerie.services``; success leads back to the
conversation with a message saying what happened.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from dossier.document_types import document_type_get
from dossier.selectors.documents import documents_visible
from dossier.uploads import title_from_filename
from mes.acces.decorators import citizen_space_view
from mes.acces.policy import CitizenAccess
from messagerie import selectors
from messagerie.forms import AttachmentSaveForm, DocumentSendForm, ForwardForm, ReplyForm, correspondents_of
from messagerie.models import Attachment, Conversation, Correspondent, DeliveryStatus, Direction, Message
from messagerie.services import attachments as attachment_services
from messagerie.services import outgoing

# The messagerie's pages are pages of the citizen's space (see ``citizen_space_view``).
messagerie_view = citizen_space_view


def _inbound_message_or_404(access: CitizenAccess, message_id: UUID) -> Message:
    """A received message of the space: the only ones that may be replied to or forwarded."""
    message = selectors.message_get(access, message_id)
    if message is None or message.direction != Direction.INBOUND:
        raise Http404(_("Ce message n’existe pas dans votre messagerie."))
    return message


def _attachment_or_404(access: CitizenAccess, attachment_id: UUID) -> Attachment:
    attachment = selectors.attachment_get(access, attachment_id)
    if attachment is None:
        raise Http404(_("Cette pièce jointe n’existe pas dans votre messagerie."))
    return attachment


def _thread_url(conversation: Conversation) -> str:
    return reverse("messagerie_conversation", args=[conversation.public_id])


def _when(moment) -> str:
    local = timezone.localtime(moment)
    return _("%(day)s à %(clock)s") % {
        "day": formats.date_format(local, "l j F Y"),
        "clock": formats.time_format(local, "H:i"),
    }


def _sent_feedback(request: HttpRequest, message: Message, correspondent: Correspondent) -> None:
    """Say where the message stands: the delivery runs after the commit (inline without a broker, else in a
    worker), so it may already be sent, failed, or still under way."""
    message.refresh_from_db(fields=["delivery_status", "delivery_error"])
    who = selectors.correspondent_name(correspondent)
    if message.delivery_status == DeliveryStatus.SENT:
        messages.success(request, _("Votre message a été envoyé à %(name)s.") % {"name": who})
    elif message.delivery_status == DeliveryStatus.FAILED:
        messages.error(
            request,
            _(
                "Votre message à %(name)s n’a pas pu être envoyé : %(reason)s "
                "Vous pouvez réessayer depuis la conversation."
            )
            % {"name": who, "reason": message.delivery_error},
        )
    else:
        messages.info(
            request,
            _("Votre message à %(name)s est en cours d’envoi. Son état s’affiche dans la conversation.")
            % {"name": who},
        )


def _apply_errors(form, error: ValidationError) -> None:
    """A service's refusal onto the form: under the field it names, else above the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


# --- Reply ----------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@messagerie_view
def reply(request: HttpRequest, access: CitizenAccess, message_id: UUID) -> HttpResponse:
    message = _inbound_message_or_404(access, message_id)
    recipient = outgoing.reply_recipient(message)
    form = ReplyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                sent = outgoing.message_reply(access=access, message=message, body=form.cleaned_data["body"])
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                _sent_feedback(request, sent, recipient)
                return redirect(_thread_url(message.conversation))
        status = 400
    context = {
        "access": access,
        "form": form,
        "message": message,
        "conversation": message.conversation,
        "recipient": recipient,
        "subject": outgoing.subject_prefixed(outgoing.REPLY_PREFIX, message.subject or message.conversation.subject),
        "sender": selectors.sender_name(message),
        "sent_when": _when(message.sent_at or message.received_at),
    }
    return render(request, "messagerie/actions/reply.html", context, status=status)


# --- Forward --------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@messagerie_view
def forward(request: HttpRequest, access: CitizenAccess, message_id: UUID) -> HttpResponse:
    message = _inbound_message_or_404(access, message_id)
    attachments = list(message.attachments.order_by("pk"))
    forwardable = [attachment for attachment in attachments if not attachment.blocked]
    form = ForwardForm(request.POST or None, access=access, attachments=forwardable)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            correspondent = form.cleaned_data["correspondent"]
            try:
                sent = outgoing.message_forward(
                    access=access,
                    message=message,
                    correspondent=correspondent,
                    body=form.cleaned_data["body"],
                    attachments=form.chosen_attachments(),
                )
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                _sent_feedback(request, sent, correspondent)
                return redirect(_thread_url(sent.conversation))
        status = 400
    context = {
        "access": access,
        "form": form,
        "message": message,
        "conversation": message.conversation,
        "blocked": [attachment for attachment in attachments if attachment.blocked],
        "subject": outgoing.subject_prefixed(outgoing.FORWARD_PREFIX, message.subject or message.conversation.subject),
        "sender": selectors.sender_name(message),
        "sent_when": _when(message.sent_at or message.received_at),
    }
    return render(request, "messagerie/actions/forward.html", context, status=status)


# --- Send a document of the dossier ---------------------------------------------------------------------------


def _uuid_param(request: HttpRequest, name: str) -> UUID | None:
    try:
        return UUID(request.GET.get(name, ""))
    except ValueError:
        return None


@require_http_methods(["GET", "POST"])
@messagerie_view
def document_send(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    """A document of the dossier to a correspondent, in a new conversation; with ``?message=<id>`` of a received
    message, as a reply to it (in its conversation, to its sender). ``?document=<id>`` chooses the document (the
    link from a document's page)."""
    in_reply_to = None
    if "message" in request.GET:
        message_id = _uuid_param(request, "message")
        if message_id is None:
            raise Http404(_("Ce message n’existe pas dans votre messagerie."))
        in_reply_to = _inbound_message_or_404(access, message_id)
    recipient = outgoing.reply_recipient(in_reply_to) if in_reply_to is not None else None
    initial = {}
    document_id = _uuid_param(request, "document")
    if document_id is not None:
        document = documents_visible(access).filter(public_id=document_id).first()
        if document is not None:
            initial = {"document": document.public_id, "subject": document.title}
    form = DocumentSendForm(request.POST or None, access=access, in_reply=in_reply_to is not None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            correspondent = recipient or form.cleaned_data["correspondent"]
            try:
                sent = outgoing.document_send(
                    access=access,
                    document=form.cleaned_data["document"],
                    correspondent=correspondent,
                    subject=form.cleaned_data.get("subject", ""),
                    body=form.cleaned_data["body"],
                    in_reply_to=in_reply_to,
                )
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                _sent_feedback(request, sent, correspondent)
                return redirect(_thread_url(sent.conversation))
        status = 400
    context = {
        "access": access,
        "form": form,
        "in_reply_to": in_reply_to,
        "conversation": in_reply_to.conversation if in_reply_to is not None else None,
        "recipient": recipient,
        "subject": (
            outgoing.subject_prefixed(outgoing.REPLY_PREFIX, in_reply_to.subject or in_reply_to.conversation.subject)
            if in_reply_to is not None
            else ""
        ),
        "has_correspondents": in_reply_to is not None or correspondents_of(access).exists(),
        "has_documents": form.fields["document"].queryset.exists(),
    }
    return render(request, "messagerie/actions/document_send.html", context, status=status)


# --- Try a failed delivery again ------------------------------------------------------------------------------


@require_POST
@messagerie_view
def resend(request: HttpRequest, access: CitizenAccess, message_id: UUID) -> HttpResponse:
    message = selectors.message_get(access, message_id)
    if message is None or message.direction != Direction.OUTBOUND:
        raise Http404(_("Ce message n’existe pas dans votre messagerie."))
    if message.delivery_status != DeliveryStatus.FAILED:
        messages.info(request, _("Ce message n’est pas en échec d’envoi : il n’y a rien à réessayer."))
        return redirect(_thread_url(message.conversation))
    message = outgoing.message_resend(access=access, message=message)
    recipient = (
        correspondents_of(access).filter(address__in=message.to_addresses).first() or message.conversation.correspondent
    )
    _sent_feedback(request, message, recipient)
    return redirect(_thread_url(message.conversation))


# --- Save an attachment into the dossier ----------------------------------------------------------------------


def _attachment_context(access: CitizenAccess, attachment: Attachment) -> dict:
    message = attachment.message
    return {
        "access": access,
        "attachment": attachment,
        "message": message,
        "conversation": message.conversation,
        "sender": selectors.sender_name(message),
        "sent_when": _when(message.sent_at or message.received_at),
    }


@require_http_methods(["GET", "POST"])
@messagerie_view
def attachment_save(request: HttpRequest, access: CitizenAccess, attachment_id: UUID) -> HttpResponse:
    attachment = _attachment_or_404(access, attachment_id)
    context = _attachment_context(access, attachment)
    saved = attachment_services.attachment_saved_document(access, attachment)
    if saved is not None:
        if request.method == "GET":
            messages.info(request, _("Cette pièce jointe est déjà enregistrée dans votre dossier : la voici."))
            return redirect("document_detail", public_id=saved.public_id)
        return render(request, "messagerie/actions/save.html", {**context, "saved": saved}, status=409)
    reason = attachment_services.attachment_not_savable_reason(attachment)
    if reason:
        return render(
            request,
            "messagerie/actions/save.html",
            {**context, "refusal": reason},
            status=200 if request.method == "GET" else 400,
        )
    message = attachment.message
    sent_on = timezone.localtime(message.sent_at or message.received_at).date()
    initial = {
        "title": title_from_filename(attachment.filename),
        # The date of the message is the best guess of the date of the act; the citizen corrects it if need be.
        "act_date": min(sent_on, timezone.localdate()),
    }
    form = AttachmentSaveForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                document = attachment_services.attachment_save_to_dossier(
                    access=access,
                    attachment=attachment,
                    title=data["title"],
                    type_code=data["type_code"],
                    act_date=data["act_date"],
                    hidden=data["hidden"],
                )
            except attachment_services.AttachmentAlreadySaved as already:
                return render(
                    request, "messagerie/actions/save.html", {**context, "saved": already.document}, status=409
                )
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                document_type = document_type_get(document.type_code)
                messages.success(
                    request,
                    _("« %(title)s » a été enregistré dans votre dossier médical (%(category)s).")
                    % {"title": document.title, "category": document_type.category_label if document_type else ""},
                )
                return redirect(_thread_url(message.conversation))
        status = 400
    return render(request, "messagerie/actions/save.html", {**context, "form": form}, status=status)


# --- Add an attached calendar to the agenda -------------------------------------------------------------------


def _item_row(item: attachment_services.CalendarItem) -> dict:
    """How the preview words one event or task: what, when (Paris time; the whole day for an all-day event), where."""
    if item.is_task:
        when = (
            _("À faire avant le %(day)s") % {"day": formats.date_format(item.due_date, "l j F Y")}
            if item.due_date
            else _("Sans échéance")
        )
        return {"item": item, "when": when, "kind": _("Tâche")}
    if item.all_day:
        # Whole days in the event's own zone, the end exclusive (midnight after the last day).
        first, last = item.starts_at.date(), (item.ends_at - timedelta(days=1)).date()
        when = formats.date_format(first, "l j F Y")
        if last > first:
            when = _("du %(first)s au %(last)s") % {"first": when, "last": formats.date_format(last, "l j F Y")}
        return {"item": item, "when": when, "kind": item.kind_label}
    start, end = timezone.localtime(item.starts_at), timezone.localtime(item.ends_at)
    if start.date() == end.date():
        when = _("%(day)s, de %(start)s à %(end)s") % {
            "day": formats.date_format(start, "l j F Y"),
            "start": formats.time_format(start, "H:i"),
            "end": formats.time_format(end, "H:i"),
        }
    else:
        when = _("du %(start)s au %(end)s") % {"start": _when(start), "end": _when(end)}
    return {"item": item, "when": when, "kind": item.kind_label}


@require_http_methods(["GET", "POST"])
@messagerie_view
def attachment_agenda(request: HttpRequest, access: CitizenAccess, attachment_id: UUID) -> HttpResponse:
    attachment = _attachment_or_404(access, attachment_id)
    context = _attachment_context(access, attachment)
    if attachment.calendar_added_at is not None:
        if request.method == "POST":
            messages.info(request, _("Les rendez-vous et tâches de cette pièce jointe sont déjà dans votre agenda."))
            return redirect(_thread_url(attachment.message.conversation))
        return render(
            request, "messagerie/actions/agenda.html", {**context, "added_when": _when(attachment.calendar_added_at)}
        )
    status = 200
    if request.method == "POST":
        try:
            summary = attachment_services.attachment_add_to_agenda(access=access, attachment=attachment)
        except attachment_services.AttachmentAlreadyAdded:
            messages.info(request, _("Les rendez-vous et tâches de cette pièce jointe sont déjà dans votre agenda."))
            return redirect(_thread_url(attachment.message.conversation))
        except ValidationError as error:
            return render(request, "messagerie/actions/agenda.html", {**context, "errors": error.messages}, status=400)
        messages.success(request, summary.message())
        for notice in summary.notices:
            messages.info(request, notice)
        return redirect(_thread_url(attachment.message.conversation))
    try:
        preview = attachment_services.attachment_calendar_preview(access=access, attachment=attachment)
    except ValidationError as error:
        return render(request, "messagerie/actions/agenda.html", {**context, "errors": error.messages}, status=status)
    context.update(rows=[_item_row(item) for item in preview.items], notices=preview.notices)
    return render(request, "messagerie/actions/agenda.html", context, status=status)
