from django.urls import path

from dsr.api import callbacks, registers, views

app_name = "api"
urlpatterns = [
    path("requests/", views.RequestCreateView.as_view(), name="request-create"),
    path("requests/<str:reference>/", views.RequestStatusView.as_view(), name="request-status"),
    path("requests/<str:reference>/verify/", views.RequestVerifyView.as_view(), name="request-verify"),
    path("requests/<str:reference>/resend-code/", views.RequestResendCodeView.as_view(), name="request-resend"),
    path("restrictions/check/", registers.RestrictionCheckView.as_view(), name="restriction-check"),
    path("suppressions/check/", registers.SuppressionCheckView.as_view(), name="suppression-check"),
    path("callbacks/<slug:source_key>/", callbacks.ProcessorCallbackView.as_view(), name="callback"),
]
