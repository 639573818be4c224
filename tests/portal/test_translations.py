"""ALL-4: the portal ships in English, Polish, German, French and Czech. Each catalogue compiles (msgfmt
checks every placeholder against its English original), is loaded (``make install`` compiles it), and a
page asked for in that language is written in it."""

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = [code for code, _name in settings.LANGUAGES if code != "en"]


def _statistics(code: str) -> str:
    po = ROOT / "locale" / code / "LC_MESSAGES" / "django.po"
    assert po.exists(), f"no catalogue for {code}"
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stderr


@pytest.mark.parametrize("code", TRANSLATED)
def test_all4_every_catalogue_compiles_with_its_placeholders(code):
    assert re.search(r"\d+ translated message", _statistics(code))


@pytest.mark.parametrize("code", TRANSLATED)
def test_all4_every_catalogue_is_complete(code):
    """Nothing a person reads falls back to English: no untranslated or fuzzy entry (``make messages``
    brings the catalogues up to date and prints what each lacks)."""
    stats = _statistics(code)
    assert "untranslated" not in stats and "fuzzy" not in stats, f"{code}: {stats.strip()}"


def test_all4_every_string_of_the_code_is_in_every_catalogue(tmp_path):
    """A string added to the code or a template and not translated fails here, not in front of a customer:
    ``makemessages`` is run, as ``make messages`` runs it, on a copy of the tree, and every catalogue it
    writes must still be complete."""
    skipped = {".git", ".venv", "node_modules", "tests", "bench", "test-artifacts", "media", "var", "static"}
    copy = tmp_path / "tree"
    shutil.copytree(
        ROOT,
        copy,
        ignore=lambda folder, names: (
            [n for n in names if n in skipped or n == "__pycache__" or n.endswith((".mo", ".pyc"))]
            if Path(folder) == ROOT
            else [n for n in names if n == "__pycache__" or n.endswith((".mo", ".pyc"))]
        ),
    )
    languages = [arg for code in TRANSLATED for arg in ("-l", code)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--no-obsolete", *languages],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for code in TRANSLATED:
        po = copy / "locale" / code / "LC_MESSAGES" / "django.po"
        stats = subprocess.run(
            ["msgfmt", "--statistics", "-o", "/dev/null", str(po)], capture_output=True, text=True, timeout=60
        ).stderr
        assert "untranslated" not in stats and "fuzzy" not in stats, (
            f"{code}: {stats.strip()} (run `make messages` and translate what it adds)"
        )


@pytest.mark.parametrize("code", TRANSLATED)
def test_all4_the_catalogue_is_loaded(code):
    mo = ROOT / "locale" / code / "LC_MESSAGES" / "django.mo"
    assert mo.exists(), "run `make install`: it compiles locale/*/LC_MESSAGES/django.po"
    with translation.override(code):
        assert translation.gettext("Log in") != "Log in"
        assert translation.gettext("Orders") != "Orders"


@pytest.mark.django_db
@pytest.mark.parametrize("code", TRANSLATED)
def test_all4_a_page_asked_for_in_a_language_is_written_in_it(client, code):
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE=code)
    assert response.status_code == 200
    assert response["Content-Language"] == code
    page = response.content.decode()
    assert f'lang="{code}"' in page
    with translation.override(code):
        assert translation.gettext("Log in") in page


def test_the_image_installs_every_dependency_without_a_list_of_apps():
    """The Dockerfile installs the dependencies read from pyproject.toml and copies the whole tree: a new
    app cannot be left out of the image (``centre`` once was, and ``pip install .`` could not build)."""
    text = (ROOT / "Dockerfile").read_text()
    step = re.search(r'RUN (python -c "import tomllib.*?)\s*\\\n\s*> /tmp/requirements.txt', text, re.S)
    assert step, "the Dockerfile reads the dependencies from pyproject.toml"
    command = step.group(1).replace("python -c", "python3 -c", 1)
    result = subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    wanted = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert result.stdout.splitlines() == wanted
    assert "msgfmt" in text and "COPY . ." in text
