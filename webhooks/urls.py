from django.urls import path

from webhooks import views

app_name = "webhooks"
urlpatterns = [
    path("meta/", views.meta_webhook, name="meta"),
    path("meta/deauthorize/", views.meta_deauthorize, name="meta-deauthorize"),
    path("meta/data-deletion/", views.meta_data_deletion, name="meta-data-deletion"),
    path("meta/data-deletion/<str:code>/", views.meta_data_deletion_status, name="meta-data-deletion-status"),
    path("linkedin/", views.linkedin_webhook, name="linkedin"),
    path("tiktok/", views.tiktok_webhook, name="tiktok"),
    path("gbp/", views.gbp_webhook, name="gbp"),
    path("mailchimp/<str:secret>/", views.mailchimp_webhook, name="mailchimp"),
]
