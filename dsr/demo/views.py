"""HTTP views of the DEMO ad partner (see dsr/demo/demo_processor.py). Not part of the product."""

import json
import time

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from dsr.demo import demo_platforms, demo_processor
from dsr.demo.vendors.demo import vendor_fake
from dsr.sources.http import SIGNATURE_HEADER, SignatureInvalid, signature_verify

DEMO_HEADER = {"X-Demo": "demo processor served by dsr; not a real ad partner"}


def _refusal(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status, headers=DEMO_HEADER)


def _verified(request: HttpRequest) -> JsonResponse | None:
    """Return an error response unless the controller's signature holds; checked before the body is read."""
    try:
        signature_verify(
            demo_processor.processor_secret(), request.body, request.headers.get(SIGNATURE_HEADER), now=time.time()
        )
    except SignatureInvalid as exc:
        return _refusal(401, str(exc))
    return None


@require_GET
def discovery(request: HttpRequest) -> JsonResponse:
    return _verified(request) or JsonResponse(demo_processor.processor_discovery(), headers=DEMO_HEADER)


@csrf_exempt
@require_POST
def request_submit(request: HttpRequest) -> JsonResponse:
    if refusal := _verified(request):
        return refusal
    try:
        payload = json.loads(request.body)
        if not isinstance(payload, dict):
            raise ValueError
    except ValueError:
        return _refusal(400, "the body is not a JSON object")
    try:
        answer = demo_processor.processor_request_submit(payload)
    except demo_processor.ProcessorRefusal as exc:
        return _refusal(400, str(exc))
    return JsonResponse(answer, status=201, headers=DEMO_HEADER)


@require_GET
def request_status(request: HttpRequest, request_id: str) -> JsonResponse:
    if refusal := _verified(request):
        return refusal
    results_url = request.build_absolute_uri(reverse("demo_processor:results", args=[request_id]))
    status = demo_processor.processor_request_status(request_id, results_url=results_url)
    if status is None:
        return _refusal(404, "unknown request")
    return JsonResponse(status, headers=DEMO_HEADER)


@require_GET
def results(request: HttpRequest, request_id: str) -> JsonResponse:
    if refusal := _verified(request):
        return refusal
    found = demo_processor.processor_results(request_id)
    if found is None:
        return _refusal(404, "unknown request")
    return JsonResponse(found, headers=DEMO_HEADER)


# --- The DEMO ad platforms (dsr/demo/demo_platforms.py) ------------------------------------------


def _platform_response(answer: tuple[int, bytes]) -> HttpResponse:
    status, body = answer
    return HttpResponse(body, status=status, content_type="application/json", headers=DEMO_HEADER)


@csrf_exempt
def meta_users(request: HttpRequest, version: str, audience_id: str) -> HttpResponse:
    fake = demo_platforms.MetaFake(demo_platforms.SqliteAudienceStore("meta"))
    return _platform_response(fake.answer(request.method, f"/{version}/{audience_id}/users", request.body))


@require_GET
def meta_audience(request: HttpRequest, version: str, audience_id: str) -> HttpResponse:
    fake = demo_platforms.MetaFake(demo_platforms.SqliteAudienceStore("meta"))
    return _platform_response(fake.audience_read(f"/{version}/{audience_id}", request.META.get("QUERY_STRING", "")))


@csrf_exempt
@require_POST
def google_token(request: HttpRequest) -> HttpResponse:
    return _platform_response(
        demo_platforms.GoogleFake(demo_platforms.SqliteAudienceStore("google")).token(request.body)
    )


# The demo keeps Google's jobs for the life of the process: a job is created, given operations and run in one go.
_GOOGLE = {}


@csrf_exempt
def google_api(request: HttpRequest, path: str) -> HttpResponse:
    fake = _GOOGLE.setdefault("fake", demo_platforms.GoogleFake(demo_platforms.SqliteAudienceStore("google")))
    headers = {key.lower(): value for key, value in request.headers.items()}
    return _platform_response(fake.answer(request.method, f"/{path}", headers, request.body))


# --- The DEMO SaaS vendors (dsr/demo/vendors) -----------------------------------------------------


@csrf_exempt
def vendor_api(request: HttpRequest, vendor: str, path: str) -> HttpResponse:
    base = request.build_absolute_uri(request.path[: len(request.path) - len(path)])
    fake = vendor_fake(vendor, url=base)
    if fake is None:
        return _refusal(404, "unknown vendor")
    query = request.META.get("QUERY_STRING", "")
    reply = fake.answer(request.method, f"{path}?{query}" if query else path, dict(request.headers), request.body)
    headers = {"Content-Type": "application/json", **DEMO_HEADER, **reply.headers}
    return HttpResponse(reply.encoded(), status=reply.status, headers=headers)
