from django.urls import path

from insights import views

app_name = "insights"

# Mounted at the site's root (config/urls.py): staff pages under /ops/, the tenant's Advisor at /advisor/.
urlpatterns = [
    path("ops/health/", views.health, name="health"),
    path("ops/weekly/", views.weekly, name="weekly"),
    path("advisor/", views.advisor, name="advisor"),
]
