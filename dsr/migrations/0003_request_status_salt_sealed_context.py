from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("dsr", "0002_datamap_sources")]

    operations = [
        migrations.RemoveField(model_name="request", name="status_token_hash"),
        migrations.AddField(
            model_name="request",
            name="status_salt",
            field=models.CharField(editable=False, max_length=32, default=""),
            preserve_default=False,
        ),
        migrations.RemoveField(model_name="message", name="secret_context"),
        migrations.AddField(model_name="message", name="sealed_context", field=models.TextField(blank=True)),
    ]
