from django.urls import path

from . import licence_views, product_registration_views, registration_views, views

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
    # Product registration (CC-10): a number issued with a partner's sale becomes a licence.
    path(
        "licences/register/",
        product_registration_views.ProductRegisterView.as_view(),
        name="licence_register",
    ),
]
