"""URLs of the DEMO ad partner; included under /demo/processor/ only with DEBUG or DSR_DEMO=true."""

from django.urls import path

from dsr.demo import views

app_name = "demo_processor"
urlpatterns = [
    path("discovery", views.discovery, name="discovery"),
    path("opengdpr_requests", views.request_submit, name="request_submit"),
    path("opengdpr_requests/<str:request_id>", views.request_status, name="request_status"),
    path("results/<str:request_id>", views.results, name="results"),
]
