from django.urls import path

from checklists.views import bulk, comments, evidence, exports, items, releases, templates

item = "releases/<int:release_pk>/items/<int:pk>/"

urlpatterns = [
    path("", releases.dashboard, name="dashboard"),
    path("releases/", releases.dashboard, name="release-list"),
    path("releases/new/", releases.release_create_view, name="release-create"),
    path("releases/<int:pk>/", releases.release_detail, name="release-detail"),
    path("releases/<int:pk>/changes/", releases.release_changes, name="release-changes"),
    path("releases/<int:pk>/burndown.svg", releases.release_burndown, name="release-burndown"),
    path("releases/<int:pk>/sections/<int:section_pk>/edit/", bulk.section_update, name="section-update"),
    path("releases/<int:pk>/items/bulk/", bulk.items_bulk, name="items-bulk"),
    path(item, items.item_detail, name="item-detail"),
    path(item + "row/", items.item_row, name="item-row"),
    path(item + "edit/", items.item_update, name="item-update"),
    path(item + "evidence/", evidence.evidence_create, name="evidence-create"),
    path(item + "evidence/<int:evidence_pk>/download/", evidence.evidence_download, name="evidence-download"),
    path(item + "comments/", comments.comment_create, name="comment-create"),
    path("releases/<int:pk>/template/", templates.release_template_move, name="release-template-move"),
    path("templates/", templates.template_list, name="template-list"),
    path("templates/new/", templates.template_upload, name="template-create"),
    path("templates/<int:pk>/", templates.template_detail, name="template-detail"),
    path("templates/<int:pk>/diff/", templates.template_diff, name="template-diff"),
    path("templates/<int:pk>/versions/<int:number>/", templates.template_version, name="template-version"),
    path("templates/<int:pk>/versions/<int:number>/edit/", templates.template_edit, name="template-update"),
    path("templates/<int:pk>/versions/<int:number>/export/", templates.template_export,
         name="template-export"),
    path("releases/<int:pk>/export.csv", exports.release_export_csv, name="release-export-csv"),
    path("releases/<int:pk>/export.md", exports.release_export_markdown, name="release-export-md"),
    path("my-items/", releases.my_items, name="my-items"),
    path("teams/", releases.team_rollup, name="team-rollup"),
    path("teams/<slug:slug>/items/", releases.team_items, name="team-items"),
]
