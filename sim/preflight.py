"""Pre-flight of `python -m sim`: compose and validate every swept value's config before Hydra
creates a folder (sim/validation.py holds the checks; this module composes configs, so it sits
above sim/config.py)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from pathlib import Path

from omegaconf import DictConfig

from sim.config import CONF_DIR, PolicyConfig, SimConfig, to_sim_config
from sim.errors import InputError
from sim.policy_file import check_overrides_literal, check_policy_choices, search_dirs
from sim.run_folder import claim_if_new, claim_run_folder, run_folder_name
from sim.validation import describe_composition_error


def _override_values(overrides: Sequence[str]) -> list[list[str]]:
    """The overrides as lists of alternatives: a sweep `seed=1,2` gives ['seed=1', 'seed=2']."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(list(overrides))
    options = []
    for override in parsed:
        key = override.get_key_element()
        if not override.is_sweep_override():
            options.append([override.input_line])
            continue
        try:  # choice and range sweeps; an interval or glob is the sweeper's to expand
            options.append([f"{key}={v}" for v in override.sweep_string_iterator()])
        except Exception:  # left to Hydra: each job validates its own config
            continue
    return options


def check_with_world(cfg: SimConfig) -> None:
    """The checks that need the data: the tables load, the policy compiles against the world
    (targets, categories, dates), ids in the config's mappings are ids of the data."""
    from sim.config import parse_date
    from sim.parallel import world_for
    from sim.policy import compile_policy
    from sim.population import make_strata
    from sim.validation import check_ids

    world = world_for(cfg.network)
    check_ids(cfg.population.visa_region_multiplier, world.region_ids,
              "population.visa_region_multiplier")
    compile_policy(cfg.policy, world, make_strata(list(cfg.population.age_bands)),
                   parse_date(cfg.start, "start"), parse_date(cfg.end, "end"))


def _quoted(path: Path) -> str:
    return f"'{path}'" if "'" not in str(path) else str(path)


def preflight(argv: Sequence[str]) -> list[str]:
    """Compose and validate the config of `python -m sim ARGS` before Hydra creates a folder;
    returns the overrides to add to the command line (the run folder it claimed).

    Every policy file chosen is first read as data (sim/policy_file.py). In a sweep, each value
    of each swept key is composed once (with the first value of the others): composition errors
    stop the sweep at once; a value error of one job is still that job's failure
    (sim/__main__.py). A single run is also checked against the data (its policy compiled) and
    its folder claimed (sim/run_folder.py). Flags other than -m are Hydra's business: only the
    policy files and the overrides' literalness are checked.
    """
    import yaml
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    multirun = any(a in ("-m", "--multirun") for a in argv)
    args = [a for a in argv if a not in ("-m", "--multirun")]
    ours = [a for a in args if not a.lstrip("+~").startswith(("hydra.", "hydra/"))]
    check_overrides_literal(ours)
    dirs = search_dirs(args)
    if any(a.startswith("-") or a.lstrip("+~").startswith("hydra.searchpath") for a in args):
        check_policy_choices([a for a in ours if not a.startswith("-")], dirs, PolicyConfig)
        return []  # other flags, or config dirs of the user's: Hydra's own errors apply
    try:
        options = _override_values(ours)
    except HydraException as err:
        raise InputError(describe_composition_error(err)) from None
    first = [alts[0] for alts in options]
    trials = [first] + [[*first[:i], alt, *first[i + 1:]] for i, alts in enumerate(options)
                        for alt in alts[1:]]
    errors = (HydraException, OmegaConfBaseException, yaml.YAMLError, ValueError)
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        for trial in itertools.islice(trials, 500):
            check_policy_choices(trial, dirs, PolicyConfig)  # as data, before Hydra reads them
            try:
                cfg = compose(config_name="config", overrides=trial)
            except errors as err:
                raise InputError(describe_composition_error(err)) from None
            checked = to_sim_config(cfg)
            if not multirun:
                check_with_world(checked)
        if multirun:
            return []
        hydra_overrides = [a for a in args if a not in ours]
        try:
            cfg = compose(config_name="config", overrides=[*first, *hydra_overrides],
                          return_hydra_config=True)
            folder = Path(str(cfg.hydra.run.dir))
        except errors as err:
            raise InputError(describe_composition_error(err)) from None
    named = any(a.lstrip("+~").startswith("hydra.run.dir=") for a in hydra_overrides)
    if not named:  # <stamp>_<policy> becomes <stamp>_<policy>_<overrides that change results>
        policy = str(cfg.policy.name)
        stamp = folder.name.removesuffix(f"_{policy}")
        folder = folder.with_name(f"{stamp}_{run_folder_name(policy, ','.join(ours))}")
    claimed = claim_run_folder(folder, unique=not named)
    return [] if named else [f"hydra.run.dir={_quoted(claimed)}"]


def preflight_command(argv: Sequence[str], config_dir: str, config_name: str,
                      check: Callable[[DictConfig], None] | None = None) -> list[str]:
    """The same one-line check for the other commands (evaluate, compare_policies, calibrate,
    holdout, sensitivity): their config composed once with the command line's overrides, so that
    a YAML error, a misspelt key, a wrong type or `${` exits with code 2 before Hydra writes a
    folder; then `check(cfg)`, the command's own value checks; then, for a command whose Hydra
    run folder is its output, that folder claimed (sim/run_folder.py). Returns the overrides
    to add to the command line."""
    import yaml
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    args = [a for a in argv if a not in ("-m", "--multirun")]
    ours = [a for a in args if not a.lstrip("+~").startswith(("hydra.", "hydra/"))]
    check_overrides_literal(ours)
    if any(a.startswith("-") for a in args):
        return []  # --config-name and other flags: Hydra's own handling
    hydra_overrides = [a for a in args if a not in ours]
    try:
        first = [alts[0] for alts in _override_values(ours)]
        with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
            cfg = compose(config_name=config_name, overrides=[*first, *hydra_overrides],
                          return_hydra_config=True)
            writes_folder = cfg.hydra.output_subdir is not None
            folder = Path(str(cfg.hydra.run.dir))
    except (HydraException, OmegaConfBaseException, yaml.YAMLError, ValueError) as err:
        raise InputError(describe_composition_error(err)) from None
    if check is not None:
        check(cfg)
    if not writes_folder:  # its run folder is its output folder, or `.`: claimed if new
        claim_if_new(folder)
        return []
    named = any(a.lstrip("+~").startswith("hydra.run.dir=") for a in hydra_overrides)
    claimed = claim_run_folder(folder, unique=not named)
    return [] if named else [f"hydra.run.dir={_quoted(claimed)}"]
