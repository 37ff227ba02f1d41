"""Public URLs. Only the public reference and random tokens ever appear in them, never personal data."""

from django.urls import include, path

from dsr.views import downloads, preferences, public, public_agents, public_answers, public_fees, transmissions

app_name = "dsr"

urlpatterns = [
    path("", public.start, name="start"),
    path("request/<str:right>/", public.request_form, name="request_form"),
    # CCPA regs § 7063: an authorised agent files for a consumer; agent and consumer confirm by emailed links.
    path("agent/", public_agents.agent_form, name="agent_form"),
    path("agent/confirm/<str:token>/", public_agents.agent_confirm_view, name="agent_confirm"),
    path("agent/permission/<str:token>/", public_agents.agent_consumer_confirm_view, name="agent_consumer_confirm"),
    path("verify/link/<str:token>/", public.verify_link, name="verify_link"),
    path("verify/<str:reference>/", public.verify_code, name="verify_code"),
    path("status/", public.status_lost, name="status_lost"),
    path("preferences/", preferences.preferences_start, name="preferences"),
    path("preferences/code/", preferences.preferences_code, name="preferences_code"),
    path("preferences/link/<str:token>/", preferences.preferences_link, name="preferences_link"),
    path("preferences/change/", preferences.preferences_change, name="preferences_change"),
    path("preferences/leave/", preferences.preferences_leave, name="preferences_leave"),
    path("status/<str:reference>/", public.status, name="status"),
    path("status/<str:reference>/new-link/", public.status_new_link, name="status_new_link"),
    path("status/<str:reference>/withdraw/", public_fees.status_fee_withdraw, name="status_fee_withdraw"),
    path("status/<str:reference>/answer/", public_answers.status_answer, name="status_answer"),
    path("status/<str:reference>/letter/", public_answers.status_letter, name="status_letter"),
    path("status/<str:reference>/download/", downloads.status_download, name="status_download"),
    path(
        "status/<str:reference>/download/new-link/",
        downloads.status_download_new_link,
        name="status_download_new_link",
    ),
    path("status/<str:reference>/<str:token>/", public.status_link, name="status_link"),
    path("download/<str:token>/", downloads.download, name="download"),
    path("download/<str:token>/new-link/", downloads.download_new_link, name="download_new_link"),
    path("transmission/<str:token>/", transmissions.transmission_download_view, name="transmission_download"),
    path("i18n/", include("django.conf.urls.i18n")),
]
