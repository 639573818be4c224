from django.urls import path

from . import views

app_name = "locker"
urlpatterns = [
    path("", views.locker, name="index"),
    path("keys/<uuid:key_id>/reveal/", views.reveal, name="reveal"),
]
