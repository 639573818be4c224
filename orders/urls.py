from django.urls import path

from . import views

app_name = "orders"
urlpatterns = [
    path("", views.OrderListView.as_view(), name="list"),
    path("new/", views.OrderCreateView.as_view(), name="new"),
    path("<int:pk>/", views.OrderDetailView.as_view(), name="detail"),
]
