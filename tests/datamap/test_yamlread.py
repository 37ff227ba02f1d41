"""The data map's YAML is read within budgets: alias bombs, deep nesting and duplicate keys are refused early."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from dsr.datamap.parsing import datamap_parse
from dsr.datamap.schema import DataMapInvalid
from dsr.datamap.yamlread import MAX_BYTES, YamlRefused, yaml_read
from dsr.models import AuditEvent, DataMapVersion
from tests.datamap.conftest import DEMO_MAP
from tests.datamap.hostile import HOSTILE, PEAK_LIMIT_BYTES, alias_bomb, peak_of


def test_the_alias_bomb_is_the_billion_laughs_shape_in_a_few_kilobytes():
    text = alias_bomb()
    assert 1_000 < len(text.encode()) < 20_000
    assert text.count("*l") == 90


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_file_is_refused_naming_the_line_with_bounded_memory(name):
    text, problem = HOSTILE[name]
    raised, peak = peak_of(lambda: datamap_parse(text))
    assert isinstance(raised, DataMapInvalid), raised
    assert problem in str(raised)
    assert len(raised.errors) == 1
    assert peak < PEAK_LIMIT_BYTES


@pytest.mark.parametrize("name", HOSTILE)
def test_the_load_command_refuses_a_hostile_file_and_changes_nothing(db, tmp_path, capsys, name):
    call_command("dsr_load_datamap", str(DEMO_MAP))
    events = AuditEvent.objects.count()
    text, problem = HOSTILE[name]
    path = tmp_path / "map.yaml"
    path.write_text(text, encoding="utf-8")

    for check in ([], ["--check"]):
        raised, peak = peak_of(lambda check=check: call_command("dsr_load_datamap", str(path), *check))
        assert isinstance(raised, CommandError), raised
        assert "nothing was loaded" in str(raised)
        assert problem in capsys.readouterr().err
        assert peak < PEAK_LIMIT_BYTES

    assert DataMapVersion.objects.count() == 1
    assert DataMapVersion.objects.get(active=True).source_path == str(DEMO_MAP)
    assert AuditEvent.objects.count() == events


def test_a_duplicate_key_is_refused_even_where_the_copies_are_identical():
    with pytest.raises(YamlRefused, match="line 2, column 1: the key 'a' appears twice"):
        yaml_read("a: 1\na: 1\n")


def test_an_error_names_a_long_key_without_repeating_it_whole():
    key = "k" * 5000
    with pytest.raises(YamlRefused) as refused:
        yaml_read(f"{key}: 1\n{key}: 2\n")
    assert len(str(refused.value)) < 200


def test_a_recursive_alias_is_refused():
    with pytest.raises(YamlRefused, match="refers to the collection it is in"):
        yaml_read("a: &a [1, *a]\n")


def test_a_file_over_the_size_limit_is_refused_before_it_is_read():
    with pytest.raises(YamlRefused, match="larger than 1024 KiB"):
        yaml_read("a: " + "x" * MAX_BYTES + "\n")


def test_a_few_anchors_and_merge_keys_still_load():
    document = yaml_read(
        "base: &base {kind: manual, owner: a}\nother:\n  <<: *base\n  owner: b\nlist: [*base, *base]\n"
    )
    assert document["other"] == {"kind": "manual", "owner": "b"}
    assert document["list"] == [{"kind": "manual", "owner": "a"}] * 2


def test_the_demo_map_reads_as_before():
    sources = datamap_parse(DEMO_MAP.read_text(encoding="utf-8")).sources
    assert list(sources) == ["shop", "chats", "payments", "newsletter", "adpartner", "meta", "google"]


def test_the_load_command_refuses_a_file_over_the_size_limit_before_reading_it(db, tmp_path):
    path = tmp_path / "huge.yaml"
    with path.open("wb") as out:
        out.truncate(MAX_BYTES + 1)
    with pytest.raises(CommandError, match="larger than 1024 KiB"):
        call_command("dsr_load_datamap", str(path), "--check")
    assert not DataMapVersion.objects.exists()
