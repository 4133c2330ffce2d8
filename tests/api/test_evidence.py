"""Evidence by item key, Idempotency-Key on creates, and the upload limit (413)."""
import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from api.models import IdempotentResponse
from checklists.models import Evidence, Release

pytestmark = pytest.mark.django_db

ITEM = "kubernetes-cluster.cluster-has-at-least-3-nodes-for-high-availability"
JUNIT = b'<?xml version="1.0"?><testsuite name="unit" tests="1"><testcase name="ok"/></testsuite>'


def test_a_file_is_stored_under_its_hash(api_as, release):
    path = f"/releases/{release.pk}/items/{ITEM}/evidence"
    response = api_as("engineer").post(path + "/file", files={"file": SimpleUploadedFile("junit.xml", JUNIT)})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["sha256"] == hashlib.sha256(JUNIT).hexdigest() and body["filename"] == "junit.xml"
    assert body["item"] == ITEM and body["created_by"] == "alice"
    listed = api_as("auditor").get(path).json()
    assert [e["sha256"] for e in listed] == [body["sha256"]]


def test_links_and_notes(api_as, release):
    path = f"/releases/{release.pk}/items/{ITEM}/evidence"
    api = api_as("engineer")
    assert api.post(path + "/link", {"url": "https://ci.example.com/run/1"}).status_code == 201
    assert api.post(path + "/link", {"url": "javascript:alert(1)"}).status_code == 400
    assert api.post(path + "/note", {"text": "Checked by hand."}).status_code == 201
    assert api.post(path + "/note", {"text": ""}).status_code == 422
    assert Evidence.objects.count() == 2


def test_a_file_over_the_limit_is_413(api_as, release, settings):
    settings.READINESS_MAX_UPLOAD_BYTES = 100
    path = f"/releases/{release.pk}/items/{ITEM}/evidence/file"
    response = api_as("engineer").post(path, files={"file": SimpleUploadedFile("big.bin", b"x" * 500)})
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"
    assert not Evidence.objects.exists()


def test_idempotency_key_replays_the_first_response(api_as, release):
    api = api_as("engineer")
    path = f"/releases/{release.pk}/items/{ITEM}/evidence/file"
    headers = {"Idempotency-Key": "ci-run-42-junit"}
    first = api.post(path, files={"file": SimpleUploadedFile("junit.xml", JUNIT)}, headers=headers)
    again = api.post(path, files={"file": SimpleUploadedFile("junit.xml", JUNIT)}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and Evidence.objects.count() == 1
    other = api.post(path, files={"file": SimpleUploadedFile("junit.xml", b"<other/>")}, headers=headers)
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    # Keys are per token: another token's same key is another request.
    assert api_as("manager").post(path, files={"file": SimpleUploadedFile("junit.xml", JUNIT)},
                                  headers=headers).status_code == 201
    assert Evidence.objects.count() == 2


def test_idempotent_release_creation(api_as, release):
    api = api_as("manager")
    data = {"template": release.template_version.template.name, "service": "billing", "version": "2.0.0"}
    headers = {"Idempotency-Key": "pipeline-7"}
    first = api.post("/releases", data, headers=headers)
    again = api.post("/releases", data, headers=headers)
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    assert Release.objects.filter(service="billing").count() == 1
    # Without the key, the same request is a conflict with the release that exists.
    response = api.post("/releases", data)
    assert response.status_code == 409 and response.json()["error"]["details"] == {"id": first.json()["id"]}


def test_a_failed_create_keeps_no_key(api_as, release):
    api = api_as("manager")
    headers = {"Idempotency-Key": "k1"}
    bad = {"template": "No such template", "service": "billing", "version": "2.0.0"}
    assert api.post("/releases", bad, headers=headers).status_code == 400
    assert not IdempotentResponse.objects.exists()
