"""The architecture, checked: the direction of imports, no cycles, thin commands, short modules,
and no process-wide side effect of importing a module. Run it alone with
`python -m pytest tests/test_layout.py`."""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sim", "calibration", "analysis", "experiments", "app")
MAX_LINES = 600


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")) if (ROOT / package).is_dir() else []:
            found[_module_name(path)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, module: str) -> set[str]:
    """Every module imported anywhere in the file (functions too), except under
    `if TYPE_CHECKING:` (annotations only, never executed)."""
    out: set[str] = set()
    package = module if modules()[module].name == "__init__.py" else module.rpartition(".")[0]

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return out


@cache
def graph() -> dict[str, set[str]]:
    """Project module -> the project modules it imports."""
    known = modules()
    edges = {}
    for name, path in known.items():
        imported = _imports(ast.parse(path.read_text(encoding="utf-8")), name)
        edges[name] = {m for m in imported if m in known and m != name}
    return edges


def is_command(name: str) -> bool:
    """A command: a module of experiments/ (or sim/__main__) run with `python -m`."""
    if name == "experiments":
        return False
    source = modules()[name].read_text(encoding="utf-8")
    return name == "sim.__main__" or (name.startswith("experiments.")
                                      and '__name__ == "__main__"' in source)


def test_the_layout_has_the_expected_packages():
    names = modules()
    assert {"sim.model", "sim.results", "sim.parallel", "calibration.pipeline",
            "experiments.calibrate"} <= set(names)


@pytest.mark.parametrize("package", ["sim", "calibration", "analysis", "experiments", "tests",
                                     "benchmarks"])
def test_no_module_over_600_lines(package):
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / package).rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_core_imports_nothing_built_on_it():
    above = ("calibration", "analysis", "experiments", "app")
    bad = {m: sorted(i for i in deps if i.split(".")[0] in above)
           for m, deps in graph().items() if m.split(".")[0] == "sim"}
    assert not {m: d for m, d in bad.items() if d}


def test_the_libraries_import_no_command():
    bad = {m: sorted(i for i in deps if i.split(".")[0] in ("experiments", "app"))
           for m, deps in graph().items() if m.split(".")[0] in ("calibration", "analysis")}
    assert not {m: d for m, d in bad.items() if d}


def test_no_command_is_imported_by_another_module():
    bad = {m: sorted(i for i in deps if is_command(i)) for m, deps in graph().items()}
    assert not {m: d for m, d in bad.items() if d}


def test_no_import_cycle():
    edges = graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt):], nxt])
            elif nxt not in state:
                walk(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            walk(start, [start])
    assert not cycles, f"import cycles: {cycles}"


def test_the_checker_sees_a_cycle_and_a_wrong_direction(tmp_path):
    """The walk above would pass vacuously if it found no edges: check that it finds some."""
    edges = graph()
    assert "sim.results" in edges["sim.outputs"]
    assert "calibration.problem" in edges["calibration.abc"]
    assert "calibration.pipeline" in edges["experiments.calibrate"]
    assert "analysis.comparison" in edges["experiments.compare_policies"]
    assert is_command("experiments.calibrate") and not is_command("calibration.pipeline")


def test_importing_modules_limits_no_threads():
    """Importing any module must not change the process's BLAS thread pools (a run limits
    its own threads inside `MobilisationModel.run`)."""
    names = [m for m in modules() if not m.endswith("__main__")]
    code = ("import importlib, json; import numpy, scipy.linalg\n"
            "from threadpoolctl import threadpool_info\n"
            "before = [p['num_threads'] for p in threadpool_info()]\n"
            f"for name in {names!r}: importlib.import_module(name)\n"
            "after = [p['num_threads'] for p in threadpool_info()][:len(before)]\n"
            "print(json.dumps([before, after]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True, timeout=300)
    before, after = __import__("json").loads(out.stdout.strip().splitlines()[-1])
    assert before, "no BLAS loaded: the check would be vacuous"
    assert before == after


# ---- one place converts agent units, one function starts worker pools -----------------------
def _name_of(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def agent_unit_conversions(source: str) -> list[int]:
    """Lines dividing by a population scale (agents -> real people): `x / scale`,
    `x / model.scale`, `x /= self.scale`, ... The conversion's place is sim/results.py."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            divisor = node.right
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Div):
            divisor = node.value
        else:
            continue
        if "scale" in _name_of(divisor).lower():
            lines.append(node.lineno)
    return lines


POOL_STARTERS = {"Parallel", "Pool", "ProcessPoolExecutor", "ThreadPoolExecutor",
                 "get_reusable_executor", "Client", "LocalCluster", "init"}
POOL_MODULES = ("joblib", "multiprocessing", "concurrent.futures", "loky", "dask", "ray")


def pool_starts(source: str) -> list[str]:
    """Imports of a worker-pool starter (joblib.Parallel, multiprocessing.Pool, executors,
    loky's executor, a Dask client, ray.init) and calls of `ray.init`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(POOL_MODULES):
            found += [f"{node.module}.{a.name}" for a in node.names if a.name in POOL_STARTERS]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and (
                node.func.attr in POOL_STARTERS and _name_of(node.func.value) in (
                    "joblib", "multiprocessing", "futures", "ray", "distributed")):
            found.append(ast.unparse(node.func))
    return found


def test_the_checks_see_a_conversion_and_a_pool():
    """The two checks below would pass vacuously if they saw nothing."""
    assert agent_unit_conversions("y = record / model.scale\nz = 1.0 / scale\n") == [1, 2]
    assert agent_unit_conversions("y = capacity * scale\n") == []
    assert pool_starts("from joblib import Parallel, delayed\n") == ["joblib.Parallel"]
    assert pool_starts("import ray\nray.init()\n") == ["ray.init"]
    assert pool_starts("from concurrent.futures import ProcessPoolExecutor\n")


def test_no_module_outside_results_converts_agent_units():
    """Agent counts become real-population figures in sim/results.py only (`to_real`,
    `Results`): the page, the comparison, the calibration and the files read them there."""
    bad = {str(p.relative_to(ROOT)): lines for name, p in modules().items()
           if name != "sim.results"
           and (lines := agent_unit_conversions(p.read_text(encoding="utf-8")))}
    assert not bad, f"divisions by a population scale outside sim/results.py: {bad}"


def test_nothing_but_run_many_starts_worker_pools():
    """One way to run many models: sim.parallel (run_many and its backends) starts pools."""
    bad = {str(p.relative_to(ROOT)): found for name, p in modules().items()
           if name != "sim.parallel" and (found := pool_starts(p.read_text(encoding="utf-8")))}
    assert not bad, f"worker pools started outside sim.parallel.run_many: {bad}"
