#!/usr/bin/env python3
"""Head-to-head driver: auto-circuit against AutoCircuit for .NET on auto-circuit's micro model.

For each round, each n_layers, each thread count and each workload, it runs both sides (one process
each, the side that goes first alternating), records /proc/loadavg before and after every step,
checks that both sides computed the same numbers (checksums within --rtol), and writes
results.json and results.md (speed-up = auto-circuit's median ÷ ours, with quartiles over rounds).
See README.md in this folder for the workloads and the JSON contract of our side.

    python3 tools/perf-vs-auto-circuit/run.py --auto-circuit /path/to/auto-circuit-checkout
    python3 tools/perf-vs-auto-circuit/run.py --auto-circuit /work/.mirror/UFO-101+auto-circuit/repo \
        --layers 2,8 --threads 1,2 --rounds 3 --reps 5 --load 1
    python3 tools/perf-vs-auto-circuit/run.py --auto-circuit CHECKOUT --ours none   # auto-circuit only
"""
import argparse
import atexit
import datetime as dt
import hashlib
import json
import math
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
import auto_circuit_side as acs  # noqa: E402  (no torch import at module level)

PINNED_COMMIT = "98db58c"
DEFAULT_OURS = ("dotnet run --project src/Host/AutoCircuit.Tool -c Release --no-build -- "
                "bench --vs-auto-circuit --json")
REQUIRED_MS = ("median", "q1", "q3")

_children = []   # load generator processes, ended by pid at exit
# A busy loop that also ends by itself when the driver is gone (even if the driver was SIGKILLed).
BUSY_LOOP = "import os\nparent = os.getppid()\nwhile os.getppid() == parent:\n    for _ in range(2000000):\n        pass\n"
_tempdirs = []


# ---------------------------------------------------------------------------------------------- #
# Helpers

def loadavg():
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return None


def quartiles(xs):
    s = sorted(xs)
    if not s:
        return None
    if len(s) == 1:
        return {"median": s[0], "q1": s[0], "q3": s[0], "min": s[0], "max": s[0], "n": 1}
    q1, med, q3 = statistics.quantiles(s, n=4, method="inclusive")
    return {"median": med, "q1": q1, "q3": q3, "min": s[0], "max": s[-1], "n": len(s)}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def cleanup():
    for p in _children:
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGTERM)
                p.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.kill(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    _children.clear()
    for d in _tempdirs:
        shutil.rmtree(d, ignore_errors=True)
    _tempdirs.clear()


def _on_signal(signum, frame):
    cleanup()
    sys.exit(128 + signum)


# ---------------------------------------------------------------------------------------------- #
# auto-circuit checkout

def resolve_checkout(path, commit, keep):
    """A folder holding auto_circuit/: the path itself, or auto_circuit/ extracted at `commit` from a
    git directory (a bare mirror as the `fetch` tool leaves, or a clone) into a temporary folder."""
    path = Path(path).resolve()
    if (path / "auto_circuit" / "__init__.py").exists() or (path / "auto_circuit" / "types.py").exists():
        head = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True)
        if head.returncode == 0 and not head.stdout.startswith(commit):
            log(f"warning: {path} is at {head.stdout.strip()[:12]}, not the pinned {commit}")
        return path
    git_dir = path / ".git" if (path / ".git").exists() else path
    if not (git_dir / "HEAD").exists():
        sys.exit(f"{path}: neither an auto-circuit checkout (auto_circuit/) nor a git directory")
    dest = Path(tempfile.mkdtemp(prefix="perf-vs-auto-circuit-"))
    if not keep:
        _tempdirs.append(dest)
    # Only auto_circuit/: the mirror may lack large blobs elsewhere (git archive of the whole tree fails).
    archive = subprocess.run(["git", "--git-dir", str(git_dir), "archive", commit, "auto_circuit", "pyproject.toml"],
                             capture_output=True)
    if archive.returncode != 0:
        sys.exit(f"git archive {commit} failed: {archive.stderr.decode(errors='replace')}")
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    full = subprocess.run(["git", "--git-dir", str(git_dir), "rev-parse", commit], capture_output=True, text=True)
    (dest / ".auto_circuit_commit").write_text(full.stdout.strip() or commit)
    log(f"auto-circuit {commit} extracted to {dest}" + (" (kept)" if keep else " (removed at exit)"))
    return dest


