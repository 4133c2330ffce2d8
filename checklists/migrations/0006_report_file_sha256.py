from django.conf import settings
import hashlib

from django.db import migrations, models


def backfill(apps, schema_editor):
    """Reports archived before signing: record the SHA-256 of their file, so that verify_report can
    recognise such a PDF as one Readiness issued (and say it is unsigned). A missing file is skipped."""
    Report = apps.get_model("checklists", "Report")
    for report in Report.objects.filter(state="ready", file_sha256="").exclude(file="").iterator():
        digest = hashlib.sha256()
        try:
            with report.file.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        except (FileNotFoundError, OSError):
            continue
        Report.objects.filter(pk=report.pk).update(file_sha256=digest.hexdigest())


class Migration(migrations.Migration):

    dependencies = [
        ('checklists', '0005_one_door'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='report',
            name='file_sha256',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddIndex(
            model_name='report',
            index=models.Index(fields=['file_sha256'], name='report_file_sha256_idx'),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
