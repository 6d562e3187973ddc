"""Render results as a side-by-side text table (stdout) and as Markdown (bench/results/latest.md)."""

from __future__ import annotations

Table = tuple[str, list[str], list[list[str]], list[str]]  # title, headers, rows, notes


def _s(value, unit: str = "s", digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


def _med(block: dict | None, key: str):
    return (block or {}).get(key, {}).get("median") if isinstance((block or {}).get(key), dict) else None


def synth_tables(r: dict) -> list[Table]:
    """Tables of the synth section."""
    stock, ours = r["stock"], r["ours"]
    rows = [
        ["python main.py: wall (median)", _s(_med(stock, "wall_s")), _s(_med(ours, "wall_s")), f"{r['ratio_wall']:.0%} of stock"],
        ["python main.py: peak RSS, largest process", _s(_med(stock, "max_rss_mib"), " MiB", 0), _s(_med(ours, "max_rss_mib"), " MiB", 0), f"{r['ratio_max_rss']:.0%} of stock"],
    ]
    cli = r.get("cdktf_cli", {})
    if "skipped" in cli:
        rows.append(["cdktf synth (CLI)", "skipped", "skipped", cli["skipped"][:80]])
    elif cli:
        cli_ratio = _med(cli["ours"], "wall_s") / _med(cli["stock"], "wall_s")
        rows.append(["cdktf synth (CLI): wall (median)", _s(_med(cli["stock"], "wall_s")), _s(_med(cli["ours"], "wall_s")), f"{cli_ratio:.0%} of stock; {cli['runs']} run(s); pipenv: {cli['pipenv'][:40]}"])
    floor = r["json_floor"]
    rows.append(["floor: python + json.dump of same docs", "", _s(_med(floor, "wall_s"), digits=3), f"dump only {_s(_med(floor, 'dump_only_s'), digits=3)}, {floor['files']} files, {floor['bytes'] // 1024} KiB"])
    notes = [
        f"{r['runs']} interleaved runs per mode; target for python main.py: ours <= {r['target_ratio']:.0%} of stock wall and peak RSS not higher -> {'MET' if r['meets_target'] else 'NOT MET'}",
        f"synthesized JSON identical between modes: {r['outputs_identical']}",
    ]
    if cli and "skipped" not in cli:
        verdict = "MET" if cli_ratio <= r["target_ratio"] else "NOT MET"
        notes.append(
            f"target for cdktf synth: ours <= {r['target_ratio']:.0%} of stock wall -> {verdict} "
            "(the CLI itself, node + pipenv run, adds the same fixed cost to both paths)"
        )
    tables: list[Table] = [("Synth (3 stacks: dev, staging, prod)", ["measure", "stock", "ours", "note"], rows, notes)]

    b = r.get("breakdown", {})
    if b:
        labels = [p["phase"] for p in b["ours"]["phases"]]
        brows = []
        for j, label in enumerate(labels):
            brows.append([label, _s(b["stock"]["phases"][j]["seconds"], digits=3), _s(b["ours"]["phases"][j]["seconds"], digits=3)])
        brows += [
            ["  of which: AWS provider jsii assembly load (node)", _s(b["stock"]["provider_assembly_load_s"], digits=3), _s(b["ours"]["provider_assembly_load_s"], digits=3)],
            ["  of which: provider Python submodules (self time)", _s(b["stock"]["provider_python_submodules_s"], digits=3), _s(b["ours"]["provider_python_submodules_s"], digits=3)],
            ["total wall (with -X importtime)", _s(b["stock"]["wall_s_with_importtime"], digits=3), _s(b["ours"]["wall_s_with_importtime"], digits=3)],
            ["provider submodules loaded", str(b["stock"]["provider_submodules_loaded"]), str(b["ours"]["provider_submodules_loaded"])],
            ["Python modules loaded", str(b["stock"]["modules_loaded"]), str(b["ours"]["modules_loaded"])],
            ["peak RSS: python process", _s(b["stock"]["python_max_rss_mib"], " MiB", 0), _s(b["ours"]["python_max_rss_mib"], " MiB", 0)],
            ["peak RSS: node (jsii kernel)", _s(b["stock"]["node_max_rss_mib"], " MiB", 0), _s(b["ours"]["node_max_rss_mib"], " MiB", 0)],
            ["peak RSS: python + node (sum of peaks)", _s(b["stock"]["python_max_rss_mib"] + b["stock"]["node_max_rss_mib"], " MiB", 0), _s(b["ours"]["python_max_rss_mib"] + b["ours"]["node_max_rss_mib"], " MiB", 0)],
        ]
        rw = r.get("repeated_work", {})
        bnotes = [
            f"median of {b['ours']['runs']} probe run(s) per mode; phases are perf_counter marks inside the child",
            f"repeated work in one synth of {rw.get('stacks')} stacks: order schema opened {rw.get('schema_file_opens')}x; "
            f"{rw.get('handler_files')} handler files opened {rw.get('handler_file_opens')}x in total",
        ]
        tables.append(("Synth breakdown (where the time goes)", ["phase", "stock", "ours"], brows, bnotes))

    cache = r.get("jsii_package_cache")
    if cache and "error" in cache:
        tables.append(("jsii runtime package cache", ["error"], [[cache["error"].splitlines()[0][:200]]], []))
    elif cache:
        crows = [[label, _s(v["wall_s"]), _s(v["provider_assembly_load_s"], digits=3)] for label, v in cache.get("runs", {}).items()]
        cnotes = [
            f"JSII_RUNTIME_PACKAGE_CACHE={cache['setting']}; enabled: {cache['enabled']}; root {cache['root']} exists: {cache['root_exists']} "
            f"({cache['root_size_mib']} MiB, {len(cache['cached_packages'])} package(s))",
        ]
        if "cold_root_size_mib" in cache:
            cnotes.append(f"a cold cache root holds {cache['cold_root_size_mib']} MiB after one synth")
        tables.append(("jsii runtime package cache (lean synth, one run each)", ["cache state", "wall", "provider assembly load"], crows, cnotes))
    return tables


def handlers_tables(r: dict) -> list[Table]:
    """Tables of the handlers-init section."""
    rows = []
    for name, h in r["handlers"].items():
        if "error" in h:
            rows.append([name, "error", "", "", h["error"][:60]])
            continue
        rows.append([
            name,
            _s(h["import_s"]["median"], "s", 3),
            _s(h["clients_s"]["median"], "s", 3),
            _s(h["process_wall_s"]["median"], "s", 3),
            f"{h['modules']} modules; at import: {', '.join(k for k, v in h['loaded_at_import'].items() if v) or 'none of boto3/xray/fastjsonschema'}; boto3: {h['boto3']}; botocore services: {','.join(h['botocore_services']) or '-'}; "
            f"fastjsonschema: {h['fastjsonschema']}; aws_xray_sdk: {h['aws_xray_sdk']}; RSS {h['max_rss_mib']:.0f} MiB",
        ])
    notes = [f"fresh subprocess per run, median of {r['runs']}; env: {r['env']}",
             "import = `import <handler>.app`; clients() = the handler module's clients() (3 budgeted clients, main rung each); process wall adds python start-up and interpreter exit"]
    return [("Handler cold-start init", ["handler", "import", "clients()", "process wall", "what got imported"], rows, notes)]


def processor_tables(r: dict) -> list[Table]:
    """Tables of the processor section."""
    rows = [[
        str(r["batch_size"]),
        _s(r["batch_s"]["median"], "s", 3),
        ", ".join(f"{k} x{v}" for k, v in r["calls_per_batch"].items()),
        str(r["expected_met"]),
    ]]
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
        ["  of which TCP connect p50 / p99", f"{r['tcp_connect_ms']['p50']:.1f} / {r['tcp_connect_ms']['p99']:.1f} ms", f"{r['tcp_connect_ms']['over_1s']} connects over 1 s (SYN retransmits: accept backlog full)"],
        ["POST phase", f"{r['post_phase_s']:.1f} s", f"{r['post_rate_per_s']} requests/s offered and answered"],
        ["accepted (202)", str(r["accepted"]), f"other statuses: {r['other_statuses'] or '-'}; client errors: {r.get('client_errors') or '-'}"],
        ["end-to-end throughput", f"{r['orders_per_s']:.1f} orders/s", f"{r['stored']} stored in {r['end_to_end_s']:.1f}s (first POST to last stored); DLQ: {r.get('dlq_messages', 'n/a')}"],
    ]
    return [("Local pipeline (loopback)", ["measure", "value", "note"], rows, [r.get("note", "")])]


