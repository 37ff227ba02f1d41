"""A Content-Security-Policy on every page dsr serves: scripts, styles, images and fonts from dsr itself only.

Every asset is served by the project (Swagger UI too, from drf-spectacular-sidecar), so the
policy names no other origin; a page that tried to load one would be refused by the browser.
No page has inline scripts. The admin's own templates and Swagger UI set inline styles, so
those pages alone allow inline styles (still from no other origin); htmx is told not to add
its own style element (the base templates' htmx-config), its classes are in our CSS.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
INLINE_STYLE_POLICY = POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
INLINE_STYLE_PATHS = ("/admin/", "/api/docs/")


class ContentSecurityPolicyMiddleware:
    """Add the policy to each HTML response that has none of its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # Pages only: a PDF letter or a ZIP needs none, and a browser's PDF viewer may refuse to run under one.
        html = response.get("Content-Type", "").startswith("text/html")
        if html and "Content-Security-Policy" not in response:
            inline_styles = request.path.startswith(INLINE_STYLE_PATHS)
            response["Content-Security-Policy"] = INLINE_STYLE_POLICY if inline_styles else POLICY
        return response
