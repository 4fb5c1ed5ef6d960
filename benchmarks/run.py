"""`make bench`: time and memory of this project's model, its scaling, and Flee / plain Mesa.

    python benchmarks/run.py [--repeats-full 3] [--repeats-cal 10] [--quick] ...

Measures, each run in a fresh Python process (wall time, and peak resident memory from the
kernel's accounting of that process):

1. the full-scale historical run (population.scale=1.0, the default horizon 14 Sep - 30 Nov
   2022), median of `--repeats-full` runs;
2. the calibration-scale run (population.scale=0.01), median of `--repeats-cal` runs;
3. the scaling curve: time and peak memory at each of `--scales`;
4. side by side at `--compare-scale`, on the same network with the same moving agents and days:
   Flee 3.1 fed the exported network and this project's departures, the same population as
   plain Mesa agents (benchmarks/plain_mesa.py), and this project; agent-days per second and
   ratios;
5. ensembles: members per second and CPU-seconds per member at `--ensemble-scales` for B in
   `--ensemble-sizes` (benchmarks/ensemble_bench.py), each cell also on `--baseline`'s tree;
6. before and after against `--baseline` (BENCH_BASELINE, default main), interleaved: the
   full-scale and calibration-scale runs, 32 members at 0.01, and the fresh start-up of
   `python -m sim population.scale=1.0 runs=1` (benchmarks/before_after.py);
7. a cProfile of one full-scale run (benchmarks/profile.py -> benchmarks/profile.txt).

Writes benchmarks/results.md, benchmarks/results.json and results/benchmarks/scaling.png, and
prints the table. Repeats can also be set with the environment variables BENCH_REPEATS_FULL,
BENCH_REPEATS_CAL, BENCH_REPEATS_SCALING, BENCH_REPEATS_COMPARE.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import HERE, ROOT, ChildResult, machine_info, run_child

DEFAULT_SCALES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
FULL, CALIBRATION = 1.0, 0.01
MESA_MAX_SCALE = 0.03  # default cap of the plain Mesa run's scale (time)
FLEE_TARGET = 100.0  # the project should reach at least 100x Flee's agent-days per second


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats-full", type=int, default=_env_int("BENCH_REPEATS_FULL", 3))
    p.add_argument("--repeats-cal", type=int, default=_env_int("BENCH_REPEATS_CAL", 10))
    p.add_argument("--repeats-scaling", type=int, default=_env_int("BENCH_REPEATS_SCALING", 3),
                   help="runs per scale of the curve (the full and calibration scales reuse "
                        "their own runs)")
    p.add_argument("--repeats-compare", type=int, default=_env_int("BENCH_REPEATS_COMPARE", 3),
                   help="runs of this project at the comparison scale")
    p.add_argument("--scales", type=lambda s: [float(x) for x in s.split(",")],
                   default=list(DEFAULT_SCALES))
    p.add_argument("--compare-scale", type=float, default=None,
                   help="scale of the Flee / plain Mesa / project comparison (default: the "
                        "scale at which this project creates about --flee-agents individuals, "
                        "from the calibration runs)")
    p.add_argument("--flee-agents", type=int, default=25_000,
                   help="moving agents wanted in the Flee run when --compare-scale is not set")
    p.add_argument("--mesa-scale", type=float, default=None,
                   help="scale of the plain Mesa run (default: --compare-scale, at most "
                        f"{MESA_MAX_SCALE}: {MESA_MAX_SCALE * 44.4:.1f} million Agent objects "
                        "take ~10 min here; its agent-days/s do not depend on the scale)")
    p.add_argument("--baseline", default=os.environ.get("BENCH_BASELINE", "main"),
                   help="git revision whose full-scale and calibration-scale runs are measured "
                        "side by side with this tree's (benchmarks/before_after.py); '' skips")
    p.add_argument("--ensemble-scales", type=lambda s: tuple(float(x) for x in s.split(",")),
                   default=(0.003, 0.01, 0.1))
    p.add_argument("--ensemble-sizes", type=lambda s: tuple(int(x) for x in s.split(",")),
                   default=(1, 10, 100, 1000))
    p.add_argument("--ensemble-budget", type=float, default=600.0,
                   help="CPU-seconds an ensemble cell may take (estimated): larger are skipped")
    p.add_argument("--no-flee", action="store_true")
    p.add_argument("--no-mesa", action="store_true")
    p.add_argument("--no-profile", action="store_true")
    p.add_argument("--quick", action="store_true",
                   help="a smoke test: one run each, small scales, no full scale")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per child process")
    p.add_argument("--out-md", type=Path, default=HERE / "results.md")
    p.add_argument("--out-json", type=Path, default=HERE / "results.json")
    p.add_argument("--out-png", type=Path, default=ROOT / "results" / "benchmarks" / "scaling.png")
    args = p.parse_args(argv)
    if args.quick:
        args.repeats_full = args.repeats_cal = args.repeats_scaling = 1
        args.repeats_compare = 1
        args.scales = [0.001, 0.003, 0.01]
        args.flee_agents = min(args.flee_agents, 5_000)
        args.no_profile = True
    return args


def code_fingerprint() -> str:
    """SHA-256 of sim/*.py and sim/data/*: which code and data the runs measured."""
    digest = hashlib.sha256()
    for path in sorted([*(ROOT / "sim").glob("*.py"), *(ROOT / "sim" / "data").glob("*")]):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def project_run(scale: float, seed: int, timeout: float, departures_out: Path | None = None,
                ) -> dict:
    cmd = [str(HERE / "project_run.py"), "--scale", str(scale), "--seed", str(seed)]
    if departures_out is not None:
        cmd += ["--departures-out", str(departures_out)]
    return _record(run_child(cmd, timeout=timeout))


def _record(res: ChildResult) -> dict:
    return {**res.data, "wall_s": res.wall_s, "peak_rss_mb": res.peak_rss_mb,
            "user_s": res.user_s, "sys_s": res.sys_s}


def summarise(runs: list[dict], days_key: str = "men_days") -> dict:
    """Medians (and range) of a group of runs of the same workload."""
    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    walls = [r["wall_s"] for r in runs]
    out = {
        "runs": len(runs),
        "wall_s": med("wall_s"),
        "wall_min_s": min(walls),
        "wall_max_s": max(walls),
        "run_s": med("run_s"),
        "peak_rss_mb": med("peak_rss_mb"),
    }
    if all("run_cpu_s" in r for r in runs):
        out["run_cpu_s"] = med("run_cpu_s")
    for key in ("men", "agents", "individuals", "men_days", "active_days", "agent_days",
                "build_s", "import_s", "left_russia", "departures"):
        if key in runs[0]:
            out[key] = med(key)
    out["agent_days"] = out.get(days_key, out.get("agent_days"))
    out["agent_days_per_s"] = out["agent_days"] / out["run_s"] if out["run_s"] > 0 else None
    return out


def run_all(args: argparse.Namespace) -> dict:
    results: dict = {"machine": machine_info(), "load_average_start": os.getloadavg(),
                     "sim_sha256_start": code_fingerprint(),
                     "settings": {
        k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}}
    groups: dict[float, list[dict]] = {}

    def runs_at(scale: float, n: int, label: str) -> list[dict]:
        have = groups.setdefault(scale, [])
        for i in range(len(have), n):
            log(f"{label}: scale {scale}, run {i + 1}/{n}")
            have.append(project_run(scale, seed=1 + i, timeout=args.timeout))
            log(f"  {have[-1]['wall_s']:.2f} s wall, model.run() {have[-1]['run_s']:.2f} s, "
                f"peak {have[-1]['peak_rss_mb']:.0f} MiB")
        return have[:n]

    if not args.quick:
        results["full"] = summarise(runs_at(FULL, args.repeats_full, "full scale"))
    results["calibration"] = summarise(runs_at(CALIBRATION, args.repeats_cal, "calibration"))
    scaling = []
    for scale in args.scales:
        n = {FULL: args.repeats_full, CALIBRATION: args.repeats_cal}.get(
            scale, args.repeats_scaling)
        scaling.append({"scale": scale, **summarise(runs_at(scale, n, "scaling"))})
    results["scaling"] = scaling
    if args.compare_scale is None:
        args.compare_scale = comparison_scale(results["calibration"], args.flee_agents)
    results["comparison"] = compare(args)
    from before_after import before_after, export
    from ensemble_bench import ensemble_grid

    if args.quick:
        args.ensemble_scales, args.ensemble_sizes = (0.001,), (1, 3)
    with tempfile.TemporaryDirectory() as tmp:  # the baseline's tree, for both comparisons
        baseline_tree = export(args.baseline, Path(tmp)) if args.baseline else None
        results["ensemble"] = ensemble_grid(args.ensemble_scales, args.ensemble_sizes,
                                            args.ensemble_budget, args.timeout, log=log,
                                            baseline_tree=baseline_tree)
        if args.baseline:
            results["before_after"] = before_after(args.baseline, max(1, args.repeats_full),
                                                   max(1, min(args.repeats_cal, 5)),
                                                   args.timeout, log=log,
                                                   before_tree=baseline_tree)
    results["raw_runs"] = {str(k): v for k, v in groups.items()}
    results["load_average_end"] = os.getloadavg()
    results["sim_sha256_end"] = code_fingerprint()
    if results["sim_sha256_end"] != results["sim_sha256_start"]:
        log("WARNING: sim/ changed during the benchmark: runs measured different code")
    if not args.no_profile:
        log("profile of one full-scale run (benchmarks/profile.py)")
        started = time.perf_counter()
        _run_profile(args)
        results["profile"] = {"file": "benchmarks/profile.txt",
                              "wall_s": time.perf_counter() - started}
    return results


def _run_profile(args: argparse.Namespace) -> None:
    import subprocess

    subprocess.run([sys.executable, str(HERE / "profile.py"), "--scale", str(FULL)], cwd=ROOT,
                   check=True, timeout=args.timeout, stdout=subprocess.DEVNULL)


def comparison_scale(calibration: dict, agents: int) -> float:
    """The scale (two significant digits, 0.001-0.1) at which this project creates about
    `agents` individuals, extrapolated linearly from the calibration runs."""
    per_unit = calibration["individuals"] / CALIBRATION
    scale = min(max(agents / max(per_unit, 1.0), 0.001), 0.1)
    return float(f"{scale:.2g}")


def compare(args: argparse.Namespace) -> dict:
    """Flee, plain Mesa and this project on the same network, agents and days."""
    scale = args.compare_scale
    out: dict = {"scale": scale}
    with tempfile.TemporaryDirectory(prefix="bench-flee-") as tmp:
        departures = Path(tmp) / "departures.npz"
        runs = []
        for i in range(args.repeats_compare):
            log(f"comparison: this project at scale {scale}, run {i + 1}/{args.repeats_compare}")
            runs.append(project_run(scale, seed=1 + i, timeout=args.timeout,
                                    departures_out=departures if i == 0 else None))
        project = summarise(runs)
        first = runs[0]
        out["project"] = project
        out["moving_agents"] = first["individuals"]
        if not args.no_flee:
            log(f"comparison: Flee 3.1 with {first['individuals']:,} moving agents")
            try:
                res = _record(run_child([str(HERE / "flee_workload.py"), "--departures",
                                         str(departures), "--folder", str(Path(tmp) / "flee")],
                                        timeout=args.timeout))
                res["runs"] = 1
                res["agent_days_per_s"] = res["agent_days"] / res["run_s"]
                out["flee"] = res
                log(f"  {res['run_s']:.1f} s, {res['agent_days_per_s']:,.0f} agent-days/s")
            except RuntimeError as err:  # flee not installed, or failed: say so, go on
                out["flee_error"] = str(err).splitlines()[0]
                log(f"  Flee failed: {out['flee_error']}")
    if not args.no_mesa:
        mesa_scale = args.mesa_scale or min(scale, MESA_MAX_SCALE)
        log(f"comparison: plain Mesa, one Agent per man, scale {mesa_scale}")
        res = _record(run_child([str(HERE / "plain_mesa.py"), "--scale", str(mesa_scale)],
                                timeout=args.timeout))
        res["runs"] = 1
        res["agent_days_per_s"] = res["agent_days"] / res["run_s"]
        out["plain_mesa"] = res
        log(f"  {res['run_s']:.1f} s, {res['agent_days_per_s']:,.0f} agent-days/s")
    return out


# ---- output ----------------------------------------------------------------------------------
def _fmt(x: float | None, digits: int = 2) -> str:
    if x is None:
        return "–"
    if abs(x) >= 1e5:
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def _si(x: float | None) -> str:
    if x is None:
        return "–"
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.3g}"


def _rates(s: dict, agent_days: float) -> tuple[float, float | None]:
    """Agent-days per second of stepping, by wall clock and by the process's CPU time."""
    cpu = s.get("run_cpu_s")
    return agent_days / s["run_s"], (agent_days / cpu if cpu else None)


def table_rows(results: dict) -> list[list[str]]:
    cmp_ = results["comparison"]
    base = {name: _rates(cmp_[name], cmp_[name]["agent_days"])
            for name in ("flee", "plain_mesa") if name in cmp_}
    rows = []

    def row(name: str, scale: float, s: dict, who: str, definition: str,
            agent_days: float, ratios: bool = True) -> None:
        rate, cpu_rate = _rates(s, agent_days)
        wall = _fmt(s["wall_s"])
        if s.get("runs", 1) > 1:
            wall += f" ({_fmt(s['wall_min_s'])}–{_fmt(s['wall_max_s'])})"
        cells = [name, f"{scale:g}", str(s.get("runs", 1)), who, wall, _fmt(s["run_s"]),
                 _fmt(s.get("run_cpu_s")), _fmt(s["peak_rss_mb"], 0), definition,
                 _si(agent_days), _si(rate), _si(cpu_rate)]
        for key in ("flee", "plain_mesa"):
            cells.append(f"{rate / base[key][0]:,.1f}×" if ratios and key in base else "")
        rows.append(cells)

    if "full" in results:
        f = results["full"]
        row("full-scale historical run", FULL, f, _si(f["men"]), "men × days", f["men_days"],
            ratios=False)
    c = results["calibration"]
    row("calibration-scale run", CALIBRATION, c, _si(c["men"]), "men × days", c["men_days"],
        ratios=False)
    for s in results["scaling"]:
        row("scaling", s["scale"], s, _si(s["men"]), "men × days", s["men_days"], ratios=False)

    sc = cmp_["scale"]
    if "flee" in cmp_:
        f = cmp_["flee"]
        row("compare: Flee 3.1", sc, f, _si(f["agents"]), "moving agents × days present",
            f["agent_days"])
    if "plain_mesa" in cmp_:
        m = cmp_["plain_mesa"]
        row("compare: plain Mesa, 1 Agent/man", m["scale"], m, _si(m["agents"]),
            "agents × days", m["agent_days"])
    p = cmp_["project"]
    row("compare: this project (i)", sc, p, _si(p["men"]), "men simulated × days",
        p["men_days"])
    row("compare: this project (ii)", sc, p, f"{_si(p['individuals'])} ind.",
        "individuals who acted × days active", p["active_days"])
    if "full" in results:  # the job itself; Flee's and Mesa's costs per agent-day do not fall
        f = results["full"]
        row("this project at full scale (i)", FULL, f, _si(f["men"]), "men simulated × days",
            f["men_days"])
        row("this project at full scale (ii)", FULL, f, f"{_si(f['individuals'])} ind.",
            "individuals who acted × days active", f["active_days"])
    return rows


HEADER = ["benchmark", "scale", "runs", "men / agents", "wall s, median (min–max)",
          "stepping s", "stepping CPU s", "peak RSS MiB", "agent-days =", "agent-days",
          "agent-days/s", "agent-days/CPU-s", "vs Flee", "vs plain Mesa"]


def markdown_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def verdict(results: dict) -> str:
    cmp_ = results["comparison"]
    if "flee" not in cmp_:
        return "Flee was not run: no comparison with the 100× target."
    flee, flee_cpu = _rates(cmp_["flee"], cmp_["flee"]["agent_days"])
    lines = [f"Target ≥ {FLEE_TARGET:.0f}× Flee's agent-days/s (Flee: {flee:,.0f}/s wall, "
             f"{flee_cpu or 0:,.0f}/CPU-s):"]
    p = cmp_["project"]
    cases = [("at the comparison scale", p, p["men_days"], p["active_days"])]
    if "full" in results:
        f = results["full"]
        cases.append(("at full scale", f, f["men_days"], f["active_days"]))
    for where, s, men_days, active_days in cases:
        men, active = _rates(s, men_days)[0] / flee, _rates(s, active_days)[0] / flee
        active_cpu = _rates(s, active_days)[1]
        ok = "met" if active >= FLEE_TARGET else (
            "met only as men simulated × days" if men >= FLEE_TARGET else "not met")
        cpu = f"; {active_cpu / flee_cpu:,.1f}× by CPU time" if active_cpu and flee_cpu else ""
        lines.append(f"- {where}: {ok} ({men:,.0f}× counting men simulated × days, "
                     f"{active:,.1f}× counting only individuals who acted × days active{cpu}).")
    return "\n".join(lines)


def machine_lines(m: dict) -> list[str]:
    return [f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; {m['os']}",
            f"Python {m['python']}, numpy {m['numpy']}, mesa {m['mesa']}, flee {m['flee']}, "
            f"networkx {m['networkx']}; {m['date']}"]


NOTES = """\
- Wall time: from starting a fresh Python process to its exit (imports, config, data, model
  construction and the run). *Stepping s*: `model.run()` only (Flee: its day loop; plain Mesa: its
  `step()` calls), the denominator of agent-days/s. Peak RSS: `ru_maxrss` of that process.
- Agent-days of this project: (i) *men simulated × days*: the men at home are counts per (region,
  stratum) and their daily decisions one binomial draw per cell, statistically the same model as
  one Bernoulli draw per man, so every man is simulated every day; (ii) *individuals who acted ×
  days active* (travelling, queued, abroad or onward at the end of a day), the stricter measure.
- Flee 3.1 gets the network exported by `sim/flee_export.py` (historical closures) and this
  project's departures at the comparison scale (first run), inserted at their home region on the
  day they left; its agent-days are the agents it steps, summed over days.
- Plain Mesa: one `mesa.Agent` per man at the comparison scale (at most 0.03 unless
  `--mesa-scale` says otherwise: see its scale column), `AgentSet.shuffle_do` each day,
  the project's hazard and exit probabilities, travel and onward moves, but no queues, border
  controls or re-planning (an upper bound for a per-agent Mesa version of this model).
- Repeats use seeds 1, 2, …; the comparison rows of this project are at the comparison scale.
- The full-scale rows' ratios divide by Flee's and plain Mesa's rates at the comparison scale:
  their cost per agent-day is per-object Python work that does not fall with size (extrapolated,
  not measured: neither can run 44 million agents here). This project's rate grows with scale,
  because a day's fixed work (policy, utilities of 85 × 96 cells) is shared by more men."""


def write_outputs(results: dict, args: argparse.Namespace) -> str:
    rows = table_rows(results)
    table = markdown_table(rows)
    head = machine_lines(results["machine"])
    code = results["sim_sha256_start"]
    if results["sim_sha256_end"] != code:
        code += f" → {results['sim_sha256_end']} (sim/ CHANGED during the benchmark)"
    head.append(f"Code measured: sim/ and sim/data sha256 {code}")
    load = (results["load_average_start"][1], results["load_average_end"][1])
    head.append(f"Load average (5 min) {load[0]:.1f} at the start, {load[1]:.1f} at the end "
                f"(> 0 means other processes shared the cores: compare the CPU-time columns)")
    cmp_ = results["comparison"]
    lines = ["# Benchmarks", "", "Generated by `make bench` (benchmarks/run.py).", "",
             *[f"{h}  " for h in head], "", table, "", verdict(results), ""]
    if "flee_error" in cmp_:
        lines += [f"Flee could not be run: {cmp_['flee_error']}", ""]
    lines += [f"Comparison scale {cmp_['scale']:g}: {cmp_['moving_agents']:,} moving agents "
              f"(individuals created by this project, inserted into Flee).", "", "Notes:", "",
              NOTES, "", "Scaling plot: `results/benchmarks/scaling.png`. Profile of a "
              "full-scale run: `benchmarks/profile.txt`.", ""]
    if "ensemble" in results:
        from ensemble_bench import markdown as ensemble_markdown

        lines += [ensemble_markdown(results["ensemble"], args.baseline)]
    if "before_after" in results:
        from before_after import markdown as before_after_markdown

        lines += [before_after_markdown(results["before_after"])]
    profile = HERE / "profile.txt"
    if "profile" in results and profile.exists():
        top = _profile_head(profile.read_text(), 15)
        lines += ["## Where the time goes (full scale, cProfile, functions of sim/)", "",
                  "```", *top, "```", ""]
    args.out_md.write_text("\n".join(lines))
    args.out_json.write_text(json.dumps(results, indent=1, default=float))
    plot_scaling(results, args.out_png)
    extra = []
    if "before_after" in results:
        from before_after import markdown as before_after_markdown

        extra = ["", before_after_markdown(results["before_after"])]
    return "\n".join([*head, "", table, "", verdict(results), *extra])


def _profile_head(text: str, n: int) -> list[str]:
    """The header and first `n` rows of the first table of benchmarks/profile.txt."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), None)
    if start is None:
        return lines[:n]
    return [*lines[:2], "", *lines[start:start + n + 1]]


def plot_scaling(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = results["scaling"]
    scale = [p["scale"] for p in pts]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax1.loglog(scale, [p["wall_s"] for p in pts], "o-", label="wall time (process)")
    ax1.loglog(scale, [p["run_s"] for p in pts], "s-", label="model.run()")
    ref = pts[-1]["run_s"]
    ax1.loglog(scale, [ref * s / scale[-1] for s in scale], ":", color="grey",
               label="∝ scale")
    ax1.set_xlabel("population.scale (1.0 = 44.4 million men)")
    ax1.set_ylabel("seconds (median)")
    ax1.set_title("Time of a historical run")
    ax1.grid(True, which="both", alpha=0.3)
    ax1.legend()
    ax2.semilogx(scale, [p["peak_rss_mb"] for p in pts], "o-", color="C2")
    ax2.set_xlabel("population.scale")
    ax2.set_ylabel("peak RSS (MiB)")
    ax2.set_title("Peak memory of the process")
    ax2.grid(True, which="both", alpha=0.3)
    m = results["machine"]
    fig.suptitle(f"{m['cpu']}, {m['cores']} cores; Python {m['python']}, numpy {m['numpy']}, "
                 f"mesa {m['mesa']}", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    results = run_all(args)
    results["total_s"] = time.perf_counter() - started
    text = write_outputs(results, args)
    print(text)
    print(f"\nwrote {args.out_md}, {args.out_json}, {args.out_png} "
          f"in {results['total_s'] / 60:.1f} min")


if __name__ == "__main__":
    main()
