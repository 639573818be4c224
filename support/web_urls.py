from django.urls import path

from . import web_views

app_name = "help"
urlpatterns = [
    path("", web_views.HelpFormView.as_view(), name="form"),
    path("sent/", web_views.HelpSentView.as_view(), name="sent"),
    path("confirm/<str:token>/", web_views.HelpConfirmView.as_view(), name="confirm"),
    path("r/<str:token>/", web_views.HelpFollowView.as_view(), name="follow"),
]
