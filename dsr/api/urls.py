from django.urls import path

from dsr.api import actions, callbacks, registers, views

app_name = "api"
urlpatterns = [
    path("requests/", views.RequestsView.as_view(), name="requests"),
    path("requests/<str:reference>/", views.RequestStatusView.as_view(), name="request-status"),
    path("requests/<str:reference>/verify/", views.RequestVerifyView.as_view(), name="request-verify"),
    path("requests/<str:reference>/resend-code/", views.RequestResendCodeView.as_view(), name="request-resend"),
    *(
        path(f"requests/<str:reference>/actions/{action.name}/", actions.action_view(action), name=action.name)
        for action in actions.ACTIONS
    ),
    path("consents/withdraw/", views.ConsentWithdrawView.as_view(), name="consent-withdraw"),
    path("restrictions/check/", registers.RestrictionCheckView.as_view(), name="restriction-check"),
    path("suppressions/check/", registers.SuppressionCheckView.as_view(), name="suppression-check"),
    path("callbacks/<str:source_key>/", callbacks.ProcessorCallbackView.as_view(), name="callback"),
]