# ---------------------------------------------------------------------------------------------- #
# Running one side

def run_side(cmd, extra, timeout, log_path):
    """Run one side; returns (parsed JSON or None, error text, wall seconds)."""
    full = cmd + extra
    t0 = time.perf_counter()
    try:
        with open(log_path, "wb") as err:
            proc = subprocess.run(full, stdout=subprocess.PIPE, stderr=err, cwd=REPO, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout} s", time.perf_counter() - t0
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = " | ".join(Path(log_path).read_text(errors="replace").strip().splitlines()[-4:])[-1000:]
        return None, f"exit {proc.returncode}: {tail}", wall
    text = proc.stdout.decode(errors="replace").strip()
    # The contract: one JSON object on stdout. Tolerate leading noise lines (e.g. build chatter).
    start = text.find("{")
    try:
        return json.loads(text[start:] if start >= 0 else text), None, wall
    except json.JSONDecodeError as e:
        return None, f"stdout is not one JSON object ({e}): {text[:500]}", wall


def validate(doc, n_layers, threads, workload, sha):
    """Contract checks (README.md); returns a list of problems."""
    problems = []
    if doc.get("schema") != acs.SCHEMA:
        problems.append(f"schema {doc.get('schema')!r} != {acs.SCHEMA}")
    if doc.get("n_layers") != n_layers or doc.get("threads") != threads:
        problems.append(f"n_layers/threads {doc.get('n_layers')}/{doc.get('threads')} != {n_layers}/{threads}")
    if (doc.get("dataset") or {}).get("sha256") not in (None, sha):
        problems.append("dataset sha256 differs from the file given")
    w = (doc.get("workloads") or {}).get(workload)
    if w is None:
        problems.append(f"workload {workload} missing")
    else:
        ms = w.get("ms") or {}
        if not all(isinstance(ms.get(k), (int, float)) for k in REQUIRED_MS):
            problems.append(f"{workload}.ms lacks {REQUIRED_MS}")
        if "checksum" not in w:
            problems.append(f"{workload}.checksum missing")
    return problems


# ---------------------------------------------------------------------------------------------- #
# Checksums

def _scale_key(key):
    return key.replace("sum", "abs_sum") if key.endswith("sum") and not key.endswith("abs_sum") else None


def compare(a, b, rtol, path=""):
    """Differences between two checksum trees. Integers (counts, index sums) and lists must be equal;
    a float x agrees with y when |x - y| <= rtol * max(|x|, |y|, S), S being the sibling "*abs_sum"
    of a "*sum" key (so sums that cancel are compared on the scale of their terms)."""
    diffs = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                diffs.append(f"{path}{k}: only on one side")
                continue
            va, vb = a[k], b[k]
            if isinstance(va, (int, float)) and isinstance(vb, (int, float)) and not (
                    isinstance(va, bool) or isinstance(vb, bool)):
                if isinstance(va, int) and isinstance(vb, int):
                    if va != vb:
                        diffs.append(f"{path}{k}: {va} != {vb}")
                    continue
                sk = _scale_key(k)
                scale = max(abs(a.get(sk, 0.0) or 0.0), abs(b.get(sk, 0.0) or 0.0)) if sk else 0.0
                fa, fb = float(va), float(vb)
                if math.isnan(fa) or math.isnan(fb) or math.isinf(fa) or math.isinf(fb):
                    if not (fa == fb or (math.isnan(fa) and math.isnan(fb))):
                        diffs.append(f"{path}{k}: {fa} != {fb}")
                elif abs(fa - fb) > rtol * max(abs(fa), abs(fb), scale):
                    diffs.append(f"{path}{k}: {fa!r} vs {fb!r} (rel {abs(fa - fb) / max(abs(fa), abs(fb), scale):.2e})")
            else:
                diffs += compare(va, vb, rtol, f"{path}{k}.")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b) or any(x != y for x, y in zip(a, b)):
            diffs.append(f"{path.rstrip('.')}: lists differ")
    elif a != b:
        diffs.append(f"{path.rstrip('.')}: {a!r} != {b!r}")
    return diffs


# ---------------------------------------------------------------------------------------------- #
# Report

