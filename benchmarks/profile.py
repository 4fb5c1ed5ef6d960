"""Profile one historical run (default: full scale) with cProfile; write the top functions.

    python benchmarks/profile.py [--scale 1.0] [--top 40] [--out benchmarks/profile.txt]
    python benchmarks/profile.py --scale 0.01 --members 32 --out benchmarks/profile_ensemble.txt

With `--members B`, an ensemble of B seeds stepped together (`sim.engine.Ensemble`).

The file lists the functions by cumulative time (what a phase costs, callees included), then by
own time (where the interpreter actually spends it). Model construction and `run()` are
profiled together; cProfile's overhead on this numpy-bound code is small, but its timings are
for ranking, not for the benchmark table.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# this file is named profile.py: keep it from shadowing the standard library's `profile`,
# which cProfile imports
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import pstats  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--members", type=int, default=1)
    parser.add_argument("--out", type=Path, default=HERE / "profile.txt")
    args = parser.parse_args(argv)

    import dataclasses

    from sim.config import load_config
    from sim.engine import Ensemble

    cfg = load_config([f"population.scale={args.scale}", f"seed={args.seed}", "progress=false"])
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    model = Ensemble([dataclasses.replace(cfg, seed=args.seed + i) for i in range(args.members)])
    model.run()
    profiler.disable()
    wall = time.perf_counter() - started

    text = io.StringIO()
    what = ("one historical run" if args.members == 1 else
            f"an ensemble of {args.members} historical runs (seeds {args.seed}-"
            f"{args.seed + args.members - 1})")
    text.write(f"# cProfile of {what}, population.scale={args.scale}, seed={args.seed}\n"
               f"# {int(model.p.initial_home.sum()):,} men, {model.n_days} days, "
               f"{len(model.people):,} individuals; {wall:.1f} s under the profiler "
               f"(run(): {model.runtime_seconds:.1f} s)\n\n")
    import sim

    sim_dir = str(Path(sim.__file__).resolve().parent)
    text.write(f"## top {args.top} functions of sim/ by cumulative time\n")
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(
        re.escape(sim_dir), args.top)
    # (tqdm's monitor thread, started even with progress=false, shows as a threading `wait`
    # as long as the run in the views below: it sleeps, it does not cost that time)
    for key, title in (("cumulative", "by cumulative time"), ("tottime", "by own time")):
        text.write(f"## top {args.top} {title}, all functions\n")
        stats = pstats.Stats(profiler, stream=text)
        stats.strip_dirs().sort_stats(key).print_stats(args.top)
    args.out.write_text(text.getvalue().replace(str(Path(sim_dir).parent) + "/", ""))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
