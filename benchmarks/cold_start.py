"""Cold start of the count function as a ratio to a bare botocore DynamoDB client, layer contents only.

Method
------
* Artefacts: the ``sam build`` output in ``.aws-sam/build`` (what
  ``make build-check`` produces) when it matches the sources (every file of
  ``functions/record_counts`` and ``layers/domain`` byte for byte, and every
  pinned requirement installed); otherwise a private ``sam build
  RecordCountsFunction`` (arm64, as the template says) into a temporary
  directory, with pyenv's Python 3.13 first on PATH. ``.aws-sam`` is never
  written to.
* The function folder and the layer's ``python/`` folder are copied to a
  temporary directory (as built, and stripped of bytecode), and every run
  sets ``PYTHONDONTWRITEBYTECODE=1``: like Lambda's read-only ``/opt``, a
  run can never cache bytecode for the next one.
* Each run is a fresh process of pyenv's Python 3.13 with ``-S`` (no
  site-packages: only the stdlib), ``PYTHONPATH`` = function folder then
  layer folder, cwd = the function folder. Its environment is only what
  Lambda would give it: the runtime's reserved variables
  (``LAMBDA_TASK_ROOT``, ``AWS_LAMBDA_FUNCTION_NAME``, ``AWS_EXECUTION_ENV``,
  ...) and the function's variables from template.yaml. The runtime
  variables matter: outside Lambda, Powertools' Tracer and the X-Ray SDK
  behave differently.
* **The headline figure: the ratio to the floor.** Whole-process CPU (user +
  system, ``getrusage`` of the child, interpreter start-up included) of
  - **the count function**: ``import app; app.usage_store()``, the init
    phase (importing the handler module) plus the DynamoDB client and store
    that the first request builds before it can call DynamoDB;
  - **the floor**: ``import botocore.session;
    botocore.session.get_session().create_client("dynamodb")``, the client
    alone, which no Python function that calls DynamoDB can skip;
  with the same interpreter, artefacts (as shipped, with their bytecode),
  environment and cwd. One unmeasured run of each, then ``--pairs`` pairs
  run in alternation (floor, app, floor, app, ...) so that load on a shared
  host falls on both. The ratio is the app's median over the floor's median;
  the target is at most ``RATIO_TARGET``. Absolute times drift with the host
  and its load; the ratio is the figure.
* Information, with ``-X importtime`` added and ``import app`` alone: the
  ``cumulative`` µs of the top-level ``app`` import (interpreter start-up
  excluded), the sum of all top-level imports (start-up included) and the
  process wall time and CPU. One unmeasured run first (OS file cache), then
  the median of ``--runs`` runs, in three modes:
  - **as shipped**: the build output as it is. The layers'
    Makefiles compile every module with ``--invalidation-mode
    unchecked-hash``, so Lambda uses that bytecode without checking sources;
  - **without bytecode**: every module compiled from source
    on each run, which is what a layer built without bytecode would pay;
  - **outside Lambda**: as shipped but without the Lambda
    runtime variables, as tests and the local stack import it.
* Heaviest imports (of ``import app; app.usage_store()``): per top-level
  package, the sum of its modules' ``self`` µs (what the package costs
  wherever it is imported from), and the single modules with the largest
  ``cumulative`` µs, with the chain that imported them.
* PDF check: no module of a PDF or font library (reportlab, invoice_pdf,
  fpdf, pypdf, fontTools, PIL, ...) may appear in the import list, and none
  is in the layer at all.
* ``--typed-resolver``: the same measurement of the count function as if
  every request went to Powertools' typed resolver, which its first request
  would then build (``import app; app.typed_app(); app.usage_store()``);
  written to ``cold_start_typed_resolver.json``, the headline result left
  as it is. It says why the count function keeps its plain path.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from benchmarks import _reporting as reporting
from benchmarks import _support as support

NAME = "cold_start"
RATIO_TARGET = 1.25  # the count function's whole-process CPU over the floor's
BEFORE_RATIO = 1.55  # what the issue measured before the cold-start work (boto3, pydantic and Powertools' resolver)
APP_CODE = "import app; app.usage_store()"
TYPED_APP_CODE = "import app; app.typed_app(); app.usage_store()"  # --typed-resolver: every request typed
FLOOR_CODE = 'import botocore.session; botocore.session.get_session().create_client("dynamodb")'
FUNCTION = "RecordCountsFunction"
LAYER = "DomainLayer"
PDF_PACKAGES = frozenset(
    {
        "reportlab",
        "invoice_pdf",
        "fpdf",
        "pypdf",
        "PyPDF2",
        "pdfkit",
        "weasyprint",
        "fitz",
        "pymupdf",
        "pikepdf",
        "borb",
        "xhtml2pdf",
        "pdfminer",
        "fontTools",
        "fonttools",
        "PIL",
        "pillow",
        "fpdf2",
    }
)
_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)\s*$")


# ---------------------------------------------------------------- artefacts
def python313() -> Path:
    """pyenv's CPython 3.13 (the runtime the template names), else this interpreter's base."""
    try:
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        root = str(Path.home() / ".pyenv")
    for candidate in (
        Path(root) / "versions" / "3.13.0" / "bin" / "python3.13",
        Path(sys.base_prefix) / "bin" / "python3.13",
    ):
        if candidate.exists():
            return candidate
    raise RuntimeError("no Python 3.13 found (pyenv install 3.13.0)")


BUILD_RECIPES = {"Makefile", "requirements.txt"}  # how the layer is built; not shipped in it


def _files(folder: Path) -> dict[str, Path]:
    return {
        str(path.relative_to(folder)): path
        for path in folder.rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and path.suffix != ".pyc"
        and path.name not in BUILD_RECIPES
    }


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def stale_reasons(build: Path) -> list[str]:
    """Why ``build`` (a sam build directory) does not hold today's sources; empty when it does."""
    function_out, layer_out = build / FUNCTION, build / LAYER / "python"
    if not (function_out / "app.py").exists() or not layer_out.is_dir():
        return [f"{build} has no {FUNCTION} or {LAYER}"]
    reasons = []
    pairs = [
        (support.ROOT / "functions" / "record_counts", function_out),
        (support.ROOT / "layers" / "domain", layer_out),
    ]
    for source, out in pairs:
        for rel, path in _files(source).items():
            built = out / rel
            if not built.exists() or built.read_bytes() != path.read_bytes():
                reasons.append(f"{built.relative_to(build)} differs from {path.relative_to(support.ROOT)}")
    built_billing, source_billing = (
        _files(layer_out / "billing"),
        _files(support.ROOT / "layers" / "domain" / "billing"),
    )
    reasons += [
        f"{LAYER}/python/billing/{rel} no longer in the sources" for rel in built_billing.keys() - source_billing
    ]
    installed = set()
    for dist_info in layer_out.glob("*.dist-info"):
        name, _, version = dist_info.name.removesuffix(".dist-info").partition("-")
        installed.add(f"{_normalise(name)}-{version}")
    for line in (support.ROOT / "layers" / "domain" / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            wanted = f"{_normalise(name.split('[')[0])}-{version.strip()}"
            if wanted not in installed:
                reasons.append(f"{line} is not installed in the layer")
    return reasons


def private_build(into: Path) -> Path:
    """``sam build RecordCountsFunction`` (and its layer) into ``into``, leaving .aws-sam alone."""
    sam = support.ROOT / ".venv-tools" / "bin" / "sam"
    if not sam.exists():
        raise RuntimeError("no .venv-tools/bin/sam: run `make tools` first")
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "PATH": f"{python313().parent}{os.pathsep}{os.environ['PATH']}"}
    command = [str(sam), "build", FUNCTION, "--region", support.REGION, "--build-dir", str(into / "build")]
    command += ["--no-cached", "--cache-dir", str(into / "cache")]
    done = subprocess.run(command, cwd=support.ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"sam build failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return into / "build"


def stage(build: Path, into: Path, keep_bytecode: bool) -> tuple[Path, Path]:
    """Copies of the function and layer folders, as built or stripped of bytecode."""
    ignore = None if keep_bytecode else shutil.ignore_patterns("__pycache__", "*.pyc")
    function_dir, layer_dir = into / "task", into / "opt" / "python"
    shutil.copytree(build / FUNCTION, function_dir, ignore=ignore)
    shutil.copytree(build / LAYER / "python", layer_dir, ignore=ignore)
    _host_binaries(layer_dir)
    return function_dir, layer_dir


def _host_binaries(layer_dir: Path) -> None:
    """Swap the layer's arm64 extension modules for this host's build of the same pinned versions.

    Lambda runs the layer on arm64; an arm64 ``.so`` (pydantic_core) cannot load
    on an x86 host. The pure-Python modules, which are most of the import, stay
    as built; each binary package is reinstalled, same version, for the host.
    """
    machine = platform.machine()
    if machine in ("aarch64", "arm64"):
        return
    foreign = sorted(
        {path.relative_to(layer_dir).parts[0] for path in layer_dir.rglob("*.so") if "aarch64" in path.name}
    )
    for package in foreign:
        info = next(layer_dir.glob(f"{package}-*.dist-info"), None)
        if info is None:
            raise RuntimeError(f"{package} holds arm64 binaries but has no dist-info to pin its version")
        name, version = info.name.removesuffix(".dist-info").rsplit("-", 1)
        shutil.rmtree(layer_dir / package)
        shutil.rmtree(info)
        subprocess.run(
            [str(python313()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--only-binary=:all:", "--target", str(layer_dir), f"{name}=={version}"],
            check=True,
        )  # fmt: skip
        subprocess.run([str(python313()), "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash",
                        str(layer_dir / package)], check=True)  # fmt: skip


# ---------------------------------------------------------------- runs
def lambda_env(function_dir: Path, layer_dir: Path, inside_lambda: bool = True) -> dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONPATH": f"{function_dir}{os.pathsep}{layer_dir}",
        **support.function_env(FUNCTION),
        "AWS_REGION": support.REGION,
        "AWS_DEFAULT_REGION": support.REGION,
    }
    if inside_lambda:  # what the python3.13 runtime sets (reserved variables)
        env |= {
            "LAMBDA_TASK_ROOT": str(function_dir),
            "LAMBDA_RUNTIME_DIR": str(function_dir),
            "_HANDLER": "app.lambda_handler",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "AWS_LAMBDA_FUNCTION_NAME": "invoicing-dev-RecordCountsFunction",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        }
    return env


def parse_importtime(stderr: str) -> list[dict]:
    """``-X importtime`` lines as {name, self_us, cumulative_us, depth}, in the order Python printed them."""
    rows = []
    for line in stderr.splitlines():
        match = _LINE.match(line)
        if match:
            self_us, cumulative_us, indent, name = match.groups()
            rows.append(
                {"name": name, "self_us": int(self_us), "cumulative_us": int(cumulative_us), "depth": len(indent) // 2}
            )
    return rows


def import_once(python: Path, function_dir: Path, env: dict[str, str], code: str = "import app") -> dict:
    command = [str(python), "-S", "-X", "importtime", "-c", code]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=function_dir, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise RuntimeError(f"`import app` failed:\n{done.stderr[-3000:]}")
    rows = parse_importtime(done.stderr)
    app = next(row for row in rows if row["name"] == "app" and row["depth"] == 0)
    return {
        "app_ms": app["cumulative_us"] / 1000,
        "all_top_level_ms": sum(row["cumulative_us"] for row in rows if row["depth"] == 0) / 1000,
        "wall_ms": wall * 1000,
        "cpu_ms": cpu * 1000,
        "rows": rows,
    }


def measure(python: Path, function_dir: Path, env: dict[str, str], runs: int) -> dict:
    import_once(python, function_dir, env)  # unmeasured: warms the OS file cache (and nothing else)
    samples = [import_once(python, function_dir, env) for _ in range(runs)]
    typical = sorted(samples, key=lambda sample: sample["app_ms"])[len(samples) // 2]
    return {
        "runs_ms": [round(sample["app_ms"], 1) for sample in samples],
        "median_ms": statistics.median(sample["app_ms"] for sample in samples),
        "min_ms": min(sample["app_ms"] for sample in samples),
        "all_top_level_median_ms": statistics.median(sample["all_top_level_ms"] for sample in samples),
        "wall_median_ms": statistics.median(sample["wall_ms"] for sample in samples),
        "process_cpu_median_ms": statistics.median(sample["cpu_ms"] for sample in samples),
        "modules": len(typical["rows"]),
        "rows": typical["rows"],
    }


def process_cpu_ms(python: Path, function_dir: Path, env: dict[str, str], code: str) -> float:
    """Whole-process CPU (user + system) of ``python -S -c code``, in ms."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([str(python), "-S", "-c", code], cwd=function_dir, env=env, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"`{code}` failed:\n{done.stderr[-3000:]}")
    return ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1000


def floor_ratio(python: Path, function_dir: Path, env: dict[str, str], pairs: int, app_code: str = APP_CODE) -> dict:
    """The count function's cold start over the floor (a bare botocore DynamoDB client), alternating runs."""
    process_cpu_ms(python, function_dir, env, FLOOR_CODE)  # unmeasured: the OS file cache
    process_cpu_ms(python, function_dir, env, app_code)
    floor, app = [], []
    for _ in range(pairs):
        floor.append(process_cpu_ms(python, function_dir, env, FLOOR_CODE))
        app.append(process_cpu_ms(python, function_dir, env, app_code))
    ratio = statistics.median(app) / statistics.median(floor)
    return {
        "app_code": app_code,
        "floor_code": FLOOR_CODE,
        "pairs": pairs,
        "app_cpu_median_ms": statistics.median(app),
        "floor_cpu_median_ms": statistics.median(floor),
        "app_cpu_runs_ms": [round(ms, 1) for ms in app],
        "floor_cpu_runs_ms": [round(ms, 1) for ms in floor],
        "ratio": ratio,
        "ratio_of_pairs_median": statistics.median(a / f for a, f in zip(app, floor, strict=True)),
        "target": RATIO_TARGET,
        "before": BEFORE_RATIO,
    }


def first_client_ms(python: Path, function_dir: Path, env: dict[str, str], runs: int) -> float | None:
    """Median ms of ``app.usage_store()`` right after import: the DynamoDB client the first request makes."""
    code = (
        "import time, app\nstart = time.perf_counter(); app.usage_store(); print((time.perf_counter() - start) * 1000)"
    )
    samples = []
    for _ in range(runs):
        done = subprocess.run(
            [str(python), "-S", "-c", code], cwd=function_dir, env=env, capture_output=True, text=True
        )
        if done.returncode != 0:  # no usage_store() any more: nothing to report
            return None
        samples.append(float(done.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def heaviest(rows: list[dict], top: int = 8) -> tuple[list[dict], list[dict]]:
    """(packages by summed self time, modules by cumulative time with the chain that imported them)."""
    by_package: dict[str, int] = defaultdict(int)
    count: dict[str, int] = defaultdict(int)
    for row in rows:
        by_package[row["name"].split(".")[0]] += row["self_us"]
        count[row["name"].split(".")[0]] += 1
    packages = [
        {"package": name, "self_ms": us / 1000, "modules": count[name]}
        for name, us in sorted(by_package.items(), key=lambda item: -item[1])
        if name != "app"
    ][:top]
    # importtime prints a module after its children, so a row's parent is the next row one level up.
    chains = []
    for index, row in enumerate(rows):
        chain, depth = [], row["depth"]
        for later in rows[index + 1 :]:
            if later["depth"] < depth:
                chain.append(later["name"])
                depth = later["depth"]
                if depth == 0:
                    break
        chains.append(list(reversed(chain)))
    ranked = sorted(
        (
            (row, chain)
            for row, chain in zip(rows, chains, strict=True)
            if row["name"] != "app" and row["name"].split(".")[0] != "billing"
        ),
        key=lambda pair: -pair[0]["cumulative_us"],
    )
    modules, seen_roots = [], set()
    for row, chain in ranked:  # one entry per package root: nested modules of the same package say little more
        root = row["name"].split(".")[0]
        if root in seen_roots:
            continue
        seen_roots.add(root)
        modules.append(
            {
                "module": row["name"],
                "cumulative_ms": row["cumulative_us"] / 1000,
                "self_ms": row["self_us"] / 1000,
                "imported_via": " > ".join(chain if len(chain) <= 4 else [*chain[:2], "…", *chain[-2:]]),
            }
        )
        if len(modules) == top:
            break
    return packages, modules


def by_origin(rows: list[dict]) -> dict[str, float]:
    """Self time (ms) of the standard library, the layer's third-party packages and our own code."""
    origin = defaultdict(int)
    for row in rows:
        root = row["name"].split(".")[0]
        if root in ("app", "billing"):
            origin["ours (app, billing)"] += row["self_us"]
        elif root in sys.stdlib_module_names:
            origin["standard library"] += row["self_us"]
        else:
            origin["third-party (layer)"] += row["self_us"]
    return {name: us / 1000 for name, us in sorted(origin.items(), key=lambda item: -item[1])}


def run(runs: int = 5, pairs: int = 15, app_code: str = APP_CODE) -> dict:
    machine = support.machine()
    python = python313()
    version = subprocess.run(
        [str(python), "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True, check=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="bench-cold-start-") as tmp:
        tmp = Path(tmp)
        build = support.ROOT / ".aws-sam" / "build"
        reasons = stale_reasons(build)
        if reasons:
            print(f"  .aws-sam/build is not today's sources ({reasons[0]}; {len(reasons)} in all): building privately")
            build = private_build(tmp / "sam")
            left = stale_reasons(build)
            if left:
                raise RuntimeError(f"a fresh sam build still differs from the sources: {left[:3]}")
            source = "private sam build RecordCountsFunction (arm64)"
        else:
            source = ".aws-sam/build (make build-check)"
        layer_files = {path.name for path in (build / LAYER / "python").iterdir()}
        pdf_in_layer = sorted(name for name in layer_files if name.split("-")[0] in PDF_PACKAGES)

        # The layer's Makefile ships bytecode compiled with unchecked hashes, as Lambda's
        # read-only /opt could never cache it; "without bytecode" shows what that saves.
        shipped_dirs = stage(build, tmp / "shipped", keep_bytecode=True)
        source_dirs = stage(build, tmp / "source", keep_bytecode=False)
        no_cache = {"PYTHONDONTWRITEBYTECODE": "1"}
        shipped_env = {**lambda_env(*shipped_dirs), **no_cache}
        ratio = floor_ratio(python, shipped_dirs[0], shipped_env, pairs, app_code)
        import_once(python, shipped_dirs[0], shipped_env, app_code)  # unmeasured
        first_request_rows = import_once(python, shipped_dirs[0], shipped_env, app_code)["rows"]
        modes = {
            "as_shipped": measure(python, shipped_dirs[0], {**lambda_env(*shipped_dirs), **no_cache}, runs),
            "without_bytecode": measure(python, source_dirs[0], {**lambda_env(*source_dirs), **no_cache}, runs),
            "outside_lambda": measure(
                python, shipped_dirs[0], {**lambda_env(*shipped_dirs, inside_lambda=False), **no_cache}, runs
            ),
        }
        client_ms = first_client_ms(python, shipped_dirs[0], lambda_env(*shipped_dirs), runs)
    rows = first_request_rows
    packages, modules = heaviest(rows)
    imported = sorted({row["name"] for row in rows})
    pdf_imported = sorted(name for name in imported if name.split(".")[0] in PDF_PACKAGES)
    for mode in modes.values():
        mode.pop("rows")
    checks = {
        f"cold start <= {RATIO_TARGET}x the botocore floor (whole-process CPU)": ratio["ratio"] <= RATIO_TARGET,
        "no PDF library imported": not pdf_imported,
        "no PDF library in the layer": not pdf_in_layer,
    }
    warnings = []
    return {
        "name": NAME,
        "method": reporting.method(__doc__),
        "machine": machine,
        "python": f"{python} ({version})",
        "artefacts": source,
        "targets": {"cold_start_over_botocore_floor_at_most": RATIO_TARGET},
        "ratio_to_floor": ratio,
        "modes": modes,
        "first_request_client_ms": client_ms,
        "self_ms_by_origin": by_origin(rows),
        "heaviest_packages": packages,
        "heaviest_modules": modules,
        "modules_imported": len(imported),
        "pdf_modules_imported": pdf_imported,
        "pdf_packages_in_layer": pdf_in_layer,
        "checks": checks,
        "warnings": warnings,
        "ok": all(checks.values()),
    }


def verdict(result: dict) -> str:
    ratio = result["ratio_to_floor"]
    ok = ratio["ratio"] <= ratio["target"]
    return (
        f"cold start {ratio['ratio']:.2f}x the botocore floor (target <= {ratio['target']}x;"
        f" {ratio['before']}x before): {'PASS' if ok else 'FAIL'}"
    )


def summary(result: dict) -> list[str]:
    modes, ratio = result["modes"], result["ratio_to_floor"]
    return [
        verdict(result),
        f"whole-process CPU, median of {ratio['pairs']}: {ratio['app_cpu_median_ms']:.0f} ms"
        f" (import app; app.usage_store()) vs {ratio['floor_cpu_median_ms']:.0f} ms (bare botocore client)",
        f"import app (information): {modes['as_shipped']['median_ms']:.0f} ms as shipped,"
        f" {modes['without_bytecode']['median_ms']:.0f} ms without bytecode;"
        f" PDF modules imported: {len(result['pdf_modules_imported'])}",
    ]


def print_result(result: dict) -> None:
    modes, ratio = result["modes"], result["ratio_to_floor"]
    runs = {key: " ".join(f"{ms:.0f}" for ms in ratio[f"{key}_cpu_runs_ms"]) for key in ("app", "floor")}
    reporting.print_table(
        f"Cold start over the botocore floor: whole-process CPU, {ratio['pairs']} alternating pairs"
        f" ({result['python']}; {result['artefacts']})",
        [
            ["process", "CPU ms (median)", "runs (ms)"],
            [ratio["app_code"], f"{ratio['app_cpu_median_ms']:.1f}", runs["app"]],
            [ratio["floor_code"], f"{ratio['floor_cpu_median_ms']:.1f}", runs["floor"]],
            ["ratio (medians)", f"{ratio['ratio']:.3f}", f"median of pair ratios {ratio['ratio_of_pairs_median']:.3f}"],
        ],
    )
    print(f"  target: <= {ratio['target']}x; measured: {ratio['ratio']:.2f}x; before: {ratio['before']}x")
    print(f"  {'PASS' if ratio['ratio'] <= ratio['target'] else 'FAIL'}: {verdict(result)}")
    labels = {
        "as_shipped": "as shipped, with its bytecode",
        "without_bytecode": "without bytecode (source only)",
        "outside_lambda": "outside Lambda env",
    }
    reporting.print_table(
        "Information: python -S -X importtime -c 'import app' (the import alone)",
        [
            [
                "mode",
                "import app (ms, median)",
                "min",
                "runs (ms)",
                "all top-level",
                "process wall",
                "process CPU",
                "modules",
            ]
        ]
        + [
            [
                labels[key],
                f"{mode['median_ms']:.1f}",
                f"{mode['min_ms']:.1f}",
                " ".join(f"{v:.0f}" for v in mode["runs_ms"]),
                f"{mode['all_top_level_median_ms']:.1f}",
                f"{mode['wall_median_ms']:.0f}",
                f"{mode['process_cpu_median_ms']:.0f}",
                mode["modules"],
            ]
            for key, mode in modes.items()
        ],
    )
    if result["first_request_client_ms"] is not None:
        print(
            f"  not in the import: the first request builds the DynamoDB client (app.usage_store()),"
            f" {result['first_request_client_ms']:.0f} ms (median, with bytecode)"
        )
    reporting.print_table(
        f"Where the time goes in `{ratio['app_code']}` (self time by origin, with bytecode)",
        [["origin", "ms"]] + [[name, f"{ms:.1f}"] for name, ms in result["self_ms_by_origin"].items()],
    )
    reporting.print_table(
        "Heaviest packages (sum of their modules' self time, with bytecode)",
        [["package", "ms", "modules"]]
        + [[p["package"], f"{p['self_ms']:.1f}", p["modules"]] for p in result["heaviest_packages"]],
    )
    reporting.print_table(
        "Heaviest imports (cumulative, one per package, with bytecode)",
        [["module", "cumulative ms", "imported via"]]
        + [[m["module"], f"{m['cumulative_ms']:.1f}", m["imported_via"]] for m in result["heaviest_modules"]],
    )
    reporting.print_machine(result)
    print(
        f"  PDF modules imported: {result['pdf_modules_imported'] or 'none'};"
        f" PDF packages in the layer: {result['pdf_packages_in_layer'] or 'none'}"
    )
    reporting.print_checks(result["checks"])
    for warning in result["warnings"]:
        print(f"  [warn] {warning}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cold_start", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured importtime runs per mode (default 5)")
    parser.add_argument("--pairs", type=int, default=15, help="alternating app/floor pairs for the ratio (default 15)")
    parser.add_argument(
        "--typed-resolver",
        action="store_true",
        help="measure the count function as if every request went to the typed resolver (it then fails the bar)",
    )
    args = parser.parse_args(argv)
    if args.typed_resolver:
        return reporting.finish(f"{NAME}_typed_resolver", run(args.runs, args.pairs, TYPED_APP_CODE), print_result)
    return reporting.finish(NAME, run(args.runs, args.pairs), print_result)


if __name__ == "__main__":
    raise SystemExit(0 if main()["ok"] else 1)