def fmt_ms(q):
    if q is None:
        return "—"
    f = (lambda x: f"{x:.3g}" if x < 10 else f"{x:.0f}")
    return f"{f(q['median'])} [{f(q['q1'])}–{f(q['q3'])}]"


def fmt_x(q):
    if q is None:
        return "—"
    return f"**{q['median']:.2f}×** [{q['q1']:.2f}–{q['q3']:.2f}]"


def _by_message(steps):
    """Problems of a cell's steps, one entry per message with the rounds it happened in."""
    seen = {}
    for s in steps:
        for e in s.get("errors", []):
            seen.setdefault(e, []).append(s["round"])
    return [f"{e} (round{'s' if len(r) > 1 else ''} {','.join(map(str, sorted(set(r))))})" for e, r in seen.items()]


def summarize(steps, layers, threads, workloads, have_ours):
    cells = []
    for L in layers:
        for k in threads:
            for w in workloads:
                mine = [s for s in steps if s["n_layers"] == L and s["threads"] == k and s["workload"] == w]
                ac = [s["auto_circuit"]["median"] for s in mine if s.get("auto_circuit")]
                ours = [s["ours"]["median"] for s in mine if s.get("ours")]
                speed = [s["speedup"] for s in mine if s.get("speedup") is not None]
                loads = [x for s in mine for x in s["loadavg_1min"] if x is not None]
                checks = [s.get("checksums_agree") for s in mine if s.get("checksums_agree") is not None]
                cells.append({
                    "n_layers": L, "threads": k, "workload": w,
                    "auto_circuit_ms": quartiles(ac), "ours_ms": quartiles(ours) if have_ours else None,
                    "speedup": quartiles(speed) if have_ours else None,
                    "checksums_agree": (all(checks) if checks else None),
                    "load_1min": {"min": min(loads), "max": max(loads)} if loads else None,
                    "errors": _by_message(mine),
                })
    return cells


