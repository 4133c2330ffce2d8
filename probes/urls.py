app_name = "probes"
urlpatterns = []
