from django.urls import path

from . import views

app_name = "centre"
urlpatterns = [
    path("", views.CentreHomeView.as_view(), name="home"),
    path("people/", views.PeopleView.as_view(), name="people"),
    path("people/invite/", views.InviteView.as_view(), name="invite"),
    path("people/<int:pk>/", views.PersonView.as_view(), name="person"),
    path("people/<int:pk>/hand-over/", views.HandOverView.as_view(), name="hand_over"),
    path("people/<int:pk>/remove/", views.RemoveView.as_view(), name="remove"),
]
