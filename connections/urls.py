from django.urls import path

from connections import views

app_name = "connections"

# Mounted at /posts/ (config/urls.py).
urlpatterns = [
    path("", views.post_list, name="posts"),
    path("<int:pk>/confirm-published/", views.post_confirm_published_view, name="post_confirm_published"),
    path("<int:pk>/publish-again/", views.post_publish_again_view, name="post_publish_again"),
]
