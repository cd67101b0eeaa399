import ast
import importlib.util
import re
import subprocess
import sys
import tempfile
import zipfile
from email.parser import HeaderParser
from pathlib import Path

from odoo.tests import BaseCase, tagged
from odoo.tools import html_sanitize

ADDON = Path(__file__).resolve().parents[1]
REPO = ADDON.parent
DESCRIPTION = ADDON / "static" / "description"
# whool's PEP 517 hook, run as a build frontend would: in the add-on's folder, with no network.
BUILD_WHEEL = "import sys; from whool.buildapi import build_wheel; print(build_wheel(sys.argv[1]))"


def git_files(folder):
    """The files git tracks or would track (not ignored) under folder, relative to it."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return {name for name in listed if (folder / name).is_file()}


def requirement_names(path):
    names = set()
    for line in path.read_text().splitlines():
        requirement = line.split("#")[0].strip()
        if requirement:
            names.add(re.split(r"[=<>!~;\[ ]", requirement)[0].lower())
    return names


class WheelChecks:
    """The checks of an add-on's wheel, built as OCA's, odoo-addon-<name>, with
    whool: it holds everything Odoo loads from the add-on and nothing else.
    Shared with the glue add-ons' own TestWheel (``addon``: the add-on's folder)."""

    addon = ADDON
    #: Odoo's runner runs only the tests a class defines itself, unless told
    #: to run the inherited ones too (these).
    allow_inherited_tests_method = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if importlib.util.find_spec("whool") is None:
            raise AssertionError(
                f"whool is not installed in {sys.executable}: pip install -r requirements-dev.txt (it pins whool)"
            )
        cls.prefix = f"odoo/addons/{cls.addon.name}/"
        cls.manifest = ast.literal_eval((cls.addon / "__manifest__.py").read_text())
        out = tempfile.TemporaryDirectory()
        cls.addClassCleanup(out.cleanup)
        build = subprocess.run(
            [sys.executable, "-c", BUILD_WHEEL, out.name], cwd=cls.addon, capture_output=True, text=True, check=False
        )
        if build.returncode:
            raise AssertionError(f"whool could not build the wheel:\n{build.stdout}\n{build.stderr}")
        cls.wheel = Path(out.name) / build.stdout.strip().splitlines()[-1]
        with zipfile.ZipFile(cls.wheel) as archive:
            cls.names = set(archive.namelist())
            metadata = next(name for name in cls.names if name.endswith(".dist-info/METADATA"))
            cls.metadata = HeaderParser().parsestr(archive.read(metadata).decode())
        cls.addon_files = {name.removeprefix(cls.prefix) for name in cls.names if name.startswith(cls.prefix)}

    def test_name_and_version(self):
        version = re.escape(self.manifest["version"])
        self.assertRegex(self.manifest["version"], r"^18\.0\.\d+\.\d+\.\d+$")
        # After the manifest's version, whool counts the commits since the version changed (".N"),
        # or marks uncommitted changes to that version (".dev1").
        wheel_name = rf"^odoo_addon_{self.addon.name}-{version}(\.\d+|\.dev\d+)?-py3-none-any\.whl$"
        self.assertRegex(self.wheel.name, wheel_name)
        self.assertEqual(self.metadata["Name"], f"odoo-addon-{self.addon.name}")
        self.assertTrue(self.metadata["Version"].startswith(self.manifest["version"]), self.metadata["Version"])
        self.assertEqual(self.metadata["License"], self.manifest["license"])

    def test_requirements(self):
        requires = set(self.metadata.get_all("Requires-Dist"))
        self.assertIn("odoo==18.0.*", requires)
        self.assertEqual(self.metadata["Requires-Python"], ">=3.10")
        # whool turns the manifest's python external dependencies into requirements, and
        # requirements.txt installs them.
        python_dependencies = {name for name in requires if not name.startswith("odoo")}
        self.assertEqual(python_dependencies, set(self.manifest.get("external_dependencies", {}).get("python", [])))
        self.assertLessEqual(python_dependencies, requirement_names(REPO / "requirements.txt"))
        # Each add-on it depends on from this repository is a requirement too.
        ours = {name for name in self.manifest["depends"] if (REPO / name / "__manifest__.py").exists()}
        self.assertEqual({f"odoo-addon-{name}==18.0.*" for name in ours}, {r for r in requires if "-addon-" in r})

    def test_what_odoo_loads_is_in_the_wheel(self):
        expected = {"__manifest__.py", "__init__.py", "static/description/index.html", "static/description/icon.png"}
        expected |= set(self.manifest["data"])
        expected |= {f"i18n/{path.name}" for path in (self.addon / "i18n").glob("*.po*")}
        self.assertIn("i18n/zh_CN.po", expected)
        expected |= {str(path.relative_to(self.addon)) for path in (self.addon / "migrations").rglob("*.py")}
        self.assertEqual(expected - self.addon_files, set(), "whool packages only the files git tracks: git add them")

    def test_every_addon_file_and_nothing_else(self):
        # whool leaves out pyproject.toml, its own configuration.
        shipped = git_files(self.addon) - {"pyproject.toml"}
        self.assertEqual(shipped - self.addon_files, set(), "whool packages only the files git tracks: git add them")
        self.assertEqual(self.addon_files - shipped, set())
        self.assertFalse([name for name in self.names if "__pycache__" in name or name.endswith(".pyc")])
        outside = {name for name in self.names if not name.startswith(self.prefix) and ".dist-info/" not in name}
        self.assertEqual(outside, set())


@tagged("post_install", "-at_install")
class TestWheel(WheelChecks, BaseCase):
    """The add-on's own wheel, odoo-addon-customer_tiering."""

    def test_requires_what_requirements_txt_installs(self):
        # The add-on's python dependencies are exactly what requirements.txt installs for it at run time.
        requires = {name for name in self.metadata.get_all("Requires-Dist") if not name.startswith("odoo")}
        self.assertEqual(requires, requirement_names(REPO / "requirements.txt"))

    def test_ships_its_migrations(self):
        migrations = {str(path.relative_to(ADDON)) for path in (ADDON / "migrations").rglob("*.py")}
        self.assertTrue(migrations, "the add-on has migration scripts")
        self.assertLessEqual(migrations, self.addon_files)


