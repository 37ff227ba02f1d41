from django.db import migrations, models


# A legal hold's law and a source's name are given in Danish and English. Text loaded before then stood for
# both languages, so it is copied into both, in the rows and in each version's stored document.
def texts_split(apps, schema_editor):
    LegalHold = apps.get_model("dsr", "LegalHold")
    Source = apps.get_model("dsr", "Source")
    DataMapVersion = apps.get_model("dsr", "DataMapVersion")
    for hold in LegalHold.objects.only("law"):
        hold.law_da = hold.law_en = hold.law
        hold.save(update_fields=["law_da", "law_en"])
    for source in Source.objects.only("name"):
        source.name_da = source.name_en = source.name
        source.save(update_fields=["name_da", "name_en"])
    for version in DataMapVersion.objects.only("snapshot"):
        snapshot = version.snapshot
        for hold in snapshot.get("legal_holds", {}).values():
            if isinstance(hold.get("law"), str):
                hold["law"] = {"da": hold["law"], "en": hold["law"]}
        for source in snapshot.get("sources", {}).values():
            if isinstance(source.get("name"), str):
                source["name"] = {"da": source["name"], "en": source["name"]}
        version.save(update_fields=["snapshot"])


def texts_join(apps, schema_editor):
    LegalHold = apps.get_model("dsr", "LegalHold")
    Source = apps.get_model("dsr", "Source")
    DataMapVersion = apps.get_model("dsr", "DataMapVersion")
    for hold in LegalHold.objects.only("law_da"):
        hold.law = hold.law_da
        hold.save(update_fields=["law"])
    for source in Source.objects.only("name_da"):
        source.name = source.name_da
        source.save(update_fields=["name"])
    for version in DataMapVersion.objects.only("snapshot"):
        snapshot = version.snapshot
        for hold in snapshot.get("legal_holds", {}).values():
            if isinstance(hold.get("law"), dict):
                hold["law"] = hold["law"]["da"]
        for source in snapshot.get("sources", {}).values():
            if isinstance(source.get("name"), dict):
                source["name"] = source["name"]["da"]
        version.save(update_fields=["snapshot"])


class Migration(migrations.Migration):
    dependencies = [
        ("dsr", "0007_rights_and_facts"),
    ]

    operations = [
        migrations.AddField(
            model_name="legalhold",
            name="law_da",
            field=models.CharField(default="", max_length=300),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="legalhold",
            name="law_en",
            field=models.CharField(default="", max_length=300),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="source",
            name="name_da",
            field=models.CharField(default="", max_length=200),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="source",
            name="name_en",
            field=models.CharField(default="", max_length=200),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="source",
            name="groups",
            field=models.JSONField(default=dict),
        ),
        migrations.RunPython(texts_split, texts_join),
        migrations.RemoveField(
            model_name="legalhold",
            name="law",
        ),
        migrations.RemoveField(
            model_name="source",
            name="name",
        ),
    ]
