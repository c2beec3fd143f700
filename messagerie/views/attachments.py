"""``/messagerie/pieces/<id>/``: the download of an attachment, served like a document of the dossier.

Always as a download (``Content-Disposition: attachment``), never shown in the page: whatever a professional's mail
server sent, the browser saves it and runs nothing of it. The content type is the one detected at ingestion from
the bytes (never the sender's declared one), restricted to the types the platform recognises; ``nosniff`` keeps the
browser from guessing another, and the sandboxing Content-Security-Policy of the dossier's downloads applies. The
name is the sender's, cleaned, with the extension of the detected format. A blocked attachment (an executable, an
SVG, markup, a disguised file) is kept but never served: 404, like another person's or a missing one.
"""

from __future__ import annotations

import os
from uuid import UUID

from django.http import FileResponse, Http404, HttpRequest
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from dossier.uploads import CHUNK_SIZE, content_disposition, filename_sanitize
from dossier.views.documents import CSP_ATTACHMENT
from mes.acces.policy import CitizenAccess
from messagerie import selectors
from messagerie.models import Attachment, AttachmentFormat
from messagerie.services.inbox import attachment_download_trace
from messagerie.views.inbox import messagerie_view

# The extension a downloaded file gets for each detected format (the first), and the others it may keep.
_EXTENSIONS: dict[str, tuple[str, ...]] = {
    AttachmentFormat.PDF: (".pdf",),
    AttachmentFormat.JPEG: (".jpg", ".jpeg", ".jpe"),
    AttachmentFormat.PNG: (".png",),
    AttachmentFormat.CDA: (".xml",),
    AttachmentFormat.ICS: (".ics",),
    AttachmentFormat.TEXT: (".txt",),
}
# The content types an attachment may be served with; anything else (which ingestion does not produce) is served as
# bytes to save, never as something the browser would render.
_SERVED_TYPES = {
    "application/pdf",
    "image/jpeg",
    "image/png",
    "text/xml",
    "application/xml",
    "text/calendar",
    "text/plain",
    "application/octet-stream",
}
FALLBACK_TYPE = "application/octet-stream"


def served_content_type(attachment: Attachment) -> str:
    main = attachment.content_type.split(";", 1)[0].strip().lower()
    return attachment.content_type if main in _SERVED_TYPES else FALLBACK_TYPE


def attachment_download_name(attachment: Attachment) -> str:
    """The sender's file name, cleaned, ending with the extension of the format found in the bytes (a PDF named
    ``photo.exe`` is saved as ``photo.exe.pdf``; a file of another format keeps its cleaned name)."""
    name = filename_sanitize(attachment.filename)
    extensions = _EXTENSIONS.get(attachment.format)
    if not extensions:
        return name
    extension = os.path.splitext(name)[1]
    if extension.lower() in extensions:
        return name
    return f"{name}{extensions[0]}"


@require_GET
@messagerie_view
def attachment_download(request: HttpRequest, access: CitizenAccess, attachment_id: UUID) -> FileResponse:
    attachment = selectors.attachment_get(access, attachment_id)
    if attachment is None or attachment.blocked:
        raise Http404(_("Cette pièce jointe n’existe pas ou ne peut pas être téléchargée."))
    try:
        stream = attachment.file.storage.open(attachment.file.name, "rb")
    except OSError:
        raise Http404(_("Le fichier de cette pièce jointe est introuvable.")) from None
    try:
        attachment_download_trace(access=access, attachment=attachment)
    except BaseException:
        stream.close()
        raise
    response = FileResponse(stream, content_type=served_content_type(attachment))
    response.block_size = CHUNK_SIZE
    response["Content-Disposition"] = content_disposition("attachment", attachment_download_name(attachment))
    response["X-Content-Type-Options"] = "nosniff"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = CSP_ATTACHMENT
    response["X-Frame-Options"] = "DENY"
    return response
