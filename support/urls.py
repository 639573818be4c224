from django.urls import path

from . import credential_views, views

app_name = "support"
urlpatterns = [
    path("", views.RequestListView.as_view(), name="list"),
    path("new/", views.NewRequestView.as_view(), name="new"),
    path("<int:pk>/", views.RequestDetailView.as_view(), name="detail"),
    path("attachments/<int:pk>/", views.AttachmentView.as_view(), name="attachment"),
    # SUP-10: the customer gives access with a request (POST only).
    path("<int:pk>/credentials/", credential_views.CredentialAddView.as_view(), name="credential_add"),
]
