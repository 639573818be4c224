from django.urls import path

from . import views

app_name = "orders"
urlpatterns = [
    path("", views.OrderListView.as_view(), name="list"),
    path("new/", views.OrderCreateView.as_view(), name="new"),
    path("invoices/", views.InvoiceListView.as_view(), name="invoices"),
    path("export.csv", views.OrderExportView.as_view(), name="export"),
    path("<int:pk>/", views.OrderDetailView.as_view(), name="detail"),
    path("<int:pk>/cancel/", views.OrderCancelView.as_view(), name="cancel"),
    path("<int:pk>/resend-welcome/", views.WelcomeMailResendView.as_view(), name="resend_welcome"),
    path("<int:pk>/correct-email/", views.CorrectEmailView.as_view(), name="correct_email"),
    path("<int:pk>/invoice.pdf", views.InvoicePdfView.as_view(), name="invoice_pdf"),
]
