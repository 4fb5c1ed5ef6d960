"""`python -m sim list posts|airports|countries|policies`: what a policy can name, with ids,
names, capacities and status, read from the data files and conf/policy."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from sim.config import CONF_DIR
from sim.errors import ConfigError

KINDS = ("posts", "airports", "countries", "policies")


def policy_names() -> list[str]:
    """The policy files of conf/policy, by name."""
    return sorted(p.stem for p in (CONF_DIR / "policy").glob("*.yaml"))


def _policies() -> pd.DataFrame:
    rows = []
    for name in policy_names():
        try:
            spec = yaml.safe_load((CONF_DIR / "policy" / f"{name}.yaml").read_text("utf-8"))
        except (OSError, yaml.YAMLError):
            spec = None
        spec = spec if isinstance(spec, dict) else {}
        rows.append({"id": name, "name": str(spec.get("name", name)),
                     "base": spec.get("base") or "",
                     "actions": len(spec.get("actions") or []),
                     "description": " ".join(str(spec.get("description", "")).split())})
    return pd.DataFrame(rows)


def listing(kind: str, data_dir: str | Path | None = None) -> pd.DataFrame:
    """The table `python -m sim list KIND` prints."""
    from sim.parallel import tables_for

    if kind not in KINDS:
        raise ConfigError("list", f"'{kind}': list one of {', '.join(KINDS)}")
    if kind == "policies":
        return _policies()
    t = tables_for(None if data_dir is None else str(data_dir))
    countries = t.countries["name"]
    if kind == "posts":
        posts = t.posts.reset_index()
        return pd.DataFrame({
            "id": posts["id"], "name": posts["name"],
            "to": posts["destination"].map(countries),
            "capacity_per_day": posts["capacity_persons_per_day"].astype(int),
            "capacity_basis": posts["capacity_basis"], "status": posts["status"]})
    if kind == "airports":
        routes = t.air_routes.groupby("airport")
        airports = t.airports.reset_index()
        seats = routes["seats_per_day"].sum()
        to = routes["destination"].apply(lambda d: ", ".join(sorted(d)))
        return pd.DataFrame({
            "id": airports["id"], "iata": airports["iata"], "name": airports["name"],
            "seats_per_day": airports["id"].map(seats).fillna(0).astype(int),
            "routes_to": airports["id"].map(to).fillna("")})
    c = t.countries.reset_index()
    land = t.posts.groupby("destination")
    return pd.DataFrame({
        "id": c["id"], "name": c["name"], "kind": c["kind"],
        "documents": c["documents_required"],
        "land_posts": c["id"].map(land.size()).fillna(0).astype(int),
        "land_capacity_per_day": c["id"].map(land["capacity_persons_per_day"].sum())
        .fillna(0).astype(int),
        "air_seats_per_day": c["id"].map(t.air_routes.groupby("destination")["seats_per_day"]
                                        .sum()).fillna(0).astype(int)})


def print_listing(kind: str) -> None:
    with pd.option_context("display.max_rows", None, "display.max_columns", None,
                           "display.width", 200, "display.max_colwidth", 70):
        print(listing(kind).to_string(index=False))
