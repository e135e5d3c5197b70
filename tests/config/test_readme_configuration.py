"""Every variable the settings or the gunicorn config read is in the README's table: an
operator deploys from the README alone (issue 15)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# env.str("NAME" …), env.int(…), _every("task", "NAME", …), os.environ.get("NAME" …)
READS = re.compile(
    r"""(?:env\.\w+\(\s*|_every\(\s*"[\w.]+",\s*|os\.environ\.get\(\s*)"([A-Z][A-Z0-9_]+)\""""
)
# Set by the product or the harness, never by an operator.
NOT_CONFIGURATION = {"RUNTIME_DIRECTORY", "SHADAN_BENCH_SCALE"}


def _variables() -> set[str]:
    sources = [*(ROOT / "config" / "settings").glob("*.py"), ROOT / "deploy" / "gunicorn.conf.py"]
    found = {name for path in sources for name in READS.findall(path.read_text())}
    return found - NOT_CONFIGURATION


def _configuration_section() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("## Configuration")
    return readme[start : readme.index("\n## ", start + 1)]


def test_the_settings_read_the_variables_this_test_looks_for():
    assert {"DJANGO_SECRET_KEY", "EMAIL_HOST", "SHADAN_BEAT_RELAY_MINUTES", "GUNICORN_BIND"} <= (
        _variables()
    )


def test_every_variable_the_settings_read_is_in_the_readmes_configuration_table():
    table = _configuration_section()

    missing = sorted(name for name in _variables() if f"`{name}`" not in table)

    assert missing == []