def suite_tables(r: dict) -> list[Table]:
    """Tables of the test-suite section."""
    rows = [[mode, _s(v["wall_s"]), v["summary"]] for mode, v in r["modes"].items()]
    return [("Test suite (python -m pytest -q -p no:cacheprovider)", ["mode", "wall", "pytest summary"], rows, [r.get("note", "")])]


def rehearsal_tables(r: dict) -> list[Table]:
    """One row per stack: each phase's median seconds, and the resource counts."""
    stacks = r["stacks"]
    phases = ["init", "validate", "emulator", "plan", "apply", "pipeline", "re-plan", "destroy"]
    rows = []
    for name, s in stacks.items():
        times = s["phases_median_s"]
        rows.append([name, *(_s(times.get(p), digits=1) if p in times else "-" for p in phases), _s(s["wall_median_s"], digits=0), str(s["planned_to_add"]), str(s["applied"]), str(s["real_changes_on_replan"]), str(s["destroyed"])])
    provider = {s["provider"] for s in stacks.values()}
    notes = [f"median of {r['runs']} full rehearsal(s) per stack (python -m rehearsal --env <suffix>), provider hashicorp/aws {', '.join(sorted(provider))} against moto; apply applies the saved first plan"]
    return [("Deploy rehearsal (seconds per phase)", ["stack", *phases, "wall", "planned", "applied", "real changes", "destroyed"], rows, notes)]


RENDERERS = {"rehearsal": rehearsal_tables, "synth": synth_tables, "handlers": handlers_tables, "processor": processor_tables, "post": post_tables, "pipeline": pipeline_tables, "suite": suite_tables}


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
        widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
        out.append("")
        out.append(title)
        out.append("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
        out.append("  ".join("-" * w for w in widths))
        out.extend("  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows)
        out.extend(f"  * {n}" for n in notes if n)
    return "\n".join(out) + "\n"


def render_markdown(results: dict) -> str:
    """The same tables as Markdown."""
    m = results["machine"]
    out = [
        "# Benchmark results (latest run)",
        "",
        f"Measured {m['date']} on {m['nproc']} CPU ({m['cpu']}), {m['ram_gib']} GiB RAM, {m['platform']}, "
        f"Python {m['python']}, Node {m['node']}; 1-minute load average at start {m['load_avg_1m_at_start']}, at end {m.get('load_avg_1m_at_end', 'n/a')}. "
        f"Options: {results['options']}. Generated by `python -m bench`; see bench/README.md for what each figure means.",
    ]
    for title, headers, rows, notes in _tables(results):
        out += ["", f"## {title}", "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
        if notes:
            out.append("")
            out += [f"- {n}" for n in notes if n]
    return "\n".join(out) + "\n"
