"""The project's URLs plus the demo processor, as config/urls.py has them with DSR_DEMO=true."""

from django.urls import include, path

from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("demo/processor/", include("dsr.demo.urls")),
    *project_urlpatterns,
]
