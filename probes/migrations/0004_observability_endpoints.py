from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("probes", "0003_probe_result_findings_total")]

    operations = [
        migrations.CreateModel(
            name="ObservabilityEndpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.SlugField(max_length=100, unique=True)),
                ("kind", models.CharField(choices=[("prometheus", "Prometheus"), ("alertmanager", "Alertmanager"), ("grafana", "Grafana"),
                                                   ("loki", "Loki"), ("jaeger", "Jaeger"), ("tempo", "Tempo")], max_length=20)),
                ("url", models.URLField(max_length=500)),
                ("username", models.CharField(blank=True, max_length=200)),
                ("secret_encrypted", models.TextField(blank=True)),
                ("verify_tls", models.BooleanField(default=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={"ordering": ["name"]},
        ),
    ]
