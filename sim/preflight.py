"""Pre-flight of `python -m sim`: compose and validate every swept value's config before Hydra
creates a folder (sim/validation.py holds the checks; this module composes configs, so it sits
above sim/config.py)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from sim.config import CONF_DIR, to_sim_config
from sim.errors import InputError
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


def preflight(argv: Sequence[str]) -> None:
    """Compose and validate the config of `python -m sim ARGS` before Hydra creates a folder.

    In a sweep, each value of each swept key is composed once (with the first value of the
    others): composition errors stop the sweep at once; a value error of one job is still that
    job's failure (sim/__main__.py). Flags other than -m are Hydra's business: nothing checked.
    """
    import yaml
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    args = [a for a in argv if a not in ("-m", "--multirun")]
    if any(a.startswith("-") or a.lstrip("+~").startswith("hydra.searchpath") for a in args):
        return  # other flags, or config dirs of the user's: Hydra's own errors apply
    ours = [a for a in args if not a.lstrip("+~").startswith(("hydra.", "hydra/"))]
    try:
        options = _override_values(ours)
    except HydraException as err:
        raise InputError(describe_composition_error(err)) from None
    first = [alts[0] for alts in options]
    trials = [first] + [[*first[:i], alt, *first[i + 1:]] for i, alts in enumerate(options)
                        for alt in alts[1:]]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        for trial in itertools.islice(trials, 500):
            try:
                cfg = compose(config_name="config", overrides=trial)
            except (HydraException, OmegaConfBaseException, yaml.YAMLError, ValueError) as err:
                raise InputError(describe_composition_error(err)) from None
            to_sim_config(cfg)


def preflight_command(argv: Sequence[str], config_dir: str, config_name: str) -> None:
    """The same one-line composition check for the other commands (evaluate, compare_policies,
    calibrate...): their config composed once with the command line's overrides, so that a YAML
    error, a misspelt key or a wrong type exits with code 2 before Hydra writes a folder. The
    values themselves are checked by each command, which removes its folder on rejection."""
    import yaml
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    args = [a for a in argv if a not in ("-m", "--multirun")]
    if any(a.startswith("-") for a in args):
        return  # --config-name and other flags: Hydra's own handling
    ours = [a for a in args if not a.lstrip("+~").startswith(("hydra.", "hydra/"))]
    try:
        first = [alts[0] for alts in _override_values(ours)]
        with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
            compose(config_name=config_name, overrides=first)
    except (HydraException, OmegaConfBaseException, yaml.YAMLError, ValueError) as err:
        raise InputError(describe_composition_error(err)) from None
