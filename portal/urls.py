from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

from accounts.views import PasswordSetDoneView, PasswordSetView, organisation_switch

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Before allauth's URLs, so that these match first (see views.no_email_management).
    re_path(r"^accounts/(?:email|confirm-email)/", views.no_email_management),
    # allauth's set-password-from-link pages with the way on to the locker (accounts.views); same addresses.
    path("accounts/password/reset/key/done/", PasswordSetDoneView.as_view()),
    re_path(
        r"^accounts/password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$", PasswordSetView.as_view()
    ),
    path("accounts/", include("allauth.urls")),
    path("organisation/", organisation_switch, name="organisation_switch"),
    # A person's own address (accounts.email_change): confirmed from the new address.
    path("account/email/", include("accounts.email_urls")),
    path("orders/", include("orders.urls")),
    path("locker/", include("locker.urls")),
    path("centre/", include("centre.urls")),
    path("support/", include("support.urls")),
    # The public web form and its signed links (support.web_views, SUP-6).
    path("help/", include("support.web_urls")),
    path("api/v1/", include("api.urls")),
    path("settings/api-tokens/", include("api.portal_urls")),
    path("settings/webhooks/", include("webhooks.urls")),
    path("settings/mail-domains/", include("accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
if settings.DEBUG:
    # Every component of the design system on one page (templates/README.md describes them).
    urlpatterns.append(path("styleguide/", views.styleguide, name="styleguide"))
if settings.BENCH_VIEWS:
    urlpatterns.append(path("bench/minimal/", views.bench_minimal, name="bench_minimal"))
