from django.urls import path

from . import views

app_name = "support"
urlpatterns = [
    path("", views.RequestListView.as_view(), name="list"),
    path("new/", views.NewRequestView.as_view(), name="new"),
    path("<int:pk>/", views.RequestDetailView.as_view(), name="detail"),
    path("attachments/<int:pk>/", views.AttachmentView.as_view(), name="attachment"),
]
