from django.urls import path

from insights import views

app_name = "insights"

urlpatterns = [
    path("health/", views.health, name="health"),
]
