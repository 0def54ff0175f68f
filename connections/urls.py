from django.urls import path

from connections import views

app_name = "connections"

# Mounted at the site's root (config/urls.py): /posts/... and /channels/...
urlpatterns = [
    path("posts/", views.post_list, name="posts"),
    path("posts/new/", views.post_new, name="post_new"),
    path("posts/<int:pk>/edit/", views.post_edit, name="post_edit"),
    path("posts/<int:pk>/confirm-published/", views.post_confirm_published_view, name="post_confirm_published"),
    path("posts/<int:pk>/publish-again/", views.post_publish_again_view, name="post_publish_again"),
    path("channels/", views.channel_list, name="channels"),
    path("channels/attention/", views.attention_banner, name="attention_banner"),
    path("channels/reconnect/callback/", views.reconnect_callback, name="reconnect_callback"),
    path("channels/<int:pk>/reconnect/", views.reconnect, name="reconnect"),
    path("channels/<int:pk>/reconnect/permissions/", views.reconnect_permissions, name="reconnect_permissions"),
    path("channels/<int:pk>/missed-posts/", views.backfill, name="backfill"),
    path("favicon.ico", views.favicon),
]