def markdown(meta, cells, have_ours):
    lines = [f"# auto-circuit vs AutoCircuit for .NET — {meta['started']}", "",
             f"auto-circuit `{meta['auto_circuit_commit'][:12]}` (torch {meta.get('torch', '?')}); "
             f"ours: `{meta['ours_command']}`", "",
             f"{meta['rounds']} rounds × {meta['reps']} timed reps (+{meta['warmup']} warm-up) per side and cell; "
             f"the sides alternate which goes first. Load generator: {meta['load']} busy process(es). "
             f"Checksum tolerance: rtol {meta['rtol']:g}. Host: {meta['host']['cpus']} CPUs.", "",
             "Times: median of the per-round medians [quartiles over rounds], ms. "
             "Speed-up: auto-circuit ÷ ours per round, median [quartiles].", ""]
    if have_ours:
        lines += ["| layers | threads | workload | auto-circuit ms | ours ms | speed-up | same numbers | load 1 min |",
                  "|---:|---:|---|---:|---:|---:|:-:|---|"]
    else:
        lines += ["| layers | threads | workload | auto-circuit ms | load 1 min |", "|---:|---:|---|---:|---|"]
    for c in cells:
        load = f"{c['load_1min']['min']:.2f}–{c['load_1min']['max']:.2f}" if c["load_1min"] else "—"
        if have_ours:
            same = {True: "yes", False: "**NO**", None: "—"}[c["checksums_agree"]]
            lines.append(f"| {c['n_layers']} | {c['threads']} | {c['workload']} | {fmt_ms(c['auto_circuit_ms'])} | "
                         f"{fmt_ms(c['ours_ms'])} | {fmt_x(c['speedup'])} | {same} | {load} |")
        else:
            lines.append(f"| {c['n_layers']} | {c['threads']} | {c['workload']} | {fmt_ms(c['auto_circuit_ms'])} | {load} |")
    errs = [(c, e) for c in cells for e in c["errors"]]
    if errs:
        lines += ["", "## Problems", ""]
        lines += [f"- L={c['n_layers']} t={c['threads']} {c['workload']}: {e}" for c, e in errs[:200]]
    if meta.get("ac_vs_reference"):
        lines += ["", "## auto-circuit's checksums differ from reference_checksums.json", ""]
        lines += [f"- {x}" for x in meta["ac_vs_reference"][:50]]
    if meta.get("ac_inconsistent"):
        lines += ["", "## auto-circuit's own checksums differ between runs", ""]
        lines += [f"- {x}" for x in meta["ac_inconsistent"][:50]]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- #

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--auto-circuit", required=True,
                   help="auto-circuit checkout, or a git directory (bare mirror or clone) to extract --commit from")
    p.add_argument("--commit", default=PINNED_COMMIT, help="commit to extract from a git directory (98db58c)")
    p.add_argument("--keep-checkout", action="store_true", help="keep the extracted checkout (path is logged)")
    p.add_argument("--ours", default=DEFAULT_OURS,
                   help="command of our side (shell words; the driver appends the options, see README), or 'none'")
    p.add_argument("--python", default="/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable,
                   help="the Python with Debian's python3-torch")
    p.add_argument("--layers", default="2,8,32")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--workloads", default="all", help="comma-separated, default all: " + ",".join(acs.WORKLOADS))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--per", choices=["workload", "config"], default="workload",
                   help="one process per side and workload (default), or per side and (layers, threads)")
    p.add_argument("--load", type=int, default=0, help="N busy-loop processes burning cores during the run")
    p.add_argument("--load-settle", type=float, default=10.0, help="seconds to wait after starting the load")
    p.add_argument("--rtol", type=float, default=1e-4, help="checksum tolerance (see README)")
    p.add_argument("--timeout", type=float, default=3600, help="seconds per side invocation")
    p.add_argument("--out", type=Path, help="results folder (default tools/perf-vs-auto-circuit/results/<UTC time>)")
    args = p.parse_args()

    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    layers = [int(x) for x in args.layers.split(",")]
    threads = [int(x) for x in args.threads.split(",")]
    workloads = acs.WORKLOADS if args.workloads == "all" else [w.strip() for w in args.workloads.split(",")]
    bad = [w for w in workloads if w not in acs.WORKLOADS]
    if bad:
        sys.exit(f"unknown workloads {bad}")
    have_ours = args.ours.strip().lower() != "none"
    ours_cmd = shlex.split(args.ours) if have_ours else None

    started = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or HERE / "results" / started
    (out / "raw").mkdir(parents=True, exist_ok=True)
    (out / "logs").mkdir(exist_ok=True)

    checkout = resolve_checkout(args.auto_circuit, args.commit, args.keep_checkout)
    dataset = out / "dataset.json"
    raw_ds = acs.dataset_bytes(acs.generate_dataset())
    dataset.write_bytes(raw_ds)
    sha = hashlib.sha256(raw_ds).hexdigest()
    ac_cmd = [args.python, str(HERE / "auto_circuit_side.py"), "--auto-circuit", str(checkout)]

    if args.load > 0:
        for _ in range(args.load):
            _children.append(subprocess.Popen([sys.executable, "-c", BUSY_LOOP],
                                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL))
        log(f"load: {args.load} busy process(es), pids {[c.pid for c in _children]}; settling {args.load_settle:g} s")
        time.sleep(args.load_settle)

    env_seen = {k: v for k, v in os.environ.items()
                if k.startswith(("OMP_", "MKL_", "KMP_", "AUTOCIRCUIT_", "GOMP_"))}
    if env_seen:
        log(f"note: threading variables set for both sides: {env_seen}")

    groups = [(L, k, [w]) for L in layers for k in threads for w in workloads] if args.per == "workload" \
        else [(L, k, workloads) for L in layers for k in threads]
    steps = []
    ac_ref = {}          # (n_layers, workload) -> first auto-circuit checksum, for self-consistency
    ac_inconsistent = []
    ac_vs_reference = []  # auto-circuit's checksums against reference_checksums.json
    ref_file = HERE / "reference_checksums.json"
    reference = json.loads(ref_file.read_text())["n_layers"] if ref_file.exists() else {}
    meta_torch = None
    ac_commit = None
    n_total = args.rounds * len(groups)
    i_step = 0
    for rnd in range(args.rounds):
        for gi, (L, k, ws) in enumerate(groups):
            i_step += 1
            common = ["--n-layers", str(L), "--threads", str(k), "--reps", str(args.reps), "--warmup",
                      str(args.warmup), "--workloads", ",".join(ws), "--dataset", str(dataset)]
            sides = [("auto_circuit", ac_cmd)] + ([("ours", ours_cmd)] if have_ours else [])
            if (rnd + gi) % 2 == 1:
                sides.reverse()
            docs, loads = {}, []
            errors = {w: [] for w in ws}
            for side, cmd in sides:
                la = loadavg()
                loads.append(la)
                tag = f"r{rnd}-L{L}-t{k}-{'+'.join(ws) if len(ws) == 1 else 'all'}-{side}"
                doc, err, wall = run_side(cmd, common, args.timeout, out / "logs" / f"{tag}.err")
                loads.append(loadavg())
                for w in ws:
                    errors[w] += [f"{side}: {x}" for x in validate(doc, L, k, w, sha)] if doc is not None \
                        else [f"{side}: {err}"]
                if doc is not None:
                    (out / "raw" / f"{tag}.json").write_text(json.dumps(doc))
                docs[side] = doc
                log(f"[{i_step}/{n_total}] round {rnd} L={L} threads={k} {','.join(ws)} {side}: "
                    f"{'ok' if doc else 'FAILED'} ({wall:.1f} s, load {la[0] if la else '?'})")
            acd = docs.get("auto_circuit")
            if acd:
                meta_torch = acd.get("env", {}).get("torch")
                ac_commit = acd.get("env", {}).get("auto_circuit_commit")
            for w in ws:
                def wl(d):
                    return ((d or {}).get("workloads") or {}).get(w)
                a, o = wl(acd), wl(docs.get("ours"))
                step = {"round": rnd, "n_layers": L, "threads": k, "workload": w,
                        "order": [s for s, _ in sides],
                        "loadavg": loads, "loadavg_1min": [x[0] if x else None for x in loads],
                        "auto_circuit": a["ms"] if a else None, "ours": o["ms"] if o else None,
                        "errors": errors[w]}
                if a and o and isinstance(o.get("ms", {}).get("median"), (int, float)) and o["ms"]["median"] > 0:
                    step["speedup"] = a["ms"]["median"] / o["ms"]["median"]
                if a and o and "checksum" in o:
                    d = compare(a["checksum"], o["checksum"], args.rtol)
                    step["checksums_agree"] = not d
                    if d:
                        step["checksum_differences"] = d[:20]
                        step["errors"].append("checksums differ: " + "; ".join(d[:5]))
                if a:
                    known = reference.get(str(L), {}).get("checksums", {}).get(w)
                    d = compare(known, a["checksum"], args.rtol) if known is not None else []
                    if d:
                        ac_vs_reference.append(f"L={L} {w} round {rnd} threads {k}: " + "; ".join(d[:3]))
                    ref = ac_ref.setdefault((L, w), a["checksum"])
                    d = compare(ref, a["checksum"], args.rtol)
                    if d:
                        ac_inconsistent.append(f"L={L} {w} round {rnd} threads {k}: " + "; ".join(d[:3]))
                steps.append(step)

    cleanup_load = [c.pid for c in _children]
    cleanup()
    cells = summarize(steps, layers, threads, workloads, have_ours)
    meta = {
        "started": started, "auto_circuit_commit": ac_commit or args.commit, "torch": meta_torch,
        "ours_command": args.ours, "python": args.python, "rounds": args.rounds, "reps": args.reps,
        "warmup": args.warmup, "per": args.per, "load": args.load, "load_pids": cleanup_load,
        "rtol": args.rtol, "dataset_sha256": sha, "threading_env": env_seen,
        "host": {"cpus": os.cpu_count(), "uname": " ".join(os.uname())},
        "ac_inconsistent": ac_inconsistent, "ac_vs_reference": ac_vs_reference,
    }
    result = {"meta": meta, "cells": cells, "steps": steps}
    (out / "results.json").write_text(json.dumps(result, indent=1))
    md = markdown(meta, cells, have_ours)
    (out / "results.md").write_text(md)
    print(md)
    log(f"results: {out}/results.md, results.json")
    bad_cells = [c for c in cells if c["errors"] or c["checksums_agree"] is False]
    return 1 if bad_cells else 0


if __name__ == "__main__":
    sys.exit(main())
