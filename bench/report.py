"""Render results as a side-by-side text table (stdout) and as Markdown (bench/results/latest.md)."""

from __future__ import annotations

Table = tuple[str, list[str], list[list[str]], list[str]]  # title, headers, rows, notes


def _s(value, unit: str = "s", digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


def _med(block: dict | None, key: str):
    return (block or {}).get(key, {}).get("median") if isinstance((block or {}).get(key), dict) else None


def synth_tables(r: dict) -> list[Table]:
    """Tables of the synth section: every framework mode side by side."""
    modes = r.get("modes", ["stock", "ours"])
    labels = [r.get("labels", {}).get(m, m) for m in modes]
    rows = [
        ["python main.py: wall (median)", *[_s(_med(r[m], "wall_s")) for m in modes]],
        ["  relative to cdktf stock", *[f"{r[m].get('ratio_wall', 0):.0%}" for m in modes]],
        ["python main.py: peak RSS, largest process", *[_s(_med(r[m], "max_rss_mib"), " MiB", 0) for m in modes]],
        ["  relative to cdktf stock", *[f"{r[m].get('ratio_max_rss', 0):.0%}" for m in modes]],
        ["Node-side lazy provider index", *["; ".join(r[m].get("node_hook", ["n/a"])) for m in modes]],
    ]
    cli = r.get("cli", {})
    if "skipped" in cli:
        rows.append(["CLI synth", *(["skipped"] * len(modes))])
    elif cli:
        rows.append(["CLI synth (npm CLI, pipenv run): wall (median)", *[_s(_med(cli.get(m), "wall_s")) if m in cli else "-" for m in modes]])
    floor = r["json_floor"]
    notes = [
        f"{r['runs']} interleaved runs per mode; target for python main.py (cdktf lean): <= {r['target_ratio']:.0%} of stock wall and peak RSS not higher -> {'MET' if r['meets_target'] else 'NOT MET'}",
        f"synthesized JSON byte-identical, cdktf stock vs lean: {r['outputs_identical']}"
        + (f"; cdktn vs cdktf lean, same Terraform apart from '//' metadata: {r['cdktn_same_terraform']}" if "cdktn_same_terraform" in r else ""),
        f"floor (python + json.dump of the same documents): {_s(_med(floor, 'wall_s'), digits=3)}, dump only {_s(_med(floor, 'dump_only_s'), digits=3)}, {floor['files']} files, {floor['bytes'] // 1024} KiB",
    ]
    if r.get("not_installed"):
        notes.append(f"not measured, not installed: {', '.join(r['not_installed'])} (make bench installs both frameworks)")
    if cli and "skipped" not in cli:
        notes.append(f"CLI: {cli['runs']} run(s) per mode; pipenv: {cli['pipenv']}" + (f"; CLI not installed: {', '.join(cli['not_installed'])}" if cli.get("not_installed") else ""))
    elif cli:
        notes.append(cli["skipped"][:160])
    stacks = r[modes[0]].get("stacks", [])
    tables: list[Table] = [(f"Synth ({len(stacks)} stacks: {', '.join(stacks)})", ["measure", *labels], rows, notes)]

    b = r.get("breakdown", {})
    bmodes = [m for m in modes if m in b]
    if bmodes:
        phase_labels = [p["phase"] for p in b[bmodes[0]]["phases"]]
        brows = [[label, *[_s(b[m]["phases"][j]["seconds"], digits=3) for m in bmodes]] for j, label in enumerate(phase_labels)]
        brows += [
            ["  of which: AWS provider jsii assembly load (node)", *[_s(b[m]["provider_assembly_load_s"], digits=3) for m in bmodes]],
            ["  of which: provider Python submodules (self time)", *[_s(b[m]["provider_python_submodules_s"], digits=3) for m in bmodes]],
            ["total wall (with -X importtime)", *[_s(b[m]["wall_s_with_importtime"], digits=3) for m in bmodes]],
            ["Python-side provider import (IMPORT_MODE)", *[b[m]["import_mode"] for m in bmodes]],
            ["provider submodules loaded", *[str(b[m]["provider_submodules_loaded"]) for m in bmodes]],
            ["Python modules loaded", *[str(b[m]["modules_loaded"]) for m in bmodes]],
            ["peak RSS: python process", *[_s(b[m]["python_max_rss_mib"], " MiB", 0) for m in bmodes]],
            ["peak RSS: node (jsii kernel)", *[_s(b[m]["node_max_rss_mib"], " MiB", 0) for m in bmodes]],
            ["peak RSS: python + node (sum of peaks)", *[_s(b[m]["python_max_rss_mib"] + b[m]["node_max_rss_mib"], " MiB", 0) for m in bmodes]],
        ]
        rw = r.get("repeated_work", {})
        bnotes = [
            f"median of {b[bmodes[0]]['runs']} probe run(s) per mode; phases are perf_counter marks inside the child",
            (
                f"repeated work in one synth of {rw.get('stacks')} stacks: order schema opened {rw.get('schema_file_opens')}x; "
                f"{rw.get('handler_files')} handler files opened {rw.get('handler_file_opens')}x in total"
            ),
        ]
        tables.append(("Synth breakdown (where the time goes)", ["phase", *[r.get("labels", {}).get(m, m) for m in bmodes]], brows, bnotes))
    tables.extend(_jsii_cache_tables(r.get("jsii_package_cache")))
    return tables


def _jsii_cache_tables(cache: dict | None) -> list[Table]:
    if cache and "error" in cache:
        return [("jsii runtime package cache", ["error"], [[cache["error"].splitlines()[0][:200]]], [])]
    if not cache:
        return []
    crows = [[label, _s(v["wall_s"]), _s(v["provider_assembly_load_s"], digits=3)] for label, v in cache.get("runs", {}).items()]
    cnotes = [
        (
            f"JSII_RUNTIME_PACKAGE_CACHE={cache['setting']}; enabled: {cache['enabled']}; root {cache['root']} exists: {cache['root_exists']} "
            f"({cache['root_size_mib']} MiB, {len(cache['cached_packages'])} package(s))"
        ),
    ]
    if "cold_root_size_mib" in cache:
        cnotes.append(f"a cold cache root holds {cache['cold_root_size_mib']} MiB after one synth")
    return [("jsii runtime package cache (lean synth, one run each)", ["cache state", "wall", "provider assembly load"], crows, cnotes)]


HANDLER_VARIANT_LABELS = {
    "lambda": "Lambda-faithful",
    "lambda-source": "what-if: zip without bytecode",
    "lambda-layer-source": "what-if: layer without bytecode",
    "dev": "old bench (.venv, no LAMBDA_TASK_ROOT)",
}


def _ms(block: dict | None, digits: int = 0) -> str:
    value = (block or {}).get("median")
    return "n/a" if value is None else f"{value * 1000:.{digits}f} ms"


def handlers_tables(r: dict) -> list[Table]:
    """Tables of the handlers-init section: figures per variant, where the time goes, memory sizes."""
    rows = []
    for name, v in r["variants"].items():
        env_name, target = name.split(":")
        ratio = r["ratios"].get(name, {})
        instr = r.get("instructions", {}).get(name)
        rows.append(
            [
                HANDLER_VARIANT_LABELS.get(env_name, env_name),
                target,
                _ms(v["init_wall_s"]),
                _ms(v["init_cpu_s"]),
                f"{ratio['wall']['ratio_of_medians']:.2f}x / {ratio['cpu']['ratio_of_medians']:.2f}x" if ratio else "1 (baseline)",
                f"{instr:.0f} M" if isinstance(instr, (int, float)) else "",
                f"{_ms(v.get('first_request_wall_s'))} / {_ms(v.get('first_request_cpu_s'))}" if "first_request_wall_s" in v else "",
                f"{_ms(v.get('warm_request_wall_s'), 1)} / {_ms(v.get('warm_request_cpu_s'), 1)}" if "warm_request_wall_s" in v else "",
                str(v["modules_imported"]),
            ]
        )
    env = r["environment"]
    checks = r.get("target_checks", {})
    met = ", ".join(
        f"{h}: {'MET' if ok else 'NOT MET'}" + (f" (instructions {checks[h]['instructions_ratio']:.2f}x)" if checks.get(h, {}).get("instructions_ratio") else "") for h, ok in r["meets_target"].items()
    )
    notes = [
        f"{r['runs']} rounds; in each, every variant is one fresh process, in rotating order; medians. Target: handler init <= {r['target_ratio']:.2f}x bare (Lambda-faithful; wall, and instructions when measured) -> {met}",
        "init = import + the handler's clients() (bare: import boto3 + the same 3 clients); ratio = handler median / bare median of the same environment, wall / CPU",
        "instructions: callgrind, init only (minus a probe that imports nothing), the same on a busy or idle machine",
        f"Lambda-faithful: {env['python_note']}; sys.path = {env['sys_path_of_a_probe']}; {env['flags']}",
        f"task = the deployment zip (sources sha256 {env['zip_sha256'][:12]}; bytecode compiled by: {env.get('zip_bytecode', 'none')}), layer = {env['layer']}, runtime = boto3 {env['boto3_version']}",
        "requests (first = the container's first, then a warm one): handler wall / CPU, against a local moto server; api: POST /orders, processor: a batch of 10",
    ]
    tables: list[Table] = [
        ("Handler cold-start init", ["environment", "target", "init wall", "init CPU", "vs bare (wall/CPU)", "instructions", "1st request wall/CPU", "warm request wall/CPU", "modules"], rows, notes)
    ]

    top_rows = []
    for handler, top in r.get("importtime_top5", {}).items():
        for i, row in enumerate(top, 1):
            top_rows.append([handler, str(i), row["module"], f"{row['self_ms']:.1f} ms", f"{row['cumulative_ms']:.1f} ms", "yes" if row["also_in_bare"] else "no"])
    packages = r.get("import_packages_ms", {})
    top_notes = [f"{t}: self time by package: " + ", ".join(f"{p} {ms:.0f} ms" for p, ms in packages.get(t, [])[:6]) for t in packages]
    tables.append(("Top 5 import costs (-X importtime self time, Lambda-faithful, median of 3)", ["handler", "#", "module", "self", "cumulative", "bare imports it too"], top_rows, top_notes))

    sys_rows = []
    for name, counts in r.get("syscalls", {}).items():
        if isinstance(counts, dict):
            sys_rows.append([name, *(str(counts.get(k, "")) for k in ("newfstatat", "openat", "getdents64", "read", "all_syscalls"))])
    audit = {n: v["fs_events_at_init"] for n, v in r["variants"].items() if n.startswith("lambda:")}
    sys_notes = ["strace -f -c of one whole probe process (start-up + init + exit)"] + [f"{n} audit events during init: {a}" for n, a in audit.items()]
    if sys_rows:
        tables.append(("File-system calls", ["variant", "newfstatat", "openat", "getdents64", "read", "all syscalls"], sys_rows, sys_notes))

    for handler, rows_ in r.get("memory_sizes", {}).items():
        mem_rows = [
            [str(m["memory_mb"]), f"{m['vcpu_share']:.3f}", f"{m['init_ms']} ms", f"{m['first_request_cpu_ms']} ms", f"{m['warm_request_cpu_ms']} ms", f"${m['cold_start_usd_per_million']:.2f}"]
            for m in rows_
        ]
        tables.append(
            (
                f"Expected in Lambda by memory size: {handler}",
                ["memory MB", "vCPU", "init", "1st request (CPU part)", "warm request (CPU part)", "init + 1st request, per million cold starts"],
                mem_rows,
                [r["estimate_assumption"]],
            )
        )
    return tables


def processor_tables(r: dict) -> list[Table]:
    """Tables of the processor section."""
    rows = [
        [
            str(r["batch_size"]),
            _s(r["batch_s"]["median"], "s", 3),
            ", ".join(f"{k} x{v}" for k, v in r["calls_per_batch"].items()),
            str(r["expected_met"]),
        ]
    ]
    notes = [f"{r['batches']} batches against a local moto server; calls counted with a botocore before-call hook on the processor's clients", r["expected"]]
    return [("Processor batch", ["records", "time/batch (median)", "AWS calls per batch", "as expected"], rows, notes)]


def post_tables(r: dict) -> list[Table]:
    """Tables of the POST-latency section: with and without the conflict check."""

    def row(label: str, v: dict) -> list[str]:
        return [label, f"{v['p50']:.2f}", f"{v['p95']:.2f}", f"{v['p99']:.2f}", f"{v['max']:.2f}", str(v["n"])]

    cost = r["check_cost_ms"]
    rows = [
        row("in-process, with the check (as shipped)", r["in_process_with_check_ms"]),
        row("in-process, without the check", r["in_process_without_check_ms"]),
        ["cost of the check (difference)", f"{cost['p50']:+.2f}", f"{cost['p95']:+.2f}", f"{cost['p99']:+.2f}", "", ""],
        row("over HTTP (local API), with the check", r["http_with_check_ms"]),
    ]
    return [("POST /orders latency: the conflict check (GetItem) (ms)", ["path", "p50", "p95", "p99", "max", "n"], rows, [r["note"]])]


def pipeline_tables(r: dict) -> list[Table]:
    """Tables of the pipeline section."""
    lat = r["post_latency_ms"]
    rows = [
        ["POST /orders requests", str(r["requests"]), f"concurrency {r['concurrency']}"],
        ["POST latency p50 / p95 / p99 (client-side)", f"{lat['p50']:.1f} / {lat['p95']:.1f} / {lat['p99']:.1f} ms", f"max {lat['max']:.1f} ms; {lat.get('over_1s', 0)} over 1 s"],
        [
            "  of which TCP connect p50 / p99",
            f"{r['tcp_connect_ms']['p50']:.1f} / {r['tcp_connect_ms']['p99']:.1f} ms",
            f"{r['tcp_connect_ms']['over_1s']} connects over 1 s (SYN retransmits: accept backlog full)",
        ],
        ["POST phase", f"{r['post_phase_s']:.1f} s", f"{r['post_rate_per_s']} requests/s offered and answered"],
        ["accepted (202)", str(r["accepted"]), f"other statuses: {r['other_statuses'] or '-'}; client errors: {r.get('client_errors') or '-'}"],
        ["end-to-end throughput", f"{r['orders_per_s']:.1f} orders/s", f"{r['stored']} stored in {r['end_to_end_s']:.1f}s (first POST to last stored); DLQ: {r.get('dlq_messages', 'n/a')}"],
    ]
    return [("Local pipeline (loopback)", ["measure", "value", "note"], rows, [r.get("note", "")])]


def local_stop_tables(r: dict) -> list[Table]:
    """Table of the local-stop section."""
    rows = [["make local: Ctrl-C to exit", f"{r['median_s']:.2f} s median", f"max {r['max_s']:.2f} s; runs {', '.join(f'{t:.2f}' for t in r['runs_s'])} s"]]
    return [("Stopping the local pipeline", ["measure", "value", "note"], rows, ["SIGINT to make local's process group once its banner is printed (bench/local_stop.py)"])]


def suite_tables(r: dict) -> list[Table]:
    """Tables of the test-suite section."""
    rows = [[mode, _s(v["wall_s"]), v["summary"]] for mode, v in r["modes"].items()]
    return [("Test tiers and suite (one run each)", ["command", "wall", "pytest summary"], rows, [r.get("note", "")])]


def footprint_tables(r: dict) -> list[Table]:
    """Tables of the footprint section."""
    rows = [[label, str(c["locked"]), f"{c['installed']}/{c['locked']}", _s(c["mib"], " MiB", 1), _s(c["own_mib"], " MiB", 1)] for label, c in r["categories"].items()]
    notes = [
        "installed size = files the locked distributions put into .venv (their RECORD); own = not shared with [packages]",
        f".venv in total: {_s(r.get('venv_mib'), ' MiB', 0)}",
    ]
    frows = []
    for name, f in r["frameworks"].items():
        if isinstance(f, dict):
            frows.append([name, _s(f["jsii_cache_mib"], " MiB", 0), _s(f["cli_workspace_node_modules_mib"], " MiB", 0)])
    fnotes = [f"jsii cache root: {r['frameworks'].get('jsii_cache_root')}; node_modules (root + workspaces) in total: {_s(r['frameworks'].get('node_modules_total_mib'), ' MiB', 0)}"]
    return [
        ("Install footprint by Pipfile category", ["category", "locked", "installed", "installed size", "own size"], rows, notes),
        ("Per framework: jsii runtime cache and npm CLI", ["framework", "jsii package cache", "CLI workspace node_modules"], frows, fnotes),
    ]


def first_run_tables(r: dict) -> list[Table]:
    """Tables of the first-run section: one row per ref and command."""
    rows = []
    for ref in r["refs"]:
        for step in ref["steps"]:
            rows.append(
                [
                    ref["commit"][:40],
                    step["command"],
                    f"{step['wall_s']:.0f} s" + ("" if step["returncode"] == 0 else f" (exit {step['returncode']})"),
                    _s(step["venv_mib"], " MiB", 0),
                    _s(step["tools_mib"], " MiB", 0),
                    _s(step["jsii_cache_mib"], " MiB", 0),
                    _s(step["node_modules_mib"], " MiB", 0),
                ]
            )
    notes = [r.get("load_note", ""), "sizes are cumulative after each command, in a fresh clone with empty download and jsii caches"]
    return [("First run on a fresh clone (commands in order)", ["commit", "command", "wall", ".venv", ".tools", "jsii cache", "node_modules"], rows, notes)]


def rehearsal_tables(r: dict) -> list[Table]:
    """One row per stack: each phase's median seconds, and the resource counts."""
    stacks = r["stacks"]
    phases = ["init", "validate", "emulator", "plan", "apply", "pipeline", "re-plan", "drift", "destroy"]
    rows = []
    for name, s in stacks.items():
        times = s["phases_median_s"]
        rows.append(
            [
                name,
                *(_s(times.get(p), digits=1) if p in times else "-" for p in phases),
                _s(s["wall_median_s"], digits=0),
                str(s["planned_to_add"]),
                str(s["applied"]),
                str(s["real_changes_on_replan"]),
                str(s["destroyed"]),
            ]
        )
    provider = {s["provider"] for s in stacks.values()}
    notes = [
        f"median of {r['runs']} full rehearsal(s) per stack (python -m rehearsal --env <suffix>), provider hashicorp/aws {', '.join(sorted(provider))} against moto; apply applies the saved first plan"
    ]
    tables: list[Table] = [("Deploy rehearsal (seconds per phase)", ["stack", *phases, "wall", "planned", "applied", "real changes", "destroyed"], rows, notes)]
    upgrades = r.get("upgrade", {})
    if upgrades:
        upgrade_phases = ["base", "plan", "apply", "seed", "upgrade-plan", "upgrade", "verify", "pipeline", "re-plan", "drift", "destroy"]
        upgrade_rows = [
            [name, *(_s(u["phases_median_s"].get(p), digits=1) if p in u["phases_median_s"] else "-" for p in upgrade_phases), _s(u["wall_median_s"], digits=0)] for name, u in upgrades.items()
        ]
        upgrade_notes = [f"{name}: {u.get('upgrade', '')}" for name, u in upgrades.items()]
        upgrade_notes.append("the rest (synth, prepare, init, validate, emulator, review) takes seconds; base = git archive + synth of the revision")
        tables.append(("Upgrade rehearsal (seconds per phase)", ["scenario", *upgrade_phases, "wall"], upgrade_rows, upgrade_notes))
    return tables


def soak_tables(r: dict) -> list[Table]:
    """The soak: what was sent and how it ended, the faults per kind, throughput and latency."""
    outcome = [
        ["requests (orders)", f"{r['requests']} ({r['orders']})"],
        ["answers", ", ".join(f"{status}: {count}" for status, count in r["statuses"].items())],
        ["accepted (202) orders", str(r["accepted_202"])],
        ["stored as sent", str(r["stored_as_sent"])],
        ["in the DLQ with a reason", str(r["dlq_with_reason"])],
        ["unaccounted", str(r["unaccounted"])],
        ["invariants broken", str(len(r["violations"])) + ("" if not r["violations"] else f": {r['violations'][:3]}")],
        ["events published / DLQ messages", f"{r['events']} / {r['dlq_messages']}"],
        ["poller crashes / sweeps (events they published)", f"{r.get('poller_crashes')} / {r.get('sweeps')} ({r.get('swept_events')})"],
        ["throughput", f"{r['orders_per_s']} orders/s ({r.get('total_s')} s in all, traffic {r.get('traffic_s')} s)"],
        ["POST latency p50 / p95 / p99 / max", " / ".join(f"{r['post_latency_ms'][k]:.0f} ms" for k in ("p50", "p95", "p99", "max"))],
    ]
    faults = [[kind, str(count)] for kind, count in sorted(r["faults"].items())]
    notes = [f"{r['fault_share']:.1%} of {r['aws_calls']} AWS calls of the handlers faulted; options {r.get('options')}", r.get("note", "")]
    return [("Fault-injection soak", ["", "value"], outcome, notes), ("Soak: faults injected per kind", ["fault", "count"], faults, [])]


RENDERERS = {
    "soak": soak_tables,
    "rehearsal": rehearsal_tables,
    "synth": synth_tables,
    "footprint": footprint_tables,
    "first-run": first_run_tables,
    "handlers": handlers_tables,
    "processor": processor_tables,
    "post": post_tables,
    "pipeline": pipeline_tables,
    "local-stop": local_stop_tables,
    "suite": suite_tables,
}


def _tables(results: dict) -> list[Table]:
    tables: list[Table] = []
    for name, section in results["sections"].items():
        if "error" in section:
            tables.append((f"{name}: FAILED", ["error"], [[section["error"].splitlines()[0][:200]]], section["error"].splitlines()[1:8]))
            continue
        try:
            rendered = RENDERERS[name](section)
            when = section.get("measured", {})
            if when and rendered:
                title, headers, rows, notes = rendered[0]
                rendered[0] = (title, headers, rows, [*notes, f"section measured {when.get('date', '?')} (1-minute load at start {when.get('load_avg_1m_at_start', '?')})"])
            tables.extend(rendered)
        except (KeyError, TypeError) as error:  # a partial result must not lose the JSON file
            tables.append((f"{name}: (cannot render: {error!r})", ["raw"], [[str(section)[:200]]], []))
    return tables


def render_table(results: dict) -> str:
    """Plain-text, column-aligned tables for the terminal."""
    m = results["machine"]
    out = [f"Machine: {m['nproc']} CPU ({m['cpu']}), {m['ram_gib']} GiB RAM, Python {m['python']}, Node {m['node']}, {m['date']}, load {m['load_avg_1m_at_start']}"]
    for title, headers, rows, notes in _tables(results):
        widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]
        out.append("")
        out.append(title)
        out.append("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
        out.append("  ".join("-" * w for w in widths))
        out.extend("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows)
        out.extend(f"  * {n}" for n in notes if n)
    return "\n".join(out) + "\n"


def render_markdown(results: dict) -> str:
    """The same tables as Markdown."""
    m = results["machine"]
    out = [
        "# Benchmark results (latest run)",
        "",
        (
            f"Measured {m['date']} on {m['nproc']} CPU ({m['cpu']}), {m['ram_gib']} GiB RAM, {m['platform']}, "
            f"Python {m['python']}, Node {m['node']}; 1-minute load average at start {m['load_avg_1m_at_start']}, at end {m.get('load_avg_1m_at_end', 'n/a')}. "
            f"Options: {results['options']}. Generated by `python -m bench`; see bench/README.md for what each figure means."
        ),
    ]
    for title, headers, rows, notes in _tables(results):
        out += ["", f"## {title}", "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
        if notes:
            out.append("")
            out += [f"- {n}" for n in notes if n]
    return "\n".join(out) + "\n"
