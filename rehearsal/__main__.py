"""``bin/rehearse`` (``python -m rehearsal`` in the project's environment; ``make rehearse`` runs it too): rehearse a deploy of one stack."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline_config import ConfigError
from rehearsal.plan_guard import add_allow_arguments, allow_entries
from rehearsal.runner import OPTIONS_CONTEXT, TARGETS, UNTIL_CHOICES, Rehearsal, RehearsalOptions

EPILOG = """\
bin/rehearse sets up the project's environment on first use and keeps these exit codes;
make rehearse ENV=<suffix> ARGS="..." runs the same, but make turns every failure into its own exit 2.

exit codes: 0 the rehearsal passed; 1 a phase failed, or the guard stopped a plan that loses data
(the failing resource and the provider's error are printed; what was applied is destroyed);
2 bad arguments. With --until drift, terraform's -detailed-exitcode: 0 no drift, 2 drift,
1 the stack could not be checked (never "no drift"); read --drift-report to tell 2 from bad arguments.

examples:
  bin/rehearse                                     # dev: synth, init, validate, apply to moto, use, re-plan, drift check, destroy
  bin/rehearse --from HEAD                         # upgrade: deploy HEAD, put orders in, upgrade to the working tree, check the orders
  bin/rehearse --from main --allow-data-loss aws_dynamodb_table.orders-table_B86164D2   # a replacement on purpose
  bin/rehearse --env staging --until plan
  make rehearse ENV=staging ARGS="--until plan"    # the same through make (every failure exits 2)
  bin/rehearse --env dev --target aws --until plan --plan-text plan.txt --review-file review.md   # what the PR workflow runs
  bin/rehearse --env dev --target aws --until plan --workdir deploy/ --review-file review.md   # the deploy workflow: plan, review ...
  bin/rehearse --env dev --target aws --apply-reviewed deploy/ --outputs-file outputs.json   # ... then apply exactly that plan
  bin/rehearse --env prod --target aws --until drift --drift-report drift.json   # the nightly drift check
environment:
  TF_PROVIDER_MIRROR  a filesystem mirror holding registry.terraform.io/hashicorp/aws (overrides discovery)
  TERRAFORM           the terraform binary (default: terraform on PATH)
"""


def parse_args(argv: list[str] | None = None) -> RehearsalOptions:
    """Command-line arguments as RehearsalOptions."""
    parser = argparse.ArgumentParser(
        prog="bin/rehearse",
        description="Rehearse a deploy: synthesize one stack, then terraform init, validate, apply to a local AWS emulator (moto), "
        "use what it created, plan again (no changes expected), change it out of band (the drift check must report exactly that), destroy.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--env", "--suffix", dest="suffix", default="dev", help="environment suffix of the stack: dev (default), staging, prod, or e.g. pr-42")
    parser.add_argument("--stack", help="the stack to take when the synth writes several (--env account writes one per region), e.g. orders-account-us-east-1")
    parser.add_argument(
        "--until",
        choices=UNTIL_CHOICES,
        default="all",
        help="validate: stop after terraform validate; plan: one plan, reviewed by the guard, no apply; drift (--target aws): the nightly refresh-only drift check; all (default): the full rehearsal",
    )
    parser.add_argument(
        "--from",
        dest="from_rev",
        metavar="REV",
        help="upgrade rehearsal: deploy git revision REV first, put orders into it, then plan, review, apply and check the upgrade to the working tree",
    )
    add_allow_arguments(parser)
    parser.add_argument("--review-file", type=Path, help="also write the guard's markdown summary of the reviewed plan to this file")
    parser.add_argument("--stored-orders", type=int, default=40, help="upgrade rehearsal: orders stored before the upgrade (default 40)")
    parser.add_argument("--queued-orders", type=int, default=10, help="upgrade rehearsal: orders left waiting in the queue during the upgrade (default 10)")
    parser.add_argument("--target", choices=TARGETS, default="moto", help="moto (default): the rehearsal's own emulator; aws: the shipped backend and your credentials, validate/plan only")
    parser.add_argument("--workdir", type=Path, help="put the synth output, working copy, state and logs here (default: a new temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir after a successful run")
    parser.add_argument("--moto-port", type=int, default=0, help="port of the emulator on 127.0.0.1 (default: a free one)")
    parser.add_argument("--no-pipeline-check", dest="pipeline_check", action="store_false", help="skip running the handlers against what was applied")
    parser.add_argument("--plan-text", dest="plan_text_file", type=Path, help="also write the plan's text output to this file")
    parser.add_argument("--no-drift-check", dest="drift_check", action="store_false", help="full rehearsal: skip the rehearsed drift check after the re-plan")
    parser.add_argument("--drift-report", dest="drift_report_file", type=Path, metavar="FILE", help="with --until drift: write the outcome (status, drift, the issue's title and body) to FILE as JSON")
    parser.add_argument("--apply-reviewed", type=Path, metavar="DIR", help="with --target aws: apply exactly the plan that --until plan --workdir DIR saved and the guard passed")
    parser.add_argument("--outputs-file", type=Path, metavar="FILE", help="with --apply-reviewed: write the stack's outputs to FILE as `cdktf output --outputs-file` does (for ordersctl)")
    args = parser.parse_args(argv)
    values = vars(args)
    try:
        values["allow_data_loss"] = tuple(allow_entries(values.pop("allow_data_loss"), values.pop("allow_data_loss_from")))
    except ValueError as error:
        parser.error(str(error))
    options = RehearsalOptions(**values)
    problems = options.problems()
    if problems:
        # As main.py and the local pipeline print a ConfigError: every problem, then exit 2 (bad arguments).
        print(f"error: {ConfigError(problems, context=OPTIONS_CONTEXT)}", file=sys.stderr)
        raise SystemExit(2)
    return options


def main(argv: list[str] | None = None) -> int:
    """Run one rehearsal; 0 when it passed (``--until drift``: 0 no drift, 2 drift, 1 not checked)."""
    options = parse_args(argv)
    report = Rehearsal(options).run()
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
