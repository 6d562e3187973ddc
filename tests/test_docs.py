"""The documentation holds together: a short README, links and anchors that resolve, section
references in the code that name a heading that exists, a complete layout table, every construct
documented."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

from tests.markdown import DOCS, README, ROOT, Link, anchors, documentation_files, github_slug, headings, relative_links, table_after

#: The README is a front door (STYLE.md, "A README is a front door, not the house").
README_MAX_LINES = 300


def test_the_readme_is_at_most_300_lines():
    count = len(README.read_text(encoding="utf-8").splitlines())
    assert count <= README_MAX_LINES, f"README.md has {count} lines; move reference material to a page under docs/ and link it"


# ----------------------------------------------------------------------- links and anchors
@pytest.mark.parametrize("page", documentation_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(page):
    broken = [f"{link}: {problem}" for link in relative_links(page) if (problem := link.problem())]
    assert not broken, "\n".join(broken)


def test_the_link_check_sees_a_missing_file_a_missing_anchor_and_skips_code(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        '# A title\n\n## Second: `x` (y)\n<a id="custom"></a>\n'
        "[ok](#second-x-y) [ok](#custom) [self](page.md#a-title) [url](https://example.com/#nothing)\n"
        "[gone](other.md) [bad anchor](#nope) `[in code](#nope-either)`\n"
        "```\n[fenced](#also-not-checked)\n```\n",
    )
    problems = {link.target: link.problem() for link in relative_links(page)}
    assert set(problems) == {"#second-x-y", "#custom", "page.md#a-title", "other.md", "#nope"}
    assert [target for target, problem in problems.items() if problem] == ["other.md", "#nope"]


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("CI (`.github/workflows/`)", "ci-githubworkflows"),
        ("HCP Terraform (`TF_STATE_BACKEND=cloud`)", "hcp-terraform-tf_state_backendcloud"),
        ("Status contract: what each answer means, and what a client does with it", "status-contract-what-each-answer-means-and-what-a-client-does-with-it"),
        ("2. Handler init (issue 14: measured the way Lambda loads the code)", "2-handler-init-issue-14-measured-the-way-lambda-loads-the-code"),
    ],
)
def test_slugs_are_githubs(heading, slug):
    assert github_slug(heading) == slug


def test_a_repeated_heading_gets_a_numbered_anchor(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Measured\n\n## Measured\n")
    assert {"measured", "measured-1"} <= anchors(page)


def test_the_readme_links_every_docs_page():
    readme = {link.resolve()[0] for link in relative_links(README)}
    missing = [str(page.relative_to(ROOT)) for page in sorted(DOCS.glob("*.md")) if page not in readme]
    assert not missing, f"README.md's 'Where to read more' does not link {missing}"


# ------------------------------------------------------- section references in code and config
#: "README, 'Deploy'", 'docs/security.md, "Security"', 'bench/README.md, "First run"': a file and a
#: section title (or the start of one) in quotes, the way code, comments and messages point a reader.
_SECTION_REFERENCE = re.compile(r"""(README(?:\.md)?|docs/[\w/.-]+?\.md|bench/README\.md),?\s+(?:section\s+)?(["'])([^"'\n]{2,80}?)\2""")
#: Recorded Terraform plans of older revisions (rehearsal fixtures) quote what they quoted then; the
#: Pipfile is edited only with a dependency change (its comments point at the CDK Terrain and
#: deviations pages: docs/cdk-terrain.md, docs/deviations.md); this file quotes stale ones on purpose.
_REFERENCE_EXEMPT = ("tests/rehearsal/plans/", "Pipfile", "tests/test_docs.py")


def tracked_text_files() -> list[tuple[Path, str]]:
    """The files git tracks, text only, each with its text (a copy without .git: every file under the root)."""
    try:
        listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: git ls-files is needed to list the project's files")
    files: list[tuple[Path, str]] = []
    for name in listed:
        path = ROOT / name
        if name.startswith(_REFERENCE_EXEMPT) or name.endswith(".lock") or not path.is_file():
            continue
        try:
            files.append((path, path.read_text(encoding="utf-8")))
        except UnicodeDecodeError:
            continue
    return files


def section_references(text: str) -> list[tuple[str, str]]:
    """(file, quoted section title) of every section reference in ``text``."""
    return [(file, title) for file, _, title in _SECTION_REFERENCE.findall(text)]


def names_a_heading(file: str, title: str) -> bool:
    """``title`` starts a heading of ``file`` (backticks and case aside), or is one of its anchors."""
    path = ROOT / ("README.md" if file == "README" else file)
    if not path.exists():
        return False
    wanted = title.replace("`", "").lower().strip()
    return title in anchors(path) or any(h.replace("`", "").lower().startswith(wanted) for h in headings(path))


def test_every_section_reference_names_a_heading_that_exists():
    stale = [f"{path.relative_to(ROOT)}: {file}, {title!r}" for path, text in tracked_text_files() for file, title in section_references(text) if not names_a_heading(file, title)]
    assert not stale, "these point at a section that is not (or no longer) there; point them at its page:\n" + "\n".join(stale)


def test_the_reference_check_reads_the_forms_the_code_uses():
    text = """(README, 'Deploy') README "Security" renders; docs/runbook.md, section 'Alarm runbook' bench/README.md, "First run" README.md, 'Xy'"""
    assert section_references(text) == [
        ("README", "Deploy"),
        ("README", "Security"),
        ("docs/runbook.md", "Alarm runbook"),
        ("bench/README.md", "First run"),
        ("README.md", "Xy"),
    ]
    assert names_a_heading("README", "Quick start") and names_a_heading("bench/README.md", "First run")
    assert not names_a_heading("README", "Alarm runbook") and not names_a_heading("docs/nothing.md", "Anything")


# ----------------------------------------------------------------------- the layout table
def layout_paths() -> str:
    """The first column of the README's layout table, joined."""
    return " ".join(row[0] for row in table_after(README.read_text(encoding="utf-8"), "| path | what |"))


def test_the_layout_table_lists_every_top_level_folder_and_every_tests_folder():
    folders = {path.relative_to(ROOT).parts[0] for path, _ in tracked_text_files() if len(path.relative_to(ROOT).parts) > 1}
    folders.discard(".github")
    wanted = {f"`{name}/`" for name in folders} | {"`.github/workflows/`"}
    wanted |= {f"`tests/{sub.name}/`" for sub in (ROOT / "tests").iterdir() if sub.is_dir() and any(sub.glob("*.py"))}
    listed = layout_paths()
    missing = sorted(name for name in wanted if name not in listed)
    assert not missing, f"README.md's layout table does not list {missing}"


# ----------------------------------------------------------------------- constructs
def construct_classes() -> list[str]:
    """Every class in constructs_lib/ that subclasses ``Construct``."""
    names = []
    for module in sorted((ROOT / "constructs_lib").rglob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(isinstance(base, ast.Name) and base.id == "Construct" for base in node.bases):
                names.append(node.name)
    return names


def test_docs_constructs_has_a_section_for_every_construct():
    sections = " ".join(headings(DOCS / "constructs.md"))
    classes = construct_classes()
    assert {"PipelineAlarms", "OrdersDashboard", "EventSweep", "OrdersRestApi"} <= set(classes)
    missing = [name for name in classes if f"`{name}`" not in sections]
    assert not missing, f"docs/constructs.md has no section for {missing}: its props, defaults and what it creates"


def test_a_link_is_reported_with_its_place():
    link = Link(README, 3, "docs/nothing.md#x")
    assert str(link) == "README.md:3: (docs/nothing.md#x)" and "does not exist" in (link.problem() or "")