@tagged("post_install", "-at_install")
class TestAppPage(BaseCase):
    """static/description/index.html, the app page, is generated from the OCA readme fragments."""

    def test_index_html_is_generated_from_the_fragments(self):
        if importlib.util.find_spec("markdown") is None:
            self.fail(f"markdown is not installed in {sys.executable}: pip install -r requirements-dev.txt")
        check = subprocess.run(
            [sys.executable, str(REPO / "scripts" / "readme_html.py"), "--check"],
            capture_output=True,
            text=True,
            check=False,
        )
        self.assertEqual(check.returncode, 0, check.stderr)

    def test_fragments(self):
        for fragment in ("DESCRIPTION.md", "CONFIGURE.md", "USAGE.md", "CONTRIBUTORS.md"):
            self.assertTrue((ADDON / "readme" / fragment).read_text().strip(), fragment)

    def test_page_survives_odoo_sanitizer_and_shows_every_screenshot(self):
        page = (DESCRIPTION / "index.html").read_text()
        self.assertNotIn("<script", page)
        self.assertNotIn("<style", page)
        sources = re.findall(r'<img [^>]*src="([^"]+)"', page)
        screenshots = {path.name for path in DESCRIPTION.glob("screenshot_*.png")}
        self.assertEqual(set(sources), screenshots)
        for source in sources:
            self.assertTrue((DESCRIPTION / source).is_file(), source)
        # Odoo's Apps page shows the sanitised page (ir.module.module.description_html).
        sanitized = html_sanitize(page)
        for tag in ("<img ", "<h2", "<h3", "<li>", "<table", "<td>"):
            self.assertEqual(sanitized.count(tag), page.count(tag), tag)
