from django.urls import path

from people import oidc, views

app_name = "people"

urlpatterns = [
    path("people/teams/", views.team_list, name="team-list"),
    path("people/teams/new/", views.team_create, name="team-create"),
    path("people/teams/<slug:slug>/", views.team_detail, name="team-detail"),
    path("people/teams/<slug:slug>/members/", views.membership_set, name="membership-set"),
    path("people/teams/<slug:slug>/members/<int:user_pk>/remove/", views.membership_remove, name="membership-remove"),
    path("people/users/", views.user_list, name="user-list"),
    path("people/users/<int:pk>/", views.user_detail, name="user-detail"),
    path("people/users/<int:pk>/deactivate/", views.user_deactivate, name="user-deactivate"),
    path("people/users/<int:pk>/reactivate/", views.user_reactivate, name="user-reactivate"),
    path("people/users/<int:pk>/reassign/", views.user_reassign, name="user-reassign"),
    path("people/sso-groups/", views.group_mapping_list, name="group-mapping-list"),
    path("people/sso-groups/<int:pk>/delete/", views.group_mapping_delete, name="group-mapping-delete"),
]

# The library's URL names, which its views reverse (the callback's own address, the login redirect).
oidc_urlpatterns = [
    path("oidc/authenticate/", oidc.AuthenticateView.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", oidc.CallbackView.as_view(), name="oidc_authentication_callback"),
]
