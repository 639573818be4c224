from django.urls import path

from . import email_views

app_name = "account_email"
urlpatterns = [
    path("", email_views.EmailChangeView.as_view(), name="change"),
    path("confirm/<str:token>/", email_views.EmailChangeConfirmView.as_view(), name="confirm"),
]
