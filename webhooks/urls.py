from django.urls import path

from . import views

app_name = "webhooks"
urlpatterns = [
    path("", views.EndpointListView.as_view(), name="list"),
    path("<int:pk>/", views.EndpointDetailView.as_view(), name="detail"),
    path("<int:pk>/active/", views.EndpointToggleView.as_view(), name="toggle"),
    path("deliveries/<uuid:pk>/redeliver/", views.RedeliverView.as_view(), name="redeliver"),
]
