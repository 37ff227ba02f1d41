"""The privacy team's URLs, included at /dashboard/. Request pages are addressed by id, never by personal data."""

from django.urls import path

from dsr.views.staff import agents, answers, bundles, intake, queue, requests, stats, sweeps, transmissions

urlpatterns = [
    path("", queue.dashboard_queue, name="dashboard"),
    path("assign/", queue.dashboard_assign_bulk, name="staff_assign_bulk"),
    path("approve/", queue.dashboard_approve_bulk, name="staff_approve_bulk"),
    path("requests/new/", intake.request_intake, name="staff_intake"),
    path("requests/<int:pk>/", requests.request_detail, name="staff_request"),
    path("requests/<int:pk>/jobs/", requests.request_jobs_panel, name="staff_request_jobs"),
    path(
        "requests/<int:pk>/bundles/<int:bundle_pk>/preview/",
        bundles.bundle_preview_download,
        name="staff_bundle_preview",
    ),
    path(
        "requests/<int:pk>/transmission/decline/",
        transmissions.transmission_decline_view,
        name="staff_transmission_decline",
    ),
    path(
        "requests/<int:pk>/transmission/retry/", transmissions.transmission_retry_view, name="staff_transmission_retry"
    ),
    path("requests/<int:pk>/answers/<int:file_id>/", answers.answer_file_download, name="staff_answer_file"),
    path("requests/<int:pk>/agent/document/", agents.agent_document_download, name="staff_agent_document"),
    path("requests/<int:pk>/<slug:action>/", requests.request_action, name="staff_request_action"),
    path("statistics/", stats.statistics, name="staff_statistics"),
    path("statistics.csv", stats.statistics_csv, name="staff_statistics_csv"),
    path("audit.csv", stats.audit_csv, name="staff_audit_csv"),
    path("sweeps/", sweeps.sweeps_list, name="staff_sweeps"),
    path("sweeps/plan/", sweeps.sweep_plan_view, name="staff_sweep_plan"),
    path("sweeps/schedule/", sweeps.sweep_schedule_view, name="staff_sweep_schedule"),
    path("sweeps/<int:pk>/", sweeps.sweep_detail, name="staff_sweep"),
    path("sweeps/<int:pk>/approve/", sweeps.sweep_approve_view, name="staff_sweep_approve"),
    path("sweeps/<int:pk>/report.csv", sweeps.sweep_report_csv, name="staff_sweep_csv"),
    path("sweeps/<int:pk>/report.pdf", sweeps.sweep_report_pdf, name="staff_sweep_pdf"),
]
