"""Refuse NUL characters in query strings and form fields, for every view, with a 400 naming the field.

No text field of Readiness accepts a NUL, and PostgreSQL cannot store or even compare one (psycopg
raises on a string literal holding 0x00): left to the views, `?q=%00` is a 500. Uploaded files' bytes
are not fields and are not looked at; their names are.
"""
from django.http import HttpResponseBadRequest, JsonResponse


class RejectNulBytesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        where = _nul_field(request)
        if where is not None:
            message = f"The {where} holds a NUL character (%00), which no field accepts. Nothing was changed."
            if request.path.startswith("/api/"):  # the API's own error body, as its schema documents
                return JsonResponse({"error": {"code": "invalid", "message": message, "details": None}}, status=400)
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


def _nul_field(request) -> str | None:
    for kind, data in (("query parameter", request.GET), ("form field", _posted(request))):
        for name, values in data.lists():
            if "\0" in name or any("\0" in value for value in values):
                return f"{kind} {name.replace(chr(0), '%00')!r}"
    if request.method == "POST" and request.content_type == "multipart/form-data":
        for name, files in request.FILES.lists():
            if any("\0" in (upload.name or "") for upload in files):
                return f"name of the file uploaded as {name!r}"
    return None


def _posted(request):
    # Only forms: a JSON or other body is the view's to parse. Reading POST here costs nothing extra,
    # CSRF protection reads it for every POST anyway.
    if request.method == "POST" and request.content_type in ("application/x-www-form-urlencoded",
                                                             "multipart/form-data"):
        return request.POST
    return request.GET.__class__()
