from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from dsr.views.staff import auth as staff_auth

urlpatterns = [
    # First: Django tries the patterns in turn, and an include it passes costs an exception each. No other
    # pattern starts with api/v1/, so the order changes nothing else.
    path("api/v1/", include("dsr.api.urls")),
    # One way in for staff, with the second factor: the admin's own login form would skip it.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
    path("accounts/login/", staff_auth.staff_login, name="login"),
    path("accounts/login/two-factor/", staff_auth.staff_login_two_factor, name="login_two_factor"),
    path("accounts/logout/", staff_auth.staff_logout, name="logout"),
    path("dashboard/", include("dsr.urls_staff")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file, so the page needs no inline script (dsr/csp.py).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("dsr.urls")),
]

# Public error pages in the visitor's language (an oversized or unreadable form gets a 400).
handler400 = "dsr.views.public.bad_request"
handler404 = "dsr.views.public.page_not_found"

if settings.DSR_DEMO:
    # A stand-in for an ad partner's API, so the demo's http source has a far side.
    urlpatterns.insert(0, path("demo/processor/", include("dsr.demo.urls")))
