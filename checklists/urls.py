from django.urls import path

from checklists import bulk_views, item_views, views

item = "releases/<int:release_pk>/items/<int:pk>/"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("releases/", views.dashboard, name="release-list"),
    path("releases/new/", views.release_create_view, name="release-create"),
    path("releases/<int:pk>/", views.release_detail, name="release-detail"),
    path("releases/<int:pk>/changes/", views.release_changes, name="release-changes"),
    path("releases/<int:pk>/sections/<int:section_pk>/edit/", bulk_views.section_update, name="section-update"),
    path("releases/<int:pk>/items/bulk/", bulk_views.items_bulk, name="items-bulk"),
    path(item, item_views.item_detail, name="item-detail"),
    path(item + "row/", item_views.item_row, name="item-row"),
    path(item + "edit/", item_views.item_update, name="item-update"),
    path(item + "evidence/", item_views.evidence_create, name="evidence-create"),
    path(item + "evidence/<int:evidence_pk>/download/", item_views.evidence_download, name="evidence-download"),
    path(item + "comments/", item_views.comment_create, name="comment-create"),
    path("my-items/", views.my_items, name="my-items"),
    path("teams/", views.team_rollup, name="team-rollup"),
    path("teams/<slug:slug>/items/", views.team_items, name="team-items"),
]
