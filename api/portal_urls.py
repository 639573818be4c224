from django.urls import path

from . import portal_views

app_name = "api_tokens"
urlpatterns = [
    path("", portal_views.TokenListView.as_view(), name="list"),
    path("<int:pk>/revoke/", portal_views.TokenRevokeView.as_view(), name="revoke"),
]
