"""The size limit of an upload, enforced before and while the request body streams (every brick's uploads)."""

from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest

# Room for the multipart envelope and the form's other fields around the file itself.
MULTIPART_MARGIN = 64 * 1024


class UploadLimit(FileUploadHandler):
    """Counts the bytes of uploaded files as the request body streams, and stops reading past the limit."""

    def __init__(self, request=None, *, max_bytes: int) -> None:
        super().__init__(request)
        self.max_bytes = max_bytes
        self.received = 0
        self.exceeded = False

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            self.exceeded = True
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None


def upload_limit_install(request: HttpRequest, *, max_bytes: int) -> UploadLimit | None:
    """Watch the body of a POST against ``max_bytes``; ``None`` when the announced size is already too large, so
    that the view refuses it before a byte of the body is read. Call it before anything reads ``request.POST``
    (the view is ``csrf_exempt`` and checks the token afterwards)."""
    try:
        announced = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        announced = 0
    if announced > max_bytes + MULTIPART_MARGIN:
        return None
    limiter = UploadLimit(request, max_bytes=max_bytes)
    request.upload_handlers = [limiter, *request.upload_handlers]
    return limiter
