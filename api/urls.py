from django.urls import path

from api import views
from api.main import api

app_name = "tokens"

urlpatterns = [
    path("tokens/", views.token_list, name="token-list"),
    path("tokens/new/", views.token_create, name="token-create"),
    path("tokens/service/new/", views.service_token_create, name="service-token-create"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
]

api_urls = [path("api/v1/", api.urls)]
