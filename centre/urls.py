from django.urls import path

from . import (
    address_views,
    documents_views,
    download_views,
    licence_views,
    news_views,
    product_registration_views,
    registration_views,
    views,
)

app_name = "centre"
urlpatterns = [
    path("", views.CentreHomeView.as_view(), name="home"),
    # People and rights (CC-6).
    path("people/", views.PeopleView.as_view(), name="people"),
    path("people/invite/", views.InviteView.as_view(), name="invite"),
    path("people/<int:pk>/", views.PersonView.as_view(), name="person"),
    path("people/<int:pk>/hand-over/", views.HandOverView.as_view(), name="hand_over"),
    path("people/<int:pk>/remove/", views.RemoveView.as_view(), name="remove"),
    # Licences and installation numbers (CC-1, CC-9), product registration (CC-10).
    path("licences/", licence_views.LicencesView.as_view(), name="licences"),
    path("licences/export.csv", licence_views.LicencesExportView.as_view(fmt="csv"), name="licences_csv"),
    path("licences/export.xlsx", licence_views.LicencesExportView.as_view(fmt="xlsx"), name="licences_xlsx"),
    path(
        "licences/register/",
        product_registration_views.ProductRegisterView.as_view(),
        name="licence_register",
    ),
    # Registration of a customer's first administrator (CC-7, CC-8).
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
    # Addresses (CC-4, SVC-4).
    path("addresses/", address_views.AddressesView.as_view(), name="addresses"),
    path("addresses/billing/", address_views.BillingAddressView.as_view(), name="address_billing"),
    path("addresses/delivery/", address_views.DeliveryAddressView.as_view(), name="address_delivery"),
    path("addresses/sites/new/", address_views.SiteAddView.as_view(), name="site_add"),
    path("addresses/sites/<int:pk>/", address_views.SiteEditView.as_view(), name="site_edit"),
    path("addresses/sites/<int:pk>/remove/", address_views.SiteRemoveView.as_view(), name="site_remove"),
    # News and documents (CC-6 *news* and *documents* rights).
    path("news/", news_views.NewsView.as_view(), name="news"),
    path("news/<int:pk>/", news_views.NewsItemView.as_view(), name="news_item"),
    path("documents/", documents_views.DocumentsView.as_view(), name="documents"),
    path(
        "documents/<int:pk>/download/",
        documents_views.DocumentDownloadView.as_view(),
        name="document_download",
    ),
]
