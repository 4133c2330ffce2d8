from django.urls import path

from probes import views

app_name = "probes"
urlpatterns = [
    path("clusters/", views.cluster_list, name="cluster-list"),
    path("clusters/new/", views.cluster_create, name="cluster-create"),
    path("clusters/<int:pk>/test/", views.cluster_test, name="cluster-test"),
    path("observability/", views.endpoint_list, name="endpoint-list"),
    path("observability/new/", views.endpoint_create, name="endpoint-create"),
    path("observability/<int:pk>/test/", views.endpoint_check, name="endpoint-check"),
    path("observability/<int:pk>/delete/", views.endpoint_delete, name="endpoint-delete"),
    path("releases/<int:pk>/probes/collect/", views.collect_create, name="collect-create"),
    path("releases/<int:pk>/probes/", views.release_probes, name="release-probes"),
    path("releases/<int:pk>/probes/run/", views.run_create, name="run-create"),
    path("releases/<int:pk>/probes/runs/<int:run_pk>/", views.run_detail, name="run-detail"),
    path("releases/<int:release_pk>/items/<int:pk>/rerun/", views.item_rerun, name="item-rerun"),
    path("releases/<int:release_pk>/items/<int:pk>/params/", views.item_params, name="item-params"),
]
