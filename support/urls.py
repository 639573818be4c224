from django.urls import path

from . import credential_views, intake_views, views

app_name = "support"
urlpatterns = [
    # Customers get support.views; resellers and end customers support.intake_views (by_asker).
    path(
        "",
        intake_views.by_asker(views.RequestListView.as_view(), intake_views.IntakeListView.as_view()),
        name="list",
    ),
    path(
        "new/",
        intake_views.by_asker(views.NewRequestView.as_view(), intake_views.IntakeNewView.as_view()),
        name="new",
    ),
    path(
        "<int:pk>/",
        intake_views.by_asker(views.RequestDetailView.as_view(), intake_views.IntakeDetailView.as_view()),
        name="detail",
    ),
    path("attachments/<int:pk>/", views.AttachmentView.as_view(), name="attachment"),
    # SUP-10: the customer gives access with a request (POST only).
    path("<int:pk>/credentials/", credential_views.CredentialAddView.as_view(), name="credential_add"),
]
