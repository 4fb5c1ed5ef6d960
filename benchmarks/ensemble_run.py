"""One ensemble of this project's model, in its own process (started by benchmarks/run.py).

    python benchmarks/ensemble_run.py --scale 0.01 --members 100 [--batch-size 100]

B members (the historical policy, seeds 1..B; with `--posterior`, over its particles as
`python -m sim` draws them) stepped together by `sim.batch.run_members`, in
this one process. Reports (one JSON line, see `common.emit`) the time to import, to build the
world, and to run the members (wall and CPU), members per second and CPU-seconds per member.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import emit


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, required=True)
    parser.add_argument("--members", type=int, required=True)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--posterior", default=None,
                        help="a posterior.csv: members over its particles (drawn as `python -m "
                             "sim` draws them) rather than the configured parameters")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    import dataclasses

    from sim.batch import Member, run_members
    from sim.config import load_config
    from sim.parallel import world_for

    try:  # the engine's own imports are start-up, not the members' run
        import threadpoolctl  # noqa: F401

        import sim.engine
        import sim.model  # noqa: F401
    except ImportError:
        pass

    t1, c1 = time.perf_counter(), time.process_time()
    base = load_config([f"population.scale={args.scale}", "progress=false"])
    world = world_for(base.network)
    if args.posterior:
        from sim.ensemble import Ensemble
        from sim.posterior import Posterior

        drawn = Ensemble(base, args.members, Posterior.read(args.posterior))
        members = [Member(dataclasses.replace(m.config, progress=False),
                          world_for(m.config.network)) for m in drawn.members()]
    else:
        members = [Member(dataclasses.replace(base, seed=1 + i), world)
                   for i in range(args.members)]
    t2, c2 = time.perf_counter(), time.process_time()
    try:  # run in an older tree too (benchmarks/before_after.py): one member at a time there
        from sim.batch import BATCH_SIZE

        batch_size = args.batch_size or BATCH_SIZE
        runs = run_members(members, batch_size=batch_size)
    except ImportError:
        batch_size = 1
        runs = run_members(members)
    t3, c3 = time.perf_counter(), time.process_time()
    left = [float(r.results.crossed_fleeing.sum()) for r in runs]
    emit({
        "scale": args.scale, "members": args.members, "posterior": args.posterior,
        "batch_size": batch_size,
        "import_s": t1 - t0, "build_s": t2 - t1, "build_cpu_s": c2 - c1,
        "run_s": t3 - t2, "run_cpu_s": c3 - c2,
        "members_per_s": args.members / (t3 - t2),
        "cpu_s_per_member": (c3 - c2) / args.members,
        "left_russia_mean": sum(left) / len(left),
    })


if __name__ == "__main__":
    main()
