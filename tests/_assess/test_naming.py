"""The naming rule shared by the openness report and the BOM."""

from __future__ import annotations

from pathlib import Path

import pytest

import modeltrust
from helpers.openness import write_repo
from modeltrust._assess import naming


@pytest.mark.parametrize("title", [
    "Model Card for Model ID", "Uploaded model", "Uploaded  model", "Model Card",
    "Model card", "README", "{{ model_id }}",
    "Model Card for {{ model_id | default('Model ID', true) }}", "**Model Card**", "", "  ",
    "<model_id>",
])
def test_template_placeholders_are_not_names(title: str) -> None:
    assert naming.is_placeholder(title)
    assert naming.model_name(None, title=title) is None


def test_naming_rule_takes_the_first_real_name() -> None:
    assert naming.model_name("Uploaded model", "tiny-chat", "folder") == "tiny-chat"
    assert naming.model_name(None, None, "my-folder", title="Great Model") == "my-folder"
    assert naming.model_name(None, title="Model Card for acme/tiny-chat") == "acme/tiny-chat"
    assert naming.model_name(None, title="all-MiniLM-L6-v2") == "all-MiniLM-L6-v2"
    assert naming.model_name("  spaced \n name ") == "spaced name"
    assert len(naming.model_name("x" * 5000) or "") == naming.MAX_NAME


def test_names_read_as_they_are() -> None:
    assert naming.model_name("evil\x1b[31m\nname\u202e") == "evil [31m name"
    assert naming.model_name("\u202e\u200b", "fallback") == "fallback"


def test_openness_names_a_folder_called_model_by_its_heading(tmp_path: Path) -> None:
    """Openness and the BOM agree: a ``model`` folder is named by the card's H1."""
    root = write_repo(tmp_path / "model", {"license": "mit"}, "# all-MiniLM-L6-v2\n\nText.\n")
    assert modeltrust.openness(root).lineage.model_name == "all-MiniLM-L6-v2"
    named = write_repo(tmp_path / "tiny-chat", {"license": "mit"}, "# Uploaded model\n")
    assert modeltrust.openness(named).lineage.model_name == "tiny-chat"
