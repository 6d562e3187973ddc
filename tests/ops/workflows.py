"""Reading the GitHub workflows, and running their github-script steps under node with a stand-in GitHub."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


def load(name: str) -> dict:
    """A workflow file as a dict (YAML 1.1 reads the key ``on`` as True: put it back)."""
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


def steps(doc: dict) -> list[dict]:
    """Every step of every job of a workflow."""
    return [step for job in doc["jobs"].values() for step in job.get("steps", [])]


def script_of(job: dict, name_start: str) -> str:
    """The script of the job's github-script step whose name starts with ``name_start``."""
    (step,) = [s for s in job["steps"] if s.get("uses", "").startswith("actions/github-script") and s.get("name", "").startswith(name_start)]
    return step["with"]["script"]


#: A stand-in for github-script's ``github``, ``context`` and ``core``: every REST call is recorded in ``calls``.
STAND_IN = """
const calls = [];
const record = (name, result) => async (args) => { calls.push([name, args]); return typeof result === 'function' ? result(args) : result; };
const fixtures = JSON.parse(process.env.STAND_IN_FIXTURES || '{}');
const github = {
  paginate: async (method, args) => { calls.push(['paginate:' + method.stubName, args]); return fixtures[method.stubName] || []; },
  rest: {
    issues: {
      listForRepo: Object.assign(() => null, { stubName: 'listForRepo' }),
      listComments: Object.assign(() => null, { stubName: 'listComments' }),
      create: record('issues.create', { data: {} }),
      update: record('issues.update', { data: {} }),
      createComment: record('issues.createComment', { data: {} }),
      updateComment: record('issues.updateComment', { data: {} }),
    },
    repos: {
      listPullRequestsAssociatedWithCommit: Object.assign(() => null, { stubName: 'listPullRequestsAssociatedWithCommit' }),
      getCommit: record('repos.getCommit', () => ({ data: fixtures.getCommit })),
    },
  },
};
const context = { sha: '0123456789abcdef0123', serverUrl: 'https://github.com', runId: 7, repo: { owner: 'o', repo: 'r' }, issue: { number: 42 } };
const summaries = [];
const core = {
  failed: null, warnings: [], infos: [],
  setFailed(message) { this.failed = message; }, warning(message) { this.warnings.push(message); }, info(message) { this.infos.push(message); },
  summary: { addRaw(text) { summaries.push(text); return this; }, async write() { return this; } },
};
"""


def run_github_script(script: str, env: dict[str, str], fixtures: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run a github-script body under node; ``{"calls": [[name, args]], "failed", "warnings", "summaries"}``."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH; the project needs Node.js 20+ (README, Quick start)")
    harness = (
        STAND_IN + "(async () => {\n" + script + "\n})().then(() => process.stdout.write(JSON.stringify({ calls, failed: core.failed, warnings: core.warnings, infos: core.infos, summaries })));\n"
    )
    full_env = {**os.environ, **env, "STAND_IN_FIXTURES": json.dumps(fixtures or {})}
    done = subprocess.run([node, "-e", harness], env=full_env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
