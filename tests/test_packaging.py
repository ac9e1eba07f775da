"""Packaging invariants: README commands, CI script, package list, shipped data."""

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- setup-commands -->\s*```(?:bash|sh)?\n(.*?)```", text, re.S)
    assert block, "README.md lost its setup-commands block"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_readme_has_exactly_two_setup_commands():
    commands = _readme_commands()
    assert len(commands) == 2
    assert commands[0].endswith("fairkit compare") or commands[0].endswith("fairkit audit")
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert _readme_commands()[1] in ci.splitlines()


def test_every_subpackage_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "fairkit").rglob("__init__.py")
    }
    assert found | {"fairkit._data"} == listed


def test_every_data_file_is_shipped_and_checksummed():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["fairkit._data"]
    data = ROOT / "datasets"
    shipped = {p for pat in patterns for p in data.glob(pat) if p.is_file()}
    files = {p for p in data.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert files == shipped
    sums = {line.split()[1] for line in (data / "SHA256SUMS").read_text().splitlines() if line}
    assert {str(p.relative_to(data)) for p in files} - {"SHA256SUMS", "SOURCES.md"} == sums


def test_readme_links_every_notebook_and_each_link_exists():
    text = (ROOT / "README.md").read_text()
    links = set(re.findall(r"\]\((notebooks/[^)]+\.ipynb)\)", text))
    on_disk = {f"notebooks/{p.name}" for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert on_disk <= links, f"notebooks missing from README: {on_disk - links}"


def test_notebooks_are_stripped_and_end_with_their_checks():
    # outputs stay out of git; the last code cell asserts the lesson's claims (issue #10)
    import json

    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert len(notebooks) == 9, [p.name for p in notebooks]
    for path in notebooks:
        cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        dirty = [i for i, c in enumerate(cells) if c.get("outputs") or c.get("execution_count")]
        assert not dirty, f"{path.name}: code cells {dirty} carry outputs; strip them"
        last = "".join(cells[-1]["source"])
        assert re.search(r"^\s*assert ", last, re.M), f"{path.name}: last cell asserts nothing"
