from django.urls import path

from notices import views

app_name = "notices"

urlpatterns = [
    path("notices/", views.inbox, name="inbox"),
    path("notices/bell/", views.bell, name="bell"),
    path("notices/read/", views.mark_read, name="mark-read"),
    path("notices/preferences/", views.preferences, name="preferences"),
    path("webhooks/", views.webhook_list, name="webhook-list"),
    path("webhooks/new/", views.webhook_create, name="webhook-create"),
    path("webhooks/<int:pk>/", views.webhook_detail, name="webhook-detail"),
    path("webhooks/<int:pk>/action/", views.webhook_action, name="webhook-action"),
]
