"""The upload size limit, applied while a request body streams in."""
from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile


class SizeLimitUploadHandler(FileUploadHandler):
    """First of the upload handlers: a file that passes READINESS_MAX_UPLOAD_BYTES is dropped at that
    chunk; the rest of it is read and discarded, never kept in memory or spooled to a temporary file.

    The file is then missing from request.FILES and its name is in `request.oversized_uploads`, so the
    view can say why. Django's own handlers check nothing: they would store a file of any size first.
    """

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.READINESS_MAX_UPLOAD_BYTES:
            if self.request is not None:
                self.request.oversized_uploads = [*getattr(self.request, "oversized_uploads", []), self.file_name]
            raise SkipFile
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handlers build the file
