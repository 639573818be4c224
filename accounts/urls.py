from django.urls import path

from . import views

app_name = "mail_domains"
urlpatterns = [
    path("", views.MailDomainListView.as_view(), name="list"),
    path("<int:pk>/remove/", views.MailDomainRemoveView.as_view(), name="remove"),
]
