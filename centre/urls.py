from django.urls import path

from . import download_views, licence_views, registration_views, views

app_name = "centre"
urlpatterns = [
    path("", views.CentreHomeView.as_view(), name="home"),
    path("people/", views.PeopleView.as_view(), name="people"),
    path("people/invite/", views.InviteView.as_view(), name="invite"),
    path("people/<int:pk>/", views.PersonView.as_view(), name="person"),
    path("people/<int:pk>/hand-over/", views.HandOverView.as_view(), name="hand_over"),
    path("people/<int:pk>/remove/", views.RemoveView.as_view(), name="remove"),
    path("licences/", licence_views.LicencesView.as_view(), name="licences"),
    path("licences/export.csv", licence_views.LicencesExportView.as_view(fmt="csv"), name="licences_csv"),
    path("licences/export.xlsx", licence_views.LicencesExportView.as_view(fmt="xlsx"), name="licences_xlsx"),
    path("register/", registration_views.RegisterView.as_view(), name="register"),
    path("register/sent/", registration_views.RegisterSentView.as_view(), name="register_sent"),
    path(
        "register/confirm/<str:token>/",
        registration_views.RegisterConfirmView.as_view(),
        name="register_confirm",
    ),
    # Downloads (CC-2, CC-5, SUP-11).
    path("downloads/", download_views.DownloadsView.as_view(), name="downloads"),
    path("downloads/<int:pk>/", download_views.ReleaseView.as_view(), name="release"),
    path("downloads/file/<int:pk>/", download_views.DownloadFileView.as_view(), name="download_file"),
    path("downloads/delivery/", download_views.DeliveryPreferenceView.as_view(), name="delivery_preference"),
]
