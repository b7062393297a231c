"""infra/terraform: checked without a cloud account or the Terraform registry, by the project's own checker
infra/terraform/check (``tfcheck``, built by ``make iac-tools`` on HashiCorp's HCL library): every file parses
and is formatted canonically, every reference resolves, every module call matches its module's variables,
provider configurations exist and are pinned, variables and outputs are documented, secrets are sensitive.

Each rule has a fixture under tests/fixtures/terraform/ that makes exactly that one mistake in an otherwise
valid configuration (``valid/``, which uses every construct the checker must accept).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from memory.settings import PROJECT_ROOT
from tests.unit.infra_tools import run_tool

TERRAFORM = PROJECT_ROOT / "infra" / "terraform"
FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "terraform"

# fixture -> the one finding it must produce: (file:line, rule, part of the message)
BROKEN = {
    "parse": ("main.tf:15", "parse", "Unclosed configuration block"),
    "format": ("main.tf:6", "format", "not formatted canonically"),
    "reference-variable": ("main.tf:36", "reference", "var.open_egres is not declared"),
    "reference-local": ("main.tf:27", "reference", "local.port is not declared"),
    "reference-resource": ("main.tf:60", "reference", "aws_eip.nats is not declared"),
    "reference-data": ("main.tf:24", "reference", "data.aws_region.here is not declared"),
    "reference-module": ("outputs.tf:3", "reference", "module.net is not declared"),
    "reference-module-output": ("outputs.tf:3", "reference", "module.network (./child) has no output vpc_id"),
    "reference-dynamic-iterator": ("main.tf:39", "reference", "egress.value is not declared"),
    "module-input-unknown": ("main.tf:21", "module-input", './child declares no variable "cidr"'),
    "module-input-missing": ("main.tf:17", "module-input", 'required input "cidr_block" of ./child is not given'),
    "module-source": ("main.tf:17", "module-input", 'source "./kid" is not a module directory'),
    "provider": ("main.tf:19", "provider", "provider configuration aws.west is not declared"),
    "provider-alias-of-module": ("main.tf:19", "provider", "aws.others is not declared in"),
    "pinned-missing": ("main.tf:50", "pinned", "provider random is not in required_providers"),
    "pinned-version": ("main.tf:1", "pinned", "provider aws has no version constraint"),
    "documented-variable": ("variables.tf:1", "documented", "variable open_egress has no description"),
    "documented-type": ("variables.tf:1", "documented", "variable open_egress has no type"),
    "documented-output": ("outputs.tf:6", "documented", "output nat_ids has no description"),
    "sensitive-variable": ("variables.tf:7", "sensitive", "variable db_password holds a secret"),
    "sensitive-output": ("outputs.tf:11", "sensitive", "output db_password carries var.db_password"),
}
FINDING = re.compile(r"^(?P<where>\S+:\d+): (?P<rule>[a-z-]+): (?P<message>.*)$")


def findings(path: Path) -> tuple[int, list[tuple[str, str, str]]]:
    done = run_tool("tfcheck", path)
    assert done.returncode in (0, 1), done.stderr
    parsed = []
    for line in done.stdout.splitlines():
        match = FINDING.match(line)
        assert match, line
        where = os.path.relpath(match["where"].rsplit(":", 1)[0], path) + ":" + match["where"].rsplit(":", 1)[1]
        parsed.append((where, match["rule"], match["message"]))
    return done.returncode, parsed


def test_the_project_terraform_passes_every_rule() -> None:
    code, found = findings(TERRAFORM)
    assert (code, found) == (0, [])


def test_the_valid_fixture_passes() -> None:
    assert findings(FIXTURES / "valid") == (0, [])


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_each_rule_catches_its_mistake(case: str) -> None:
    code, found = findings(FIXTURES / case)
    where, rule, message = BROKEN[case]
    assert code == 1
    assert len(found) == 1, found  # that mistake alone: the rest of the fixture is valid
    assert found[0][:2] == (where, rule) and message in found[0][2], found


def test_every_fixture_is_known() -> None:
    assert {p.name for p in FIXTURES.iterdir() if p.is_dir()} == {*BROKEN, "valid"}


def test_the_checker_sees_modules_beyond_the_checked_directory() -> None:
    """Run on one root, a module call's local source is still read, so its inputs and outputs are checked."""
    assert findings(TERRAFORM / "envs" / "prod") == (0, [])
    code, found = findings(FIXTURES / "module-input-missing")
    assert code == 1 and found[0][1] == "module-input"


def _declared(directory: Path, kind: str) -> set[str]:
    text = "\n".join(p.read_text() for p in directory.glob("*.tf"))
    return set(re.findall(rf'^{kind} "([^"]+)"', text, flags=re.MULTILINE))


def test_roots_modules_and_the_dr_seam() -> None:
    """Both environments exist; every module is used; prod exposes what the DR drill and runbook need."""
    modules = {p.name for p in (TERRAFORM / "modules").iterdir() if p.is_dir()}
    sources = set()
    for tf in TERRAFORM.rglob("*.tf"):
        sources |= {Path(s).name for s in re.findall(r'source\s+=\s+"(\.[^"]+)"', tf.read_text())}
    assert modules <= sources, sorted(modules - sources)
    assert {p.name for p in (TERRAFORM / "envs").iterdir()} == {"dev", "prod"}
    prod_outputs = _declared(TERRAFORM / "envs" / "prod", "output")
    assert {
        "dr_kafka_bootstrap",
        "dr_postgres_replica_arn",
        "mirror_maker_deployment",
        "dr_api_hostname",
    } <= prod_outputs
    assert {"primary_region", "dr_region"} <= _declared(TERRAFORM / "envs" / "prod", "variable")
    chart = TERRAFORM / "modules" / "memstream_release" / "../../../helm/memstream"
    assert (chart / "Chart.yaml").is_file()  # local.chart_path of the release module
    # The release's Secret (the chart's existingSecret) has every key the chart's pods read.
    release = (TERRAFORM / "modules" / "memstream_release" / "main.tf").read_text()
    keys = yaml.safe_load((chart / "values.yaml").read_text())["secrets"]["keys"]
    for name, key in keys.items():
        if name != "jwtHs256Secret":  # optional: HS256 tokens are refused without it
            assert re.search(rf"^\s+{key}\s+=", release, re.MULTILINE), key


@pytest.mark.skipif(shutil.which("terraform") is None, reason="cross-check only: Terraform itself is not installed")
def test_terraform_fmt_agrees_where_terraform_is_installed() -> None:
    """Where a terraform binary happens to exist, its own `fmt -check` agrees with tfcheck's format rule."""
    env = {**os.environ, "TF_CLI_CONFIG_FILE": os.devnull}
    for path, expected in ((TERRAFORM, 0), (FIXTURES / "valid", 0), (FIXTURES / "format", 3)):
        done = subprocess.run(["terraform", "fmt", "-check", "-recursive", str(path)], env=env, capture_output=True)
        assert done.returncode == expected, (path, done.stdout, done.stderr)
