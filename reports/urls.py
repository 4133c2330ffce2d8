"""Reports. Names follow x-list / x-create / x-detail."""
from django.urls import path

from reports import views

urlpatterns = [
    path("releases/<int:pk>/reports/", views.report_list, name="report-list"),
    path("releases/<int:pk>/reports/new/", views.report_create, name="report-create"),
    path("releases/<int:pk>/reports/bundle/", views.report_bundle, name="report-bundle"),
    path("reports/<int:report_pk>/", views.report_download, name="report-download"),
]
