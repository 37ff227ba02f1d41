import yaml
from django.db import migrations

import dsr.models.datamap


def _reordered(value, raw):
    """Return ``value`` with its keys in the order the map's file gives them (jsonb had sorted them)."""
    if isinstance(value, dict) and isinstance(raw, dict):
        ordered = {key: _reordered(value[key], raw[key]) for key in raw if key in value}
        ordered.update((key, item) for key, item in value.items() if key not in ordered)
        return ordered
    return value


def snapshots_reorder(apps, schema_editor):
    versions = apps.get_model("dsr", "DataMapVersion")
    for version in versions.objects.all():
        try:
            raw = yaml.safe_load(version.yaml_text)
        except yaml.YAMLError:
            continue
        versions.objects.filter(pk=version.pk).update(snapshot=_reordered(version.snapshot, raw))


class Migration(migrations.Migration):
    dependencies = [
        ("dsr", "0009_refusal_not_covered"),
    ]

    operations = [
        migrations.AlterField(
            model_name="datamapversion",
            name="snapshot",
            field=dsr.models.datamap.OrderedJSONField(editable=False),
        ),
        migrations.RunPython(snapshots_reorder, migrations.RunPython.noop),
    ]
