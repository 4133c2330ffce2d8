from django.urls import path

from checklists import bulk_views, export_views, item_views, template_views, views

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
    path("releases/<int:pk>/burndown.svg", views.release_burndown, name="release-burndown"),
    path("releases/<int:pk>/export.csv", export_views.release_export_csv, name="release-export-csv"),
    path("releases/<int:pk>/export.md", export_views.release_export_markdown, name="release-export-md"),
    path("releases/<int:pk>/template/", template_views.release_template_move, name="release-template-move"),
    path("templates/", template_views.template_list, name="template-list"),
    path("templates/new/", template_views.template_upload, name="template-create"),
    path("templates/<int:pk>/", template_views.template_detail, name="template-detail"),
    path("templates/<int:pk>/diff/", template_views.template_diff, name="template-diff"),
    path("templates/<int:pk>/versions/<int:number>/", template_views.template_version, name="template-version"),
    path("templates/<int:pk>/versions/<int:number>/edit/", template_views.template_edit, name="template-update"),
    path("templates/<int:pk>/versions/<int:number>/export/", template_views.template_export,
         name="template-export"),
    path("my-items/", views.my_items, name="my-items"),
    path("teams/", views.team_rollup, name="team-rollup"),
    path("teams/<slug:slug>/items/", views.team_items, name="team-items"),
]
