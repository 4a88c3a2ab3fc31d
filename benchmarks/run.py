"""Measure modeltrust and the anchor scanners on the benchmark cases; write BENCHMARKS.md.

Each tool runs as a subprocess on each case (inputs from benchmarks/generate.py), spawned by
a tiny launcher that times it and reads its ``ru_maxrss`` from ``os.wait4`` (which also covers
any descendants it waited for). Wall time covers the whole process, interpreter start-up
included: that is what a user waits for. Every run is repeated (default 3, fewer when a run is very
slow) and the median is reported. A scanner's exit code 1 or 2 usually means "found
something" and is recorded, not treated as a failure. A tool that is not installed, crashes
or times out is recorded as such, and the other measurements still go ahead.

Usage:
    python benchmarks/run.py [--venv .venv-bench] [--repeat 5] [--timeout 300]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / ".work"
LOGS = WORK / "logs"
MiB = 1 << 20
BUDGET_S = 90.0  # no further run of a tool on a case once this much time is used up
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass(frozen=True)
class Tool:
    name: str
    dist: str
    exe: str
    argv: Callable[[str, str], list[str]]  # (target, report file) -> arguments
    exit_codes: dict[int, tuple[str, bool]]  # code -> (meaning, scan completed)
    json_report: bool = False  # the run only counts if it wrote a parsable JSON report


TOOLS = [
    Tool(
        "modeltrust",
        "modeltrust",
        "modeltrust",
        lambda p, out: ["scan", p, "--format", "json", "-o", out],
        {0: ("clean", True), 1: ("findings", True), 2: ("tool error", False)},
        json_report=True,
    ),
    Tool(
        "picklescan",
        "picklescan",
        "picklescan",
        lambda p, _: ["-p", p],
        {0: ("clean", True), 1: ("infected", True), 2: ("scan errors", True)},
    ),
    Tool(
        "modelscan",
        "modelscan",
        "modelscan",
        lambda p, _: ["-p", p],
        {
            0: ("clean", True),
            1: ("issues found", True),
            2: ("scan errors", True),
            3: ("no supported files", True),
            4: ("usage error", False),
        },
    ),
    Tool(
        "modelaudit",
        "modelaudit",
        "modelaudit",
        lambda p, _: ["scan", "--no-cache", p],
        {0: ("clean", True), 1: ("issues found", True), 2: ("scan errors", True)},
    ),
]


@dataclass(frozen=True)
class Case:
    name: str
    path: str  # relative to benchmarks/.work
    title: str


CASES = [
    Case("pickle", "opcode-heavy.pkl", "~20 MB opcode-heavy benign pickle"),
    Case("torch-zip", "big-checkpoint.pt", "1 GiB PyTorch zip checkpoint"),
    Case("corpus", "picklescan-corpus", "picklescan test corpus"),
    Case("minilm", "minilm", "MiniLM snapshot (all-MiniLM-L6-v2, safetensors)"),
    Case("gguf", "smollm2.gguf", "SmolLM2-135M-Instruct Q4_1 GGUF"),
    Case("sharded", "sharded-safetensors", "2 GiB sharded safetensors checkpoint"),
]


@dataclass
class Run:
    wall_s: float
    peak_rss_bytes: int
    exit_code: int | None  # None when killed by a signal
    signal: int | None
    timed_out: bool


@dataclass
class Result:
    tool: str
    case: str
    status: str  # ok | failed | timeout | not available
    detail: str = ""
    runs: list[Run] = field(default_factory=list)
    median_s: float | None = None
    best_s: float | None = None
    peak_rss_bytes: int | None = None
    exit_code: int | None = None
    output_tail: list[str] = field(default_factory=list)


# --- running one process -------------------------------------------------------------------


# The tool is started by this tiny launcher (``python -S -I``), not by run.py itself: on Linux
# a process's ru_maxrss includes the memory of the process it was forked from (kept across
# exec), so spawning from a small launcher keeps run.py's own memory out of the numbers. The
# launcher also takes the time, so its own start-up is not counted either.
LAUNCHER = """
import os, sys, time
out, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.posix_spawn(argv[0], argv, os.environ)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
with open(out, "w") as f:
    f.write(f"{wall!r} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def run_once(argv: list[str], env: dict[str, str], timeout: float, log: Path) -> Run:
    """Run ``argv`` to completion (or kill its process group at ``timeout``)."""
    measured = log.with_suffix(".rusage")
    measured.unlink(missing_ok=True)
    launcher = [sys.executable, "-S", "-I", "-c", LAUNCHER, str(measured), *argv]
    timed_out = False
    with log.open("wb") as out:
        proc = subprocess.Popen(
            launcher,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=WORK,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _killpg(proc.pid)
            proc.wait()
    _killpg(proc.pid)  # anything the tool left behind in its own session
    if timed_out or not measured.exists():
        return Run(timeout if timed_out else 0.0, 0, None, None, timed_out)
    wall, maxrss, code = measured.read_text().split()
    return Run(
        wall_s=float(wall),
        peak_rss_bytes=int(maxrss) * 1024,  # KiB on Linux
        exit_code=int(code) if int(code) >= 0 else None,
        signal=-int(code) if int(code) < 0 else None,
        timed_out=False,
    )


def rss_floor(env: dict[str, str]) -> int:
    """Peak RSS the launcher reports for a trivial program: the floor under every figure."""
    true = next((p for p in ("/bin/true", "/usr/bin/true") if os.path.exists(p)), None)
    if true is None:
        return 0
    return run_once([true], env, 30, LOGS / "floor.log").peak_rss_bytes


def _killpg(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _valid_json(path: Path) -> bool:
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return True


def _read_end(log: Path, size: int = 64 * 1024) -> str:
    """The last ``size`` bytes of a log (some tools print tens of megabytes)."""
    with log.open("rb") as f:
        f.seek(max(0, log.stat().st_size - size))
        return f.read().decode("utf-8", errors="replace")


def _crashed(log: Path) -> bool:
    """True when the output ends with an uncaught Python exception."""
    text = _read_end(log)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return (
        "Traceback (most recent call last)" in text
        and bool(lines)
        and re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt)\b", lines[-1]) is not None
    )


def _tail(log: Path, lines: int = 4) -> list[str]:
    text = ANSI.sub("", _read_end(log))
    kept = [
        ln.strip() for ln in text.splitlines() if ln.strip() and not set(ln.strip()) <= set("=-═─")
    ]
    return [ln[:200] for ln in kept[-lines:]]


def measure(
    tool: Tool, exe: Path, case: Case, args: argparse.Namespace, env: dict[str, str]
) -> Result:
    result = Result(tool.name, case.name, "ok")
    log = LOGS / f"{case.name}.{tool.name}.log"
    report = LOGS / f"{case.name}.{tool.name}.json"
    argv = [str(exe), *tool.argv(str(WORK / case.path), str(report))]
    for i in range(args.repeat):
        report.unlink(missing_ok=True)
        run = run_once(argv, env, args.timeout, log)
        result.runs.append(run)
        result.exit_code = run.exit_code
        code = run.exit_code if run.exit_code is not None else f"signal {run.signal}"
        rss = run.peak_rss_bytes / MiB
        print(
            f"  {tool.name:<11} run {i + 1}: {run.wall_s:8.3f} s {rss:8.1f} MiB  exit {code}",
            flush=True,
        )
        if run.timed_out:
            result.status, result.detail = "timeout", f"killed after {args.timeout:.0f} s"
            break
        if run.exit_code is None:
            why = f"killed by signal {run.signal}" if run.signal else "could not start"
            result.status, result.detail = "failed", f"{why} (see {log.relative_to(ROOT)})"
            break
        meaning, completed = tool.exit_codes.get(run.exit_code, ("unexpected exit code", False))
        if run.exit_code and _crashed(log):
            meaning, completed = "crashed with a Python traceback", False
        result.detail = f"exit {run.exit_code} ({meaning})"
        if completed and tool.json_report and not _valid_json(report):
            meaning, completed = "no valid JSON report written", False
            result.detail = f"exit {run.exit_code} ({meaning})"
        if not completed:
            result.status = "failed"
            if "Traceback (most recent call last)" in _read_end(log) and not _crashed(log):
                result.detail += "; Python traceback in output"
            break
        if sum(r.wall_s for r in result.runs) + run.wall_s > BUDGET_S:
            break  # keeps `make bench` short; the number of runs is reported
    result.output_tail = _tail(log)
    if result.status == "ok":
        walls = [r.wall_s for r in result.runs]
        result.median_s = statistics.median(walls)
        result.best_s = min(walls)
        result.peak_rss_bytes = max(r.peak_rss_bytes for r in result.runs)
    return result


# --- tools and machine ---------------------------------------------------------------------


def find_tool(tool: Tool, venv: Path) -> tuple[Path | None, str]:
    """The tool's executable (per-anchor venv first, then the shared one) or why it's missing."""
    for candidate in (Path(f"{venv}-{tool.name}"), venv):
        exe = candidate / "bin" / tool.exe
        if exe.is_file() and os.access(exe, os.X_OK):
            return exe, ""
    marker = venv / f"unavailable-{tool.name}.txt"
    if marker.is_file():
        return None, " ".join(marker.read_text(encoding="utf-8", errors="replace").split())[:300]
    return None, f"{tool.exe} not found in {venv}/bin (run `make bench` to install it)"


def _python_of(exe: Path) -> Path:
    return exe.parent / "python"


def _capture(argv: list[str]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except OSError:
        return ""
    return proc.stdout.strip() if proc.returncode == 0 else ""


def tool_version(tool: Tool, exe: Path) -> str:
    code = f"import importlib.metadata as m; print(m.version({tool.dist!r}))"
    return _capture([str(_python_of(exe)), "-c", code]) or "unknown"


def machine(python: Path | None) -> dict[str, str]:
    info = {"cpu": platform.processor() or "unknown", "cores": str(os.cpu_count())}
    try:
        text = Path("/proc/cpuinfo").read_text()
        found = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
        if found:
            info["cpu"] = found.group(1).strip()
    except OSError:
        pass
    try:
        mem = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
        if mem:
            info["ram"] = f"{int(mem.group(1)) / (1 << 20):.1f} GiB"
    except OSError:
        pass
    code = "import platform; print(platform.python_version())"
    info["python"] = (
        _capture([str(python), "-c", code]) if python else ""
    ) or platform.python_version()
    info["os"] = platform.platform()
    rev = _capture(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    # The benchmark's own outputs do not make the measured code "uncommitted".
    dirty = _capture(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no",
                      "--", ".", ":!BENCHMARKS.md", ":!benchmarks/*.json"])
    info["modeltrust_commit"] = (rev + (" + uncommitted changes" if dirty else "")) or "unknown"
    return info


def case_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def case_files(path: Path) -> int:
    return 1 if path.is_file() else sum(1 for p in path.rglob("*") if p.is_file())


# --- report --------------------------------------------------------------------------------


def _secs(v: float | None) -> str:
    return "–" if v is None else (f"{v:.3f} s" if v < 10 else f"{v:.1f} s")


def _mib(v: int | None) -> str:
    return "–" if v is None else f"{v / MiB:.0f} MiB"


def _ratio(a: float | None, b: float | None) -> str:
    return "–" if a is None or b is None or b <= 0 else f"{a / b:.2f}×"


def _get(results: list[Result], tool: str, case: str) -> Result | None:
    return next((r for r in results if r.tool == tool and r.case == case), None)


def targets(results: list[Result], sizes: dict[str, int]) -> list[dict[str, str]]:
    rows = []

    def ok(r: Result | None) -> bool:
        return r is not None and r.status == "ok"

    def why(r: Result | None, name: str) -> str:
        if r is None:
            return f"{name} not measured"
        return f"{name} {r.status}" + (f": {r.detail}" if r.detail else "")

    mt, ps = _get(results, "modeltrust", "pickle"), _get(results, "picklescan", "pickle")
    goal = "(a) ~20 MB opcode-heavy pickle: ≥ 4× faster than picklescan, peak RSS ≤ 10× file size"
    if ok(mt) and ok(ps) and mt and ps and mt.median_s and ps.median_s and mt.peak_rss_bytes:
        speed = ps.median_s / mt.median_s
        rss = mt.peak_rss_bytes / sizes["pickle"]
        met = speed >= 4 and rss <= 10
        rows.append(
            {
                "target": goal,
                "measured": f"{speed:.2f}× faster, RSS {rss:.1f}× file size",
                "met": "yes" if met else "no",
            }
        )
    else:
        rows.append(
            {
                "target": goal,
                "measured": why(mt, "modeltrust") if not ok(mt) else why(ps, "picklescan"),
                "met": "n/a",
            }
        )

    mt = _get(results, "modeltrust", "torch-zip")
    goal = "(b) 1 GiB PyTorch zip checkpoint: under 0.2 s"
    if ok(mt) and mt and mt.median_s is not None:
        rows.append(
            {
                "target": goal,
                "measured": _secs(mt.median_s),
                "met": "yes" if mt.median_s < 0.2 else "no",
            }
        )
    else:
        rows.append({"target": goal, "measured": why(mt, "modeltrust"), "met": "n/a"})

    mt, ps = _get(results, "modeltrust", "corpus"), _get(results, "picklescan", "corpus")
    goal = "(c) whole picklescan corpus: faster than picklescan"
    if ok(mt) and ok(ps) and mt and ps and mt.median_s and ps.median_s:
        rows.append(
            {
                "target": goal,
                "measured": f"{_secs(mt.median_s)} vs {_secs(ps.median_s)}",
                "met": "yes" if mt.median_s < ps.median_s else "no",
            }
        )
    else:
        rows.append(
            {
                "target": goal,
                "measured": why(mt, "modeltrust") if not ok(mt) else why(ps, "picklescan"),
                "met": "n/a",
            }
        )
    for case, goal in (("minilm", "(d) MiniLM folder: faster than modelaudit"),
                       ("gguf", "(e) SmolLM2 GGUF: faster than modelaudit"),
                       ("sharded", "(f) 2 GiB sharded safetensors: faster than modelaudit")):
        mt, ma = _get(results, "modeltrust", case), _get(results, "modelaudit", case)
        if ok(mt) and ok(ma) and mt and ma and mt.median_s and ma.median_s:
            rows.append({"target": goal,
                         "measured": f"{_secs(mt.median_s)} vs {_secs(ma.median_s)} "
                                     f"({ma.median_s / mt.median_s:.1f}× faster)",
                         "met": "yes" if mt.median_s < ma.median_s else "no"})
        else:
            rows.append({"target": goal,
                         "measured": why(mt, "modeltrust") if not ok(mt)
                         else why(ma, "modelaudit"), "met": "n/a"})
    return rows


@dataclass
class Report:
    date: str
    machine: dict[str, str]
    repeat: int
    tools: dict[str, dict[str, str]]
    cases: dict[str, dict[str, int]]
    targets: list[dict[str, str]]
    results: list[Result]
    rss_floor_bytes: int = 0


def render(rep: Report) -> str:
    mach, tools, cases, results = rep.machine, rep.tools, rep.cases, rep.results
    out = [
        "# Benchmarks",
        "",
        f"Generated by `make bench` ([benchmarks/run.py](benchmarks/run.py)) on {rep.date}. "
        "Do not edit by hand; raw numbers are in "
        "[benchmarks/results.json](benchmarks/results.json).",
        "",
        "## Targets",
        "",
        "| target | measured (median) | met |",
        "|---|---|---|",
    ]
    for row in rep.targets:
        out.append(f"| {row['target']} | {row['measured']} | {row['met']} |")
    out += [
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        f"| CPU | {mach['cpu']} |",
        f"| cores | {mach['cores']} |",
        f"| RAM | {mach.get('ram', 'unknown')} |",
        f"| OS | {mach['os']} |",
        f"| Python | {mach['python']} |",
        f"| modeltrust commit | {mach['modeltrust_commit']} |",
        "",
        "## Tools",
        "",
        "| tool | version | command |",
        "|---|---|---|",
    ]
    for tool in TOOLS:
        t = tools.get(tool.name)
        if t is None:
            continue
        cmd = " ".join([tool.exe, *tool.argv("PATH", "REPORT.json")])
        out.append(f"| {tool.name} | {t['version']} | `{cmd}` |")
    out += [
        "",
        "## Method",
        "",
        "Each tool runs as a separate process on each case. *Wall* is the median (and best) of up "
        f"to {rep.repeat} runs, measured around the whole process, so interpreter start-up "
        "and imports are included. *Peak RSS* is the child's `ru_maxrss` from `os.wait4` "
        "(highest over the runs); each tool is spawned by a small launcher (`python -S`) "
        "that takes both measurements, so the harness's own memory and start-up are not "
        f"counted (the launcher's floor, measured on `/bin/true`: {_mib(rep.rss_floor_bytes)}). "
        "A tool is not run again on a case once another run would take its total past "
        f"{BUDGET_S:.0f} s (the *runs* column says how many counted). "
        "Exit codes 1 and 2 of the anchors mean "
        '"found something" or "could not parse some file" and count as completed scans. '
        "*÷ modeltrust* is the tool's figure divided by modeltrust's: above 1 means modeltrust "
        "is faster or smaller. The inputs are generated by "
        "[benchmarks/generate.py](benchmarks/generate.py); nothing is ever loaded or unpickled.",
        "",
    ]
    for case in CASES:
        c = cases.get(case.name)
        if c is None:
            continue
        mt = _get(results, "modeltrust", case.name)
        mt_ok = mt is not None and mt.status == "ok"
        out += [
            f"## {case.title}",
            "",
            f"`{case.path}`: {c['files']} file(s), {c['bytes'] / MiB:.1f} MiB "
            f"({c['bytes']:,} bytes).",
            "",
            "| tool | result | wall (median) | wall (best) | runs | peak RSS "
            "| time ÷ modeltrust | RSS ÷ modeltrust |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for tool in TOOLS:
            r = _get(results, tool.name, case.name)
            if r is None:
                continue
            res = r.status if r.status != "ok" else "completed"
            if r.detail:
                res += f": {r.detail}"
            t_ratio = _ratio(r.median_s, mt.median_s) if mt_ok and mt else "–"
            m_ratio = "–"
            if mt_ok and mt and r.peak_rss_bytes and mt.peak_rss_bytes:
                m_ratio = _ratio(r.peak_rss_bytes, mt.peak_rss_bytes)
            out.append(
                f"| {tool.name} | {res.replace('|', '/')} | {_secs(r.median_s)} "
                f"| {_secs(r.best_s)} | {len(r.runs)} | {_mib(r.peak_rss_bytes)} "
                f"| {t_ratio} | {m_ratio} |"
            )
        out.append("")
    return "\n".join(out)


# --- driver --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv-bench")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per run")
    parser.add_argument("--cases", nargs="*", default=[c.name for c in CASES])
    parser.add_argument("--tools", nargs="*", default=[t.name for t in TOOLS])
    parser.add_argument("--markdown", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results.json")
    args = parser.parse_args(argv)
    venv = args.venv.resolve()

    LOGS.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    # Every tool runs as installed, with its bytecode cache: a shell that forbids writing
    # bytecode would make each run recompile the tools installed from source.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.update(
        PROMPTFOO_DISABLE_TELEMETRY="1",  # modelaudit
        NO_ANALYTICS="1",
        HF_HUB_OFFLINE="1",
        NO_COLOR="1",
        PYTHONUNBUFFERED="1",
    )

    tools: dict[str, dict[str, str]] = {}
    exes: dict[str, Path] = {}
    for tool in TOOLS:
        if tool.name not in args.tools:
            continue
        exe, reason = find_tool(tool, venv)
        if exe is None:
            tools[tool.name] = {"version": "not available", "reason": reason}
            print(f"{tool.name}: not available: {reason}")
            continue
        exes[tool.name] = exe
        shown = exe.relative_to(ROOT) if exe.is_relative_to(ROOT) else exe
        tools[tool.name] = {"version": tool_version(tool, exe), "path": str(shown)}
        print(f"{tool.name} {tools[tool.name]['version']}: {exe}")

    results: list[Result] = []
    cases: dict[str, dict[str, int]] = {}
    sizes: dict[str, int] = {}
    for case in CASES:
        path = WORK / case.path
        if case.name not in args.cases:
            continue
        if not path.exists():
            print(f"skipping {case.name}: {path} missing (run benchmarks/generate.py)")
            continue
        sizes[case.name] = case_size(path)
        cases[case.name] = {"bytes": sizes[case.name], "files": case_files(path)}
        print(f"\n{case.title} ({sizes[case.name] / MiB:.1f} MiB)", flush=True)
        for tool in TOOLS:
            if tool.name not in args.tools:
                continue
            if tool.name not in exes:
                results.append(
                    Result(
                        tool.name, case.name, "not available", tools[tool.name].get("reason", "")
                    )
                )
                continue
            results.append(measure(tool, exes[tool.name], case, args, env))

    first = next(iter(exes.values()), None)
    rep = Report(
        date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine=machine(_python_of(first) if first else None),
        repeat=args.repeat,
        tools=tools,
        cases=cases,
        targets=targets(results, sizes),
        results=results,
        rss_floor_bytes=rss_floor(env),
    )
    args.json.write_text(
        json.dumps(asdict(rep), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    text = render(rep)
    # Signing (benchmarks/signing.py) and forensics (benchmarks/forensics.py) are measured
    # by their own scripts, each side by side with its anchor; their latest results are
    # carried into the one BENCHMARKS.md.
    for extra in ("SIGNING.md", "FORENSICS.md"):
        section = ROOT / "benchmarks" / extra
        if section.is_file():
            text = text.rstrip("\n") + "\n\n" + section.read_text(encoding="utf-8")
    args.markdown.write_text(text, encoding="utf-8")
    print(f"\nwrote {args.markdown} and {args.json}")
    for row in rep.targets:
        print(f"  [{row['met']:>3}] {row['target']}: {row['measured']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
