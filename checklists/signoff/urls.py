"""Sign-off and waivers. Names follow x-detail / x-create / x-update / x-delete."""
from django.urls import path

from checklists.signoff import views

urlpatterns = [
    path("releases/<int:pk>/signoff/", views.signoff_detail, name="signoff-detail"),
    path("releases/<int:pk>/signoff/panel/", views.signoff_panel, name="signoff-panel"),
    path("releases/<int:pk>/signoff/open/", views.signoff_open, name="signoff-open"),
    path("releases/<int:pk>/signoff/reopen/", views.signoff_reopen, name="signoff-reopen"),
    path("releases/<int:pk>/signoff/requirements/new/", views.requirement_create, name="requirement-create"),
    path("releases/<int:pk>/signoff/requirements/<int:requirement_pk>/edit/", views.requirement_update,
         name="requirement-update"),
    path("releases/<int:pk>/signoff/requirements/<int:requirement_pk>/delete/", views.requirement_delete,
         name="requirement-delete"),
    path("releases/<int:pk>/signoff/requirements/<int:requirement_pk>/decide/", views.requirement_decide,
         name="requirement-decide"),
    path("releases/<int:pk>/items/<int:item_pk>/waivers/new/", views.waiver_create, name="waiver-create"),
    path("waivers/<int:waiver_pk>/decide/", views.waiver_decide, name="waiver-decide"),
    path("waivers/<int:waiver_pk>/revoke/", views.waiver_revoke, name="waiver-revoke"),
    path("me/approvals/", views.my_approvals, name="my-approvals"),
]
