"""The re-choice of an exit by people already on the way: switch to another exit, go home, or
(in a queue) stay. Used by `sim.engine.Ensemble` for men who re-plan (their exit closed or bars
them, they were refused) and for men who reconsider their queue."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sim import inversion
from sim.behaviour import logsumexp_rows
from sim.draws import StreamDraws, drawn_rows_categories, logit_choice, logit_weights, row_numbers
from sim.ensemble_state import MemberArrays
from sim.keyed import KeyedDraws
from sim.network import World

STAY, HOME = -1, -2  # outcomes of a choice that are not an exit


class DayChoice(NamedTuple):
    """What a day's choices see, per member: the exits' utilities as known ([B, G]), each
    stratum's utility of each exit and whether he may use it ([B, S, G]), today's policy."""

    exit_u: np.ndarray
    stratum_u: np.ndarray
    available: np.ndarray
    policy: dict[str, np.ndarray]


def choose_exits(member: np.ndarray, stratum: np.ndarray, home: np.ndarray,
                 from_nodes: np.ndarray, choice: DayChoice, p: MemberArrays, world: World,
                 draws: StreamDraws | KeyedDraws, n_strata: int,
                 stay_utility: np.ndarray | None = None, day: int = 0,
                 keys: np.ndarray | None = None) -> np.ndarray:
    """Each individual (his member, stratum, home region, node) picks an exit reachable from
    his node, or going home, or (when `stay_utility` is given) staying in the queue he is in.
    Returns the exit, HOME or STAY.

    Exact nested form of the flat logit: individuals sharing (member, node, stratum, home
    region) share the exits' utilities, so each group's logsum is computed once; a man first
    draws among {switch, home, stay} (switch with the group's logsum as utility), then
    switchers draw their exit from the group's shares. Keyed draws (`sim.keyed`) give each man
    two uniforms of his own (his person key `keys`, the `day`, the node he chooses from).
    """
    exit_u, stratum_u, available, pol = choice
    w = world
    n_regions, n_nodes = w.n_regions, w.travel_days.shape[0]
    key = (((member * n_nodes + from_nodes) * n_strata + stratum) * n_regions + home)
    groups, group_of = np.unique(key, return_inverse=True)
    one = draws.size == 1  # the ensemble of one: broadcast rather than gather
    local_only = pol["local_only"][0][None, :] if one else pol["local_only"]
    # the exits' utilities depend on the home region only through `local_only`: without it,
    # groups that differ only in home regions share one row (the same arithmetic on the same
    # inputs, so the same floats), computed once
    rows = groups if local_only.any() else groups // n_regions
    rows, row_of_group = (rows, np.arange(len(groups))) if local_only.any() else np.unique(
        rows, return_inverse=True)
    r_home = rows % n_regions if local_only.any() else None
    unit = n_regions if local_only.any() else 1
    r_stratum = (rows // unit) % n_strata
    r_node = (rows // (unit * n_strata)) % n_nodes
    r_member = rows // (unit * n_strata * n_nodes)
    u = (p.neg_beta_time[r_member][:, None] * w.travel_days[r_node]
         + (exit_u[0][None, :] if one else exit_u[r_member])
         + stratum_u[r_member, r_stratum])
    ok = available[r_member, r_stratum]
    if local_only.any():
        barred = local_only if one else local_only[r_member]
        ok = ok & ~(barred & (r_home[:, None] != w.gate_region[None, :]))
    u = np.where(ok, u, -np.inf)
    if stay_utility is not None:  # staying is its own option, not a switch to the same exit
        u[np.arange(len(rows)), r_node - n_regions] = -np.inf
    row_switch_u = logsumexp_rows(u)
    switch_u = row_switch_u[row_of_group]
    g_member = groups // (n_regions * n_strata * n_nodes)
    options = [switch_u[group_of], p.home_utility[member]]
    if stay_utility is not None:
        options.append(stay_utility)
    if draws.keyed:
        u_top, u_exit = draws.choice_uniforms("reroute" if stay_utility is None else "reconsider",
                                              day, member, keys, from_nodes)
        weights, any_option = logit_weights(np.stack(options, axis=1))
        top = np.where(any_option, inversion.categorical(weights, np.arange(len(member)),
                                                         u_top), -1)
    else:
        top = logit_choice(np.stack(options, axis=1), member, draws.streams, "reconsider")
    result = np.where(top == 1, HOME, STAY)
    switching = np.flatnonzero(top == 0)
    counts = np.bincount(group_of[switching], minlength=len(groups))
    drawn = np.flatnonzero(counts)  # only groups with a switcher need their exits' shares
    u_drawn, top_drawn = u[row_of_group[drawn]], switch_u[drawn]
    weights = np.where(np.isfinite(u_drawn), np.exp(
        u_drawn - np.where(np.isfinite(top_drawn), top_drawn, 0.0)[:, None]), 0.0)
    if draws.keyed:
        row = np.searchsorted(drawn, group_of[switching])
        result[switching] = inversion.categorical(weights, row, u_exit[switching])
        return result
    _, exits = drawn_rows_categories(weights, counts[drawn], g_member,
                                     row_numbers(g_member, draws.size)[drawn], drawn,
                                     draws.streams, "reconsider")
    # draws come member by member, each member's groups in order: the switchers likewise
    order = np.lexsort((group_of[switching], member[switching]))
    result[switching[order]] = exits
    return result
