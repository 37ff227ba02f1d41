"""URLs of the DEMO ad partner and ad platforms; included under /demo/processor/ only with DEBUG or DSR_DEMO=true."""

from django.urls import path, re_path

from dsr.demo import views

app_name = "demo_processor"
urlpatterns = [
    path("discovery", views.discovery, name="discovery"),
    path("opengdpr_requests", views.request_submit, name="request_submit"),
    path("opengdpr_requests/<str:request_id>", views.request_status, name="request_status"),
    path("results/<str:request_id>", views.results, name="results"),
    # The demo ad platforms: Meta's Graph API and Google's token and Google Ads API endpoints.
    path("meta/<str:version>/<str:audience_id>", views.meta_audience, name="meta_audience"),
    path("meta/<str:version>/<str:audience_id>/users", views.meta_users, name="meta_users"),
    path("google/token", views.google_token, name="google_token"),
    re_path(r"^google/(?P<path>v\d+/customers/.+)$", views.google_api, name="google_api"),
    # The demo's SaaS vendors (dsr/demo/vendors): Genesys Cloud, Stripe, Mailchimp.
    re_path(r"^vendors/(?P<vendor>[a-z_]+)(?P<path>/.*)$", views.vendor_api, name="vendor_api"),
]
