from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from dsr.views.dashboard import dashboard_queue

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("dashboard/", dashboard_queue, name="dashboard"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("dsr.api.urls")),
    path("", include("dsr.urls")),
]

# Public error pages in the visitor's language (an oversized or unreadable form gets a 400).
handler400 = "dsr.views.public.bad_request"
handler404 = "dsr.views.public.page_not_found"

if settings.DSR_DEMO:
    # A stand-in for an ad partner's API, so the demo's http source has a far side.
    urlpatterns.insert(0, path("demo/processor/", include("dsr.demo.urls")))
