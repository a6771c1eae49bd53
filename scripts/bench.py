#!/usr/bin/env python3
"""Benchmark hsync against rclone and DistCp on the two test clusters of scripts/hdfs,
against rsync and rclone on the local filesystem, and hsync alone on synthetic trees.

  scripts/bench [large] [small] [plan] [cap] [mem] [incremental] [synthetic] [sink] [local]
                [million] [spread]                                   default: large small

scripts/bench starts what this measures (the clusters if none is up, the release
build, rclone and hdfs-cli; rsync and rclone for `local`), then runs this script; run
alone, it expects all that done and HSYNC_HADOOP plus `scripts/hdfs env` exported.
`synthetic`, `sink`, `local` and `million` need no cluster: asked for alone, no
cluster is started or contacted.

large, small: generated once on cluster a (/hsync-bench/PID/<workload>), then copied
  a -> b by hsync, by rclone and by DistCp with the same parallelism, each into a
  fresh target, and checked (file count and bytes) against the source. `large` also
  measures a single-stream raw read and write with hdfs-cli, as a reference.
plan: a tree of small files in ~2,000 directories on a, already synced to b (with
  times, so rclone sees equal modtimes); times the no-op check, `hsync plan` vs
  `rclone sync --dry-run` vs `distcp -update` (DistCp has no dry run: its whole job,
  which finds nothing to copy, and its copy-listing phase alone), then rewrites 1% of
  the files on a and times the re-plan (DistCp's run then copies that 1%).
cap: copies a -> b with `bandwidth` in the manifest; the achieved rate is the bytes
  copied over the apply's duration, expected within 10% of the cap.
incremental: a tree of BENCH_INC_FILES files (the plan workload's shape) on a,
  mirrored to b by an `incremental = "snapshot"` job and to a second target for
  DistCp (snapshot s1 on a and there); then 100 changes on a (10 folder renames, 40
  file renames, 20 deletes, 30 new files) and, on that same state, the snapshot-diff
  plan against a whole-listing plan (`--full`): wall time and the NameNode RPCs both
  served (JMX RpcActivity, a + b). Then the diff applied, and `distcp -update -diff
  s1 s2` of the same changes.
synthetic: peak RSS and entries/s of `hsync plan` over a synthetic pair (no file
  created: `synthetic://` trees generated from a seed) of each size of
  BENCH_SYNTH_FILES: the source tree, and the same tree with 1% of its files changed,
  missing or extra as the target; against the issue's targets (<= 256 MiB, flat
  across sizes, >= 1 M entries/s, entries counted on both sides).
sink: peak RSS of `hsync apply` of a plan of BENCH_SINK_FILES copies (a synthetic
  source of 4-64 KiB files into an empty synthetic sink, which discards what it is
  given): the executor alone, against the target (<= 256 MiB).
local: BENCH_LOCAL_FILES files of 4-64 KiB (100 per folder) in a local temporary
  tree, copied local -> local into a fresh target by hsync (plan + apply, and the
  apply alone), by `rsync -a` and by `rclone sync` (if installed; --transfers and
  --checkers BENCH_PARALLEL), the page cache dropped of nothing but written out
  (sync) before each; checked (file count and bytes). Against issue 12's targets:
  hsync's files/s >= rsync's, peak RSS <= 64 MiB. hsync renames a file into place
  only once its data is durable (a `syncfs` per group of files); rsync and rclone
  never sync, so `rsync -a; sync -f` is timed too (its data on disk at the end).
million: BENCH_MILLION_FILES real local files of 0-1 KiB (1,000 per folder), planned into
  an empty local target (wall, peak RSS), applied and killed with SIGKILL once the
  target holds 30% of the folders, applied again (the resume: its copies must be fewer
  than the plan's, and with the files the killed run left, all of them), then planned
  again, which must say "No changes": its wall against `rclone sync --dry-run` of the
  same trees (target: hsync <= 0.3x rclone's time), if rclone is installed.
spread (Hadoop 3, on the YARN bed): the distributed apply's scaling where one machine's
  cores cannot give it: each worker capped at BENCH_SPREAD_MIBPS (the manifest's
  `bandwidth`, which each worker process applies alone), as each node's network card
  would cap it. For N in BENCH_SPREAD_WORKERS, `hsync apply --engine yarn --workers N`
  of a -> b, and DistCp on the same YARN with -m N -bandwidth (its per-map cap), each
  into a fresh target; the efficiency is the rate over the run's wall time less the
  engine's fixed cost, against N x the cap (target >= 0.8). The fixed cost, job start
  to first byte, is each tool's run of a one-file plan.
mem: peak RSS of `hsync plan` over a local tree of empty files (1,000 per
  directory) into an empty local target, i.e. a plan of that many copies; with
  planner/examples/plan_memory.rs present, also of the planner alone over a
  synthetic listing of that size.

DistCp runs through `scripts/hdfs distcp`: local mode, one JVM, JVM start and job
setup included; `distcp` of an empty folder, measured once, shows that fixed cost. It
gets -m N (and mapreduce.local.map.tasks.maximum=N), but local mode always runs ONE
map (Hadoop's local job client sets mapreduce.job.maps to 1): its copies run one
after the other, and each row notes the splits DistCp made. So that a run ends in
time, DistCp copies at most BENCH_DISTCP_FILES of a workload's files (a `-f` list),
compared with hsync by rate. It runs with -pb (blocks as the source's, as hsync's
copies, so its default checksum check after each copy can pass).

  BENCH_LARGE_MB=2048 BENCH_LARGE_FILES=16  large: total MiB, number of files
  BENCH_SMALL_FILES=20000                   small: files of 4-64 KiB
  BENCH_PLAN_FILES=200000                   plan: files in the tree
  BENCH_PLAN_SIZED=10                       plan: percent of them holding 1 B-1 KiB, the
                                            rest empty (no block: 4x faster to seed)
  BENCH_CAP_MB=1600 BENCH_CAP_FILES=4       cap: total MiB, number of files
  BENCH_CAP_MIBPS=50                        cap: the bandwidth cap, MiB/s (parallel 4)
  BENCH_SPREAD_MB=480 BENCH_SPREAD_FILES=96 spread: total MiB, number of files
  BENCH_SPREAD_MIBPS=2                      spread: each worker's (DistCp map's) cap, MiB/s
  BENCH_SPREAD_WORKERS=1,2,4                spread: the worker counts measured
  BENCH_MEM_FILES=1000000                   mem: entries of the planned tree
  BENCH_INC_FILES=100000                    incremental: files in the mirrored tree
  BENCH_SYNTH_FILES=1000000,10000000        synthetic: tree sizes planned (add 100000000
                                            for the 100 M point)
  BENCH_SINK_FILES=1000000                  sink: copies in the applied plan
  BENCH_LOCAL_FILES=20000                   local: files of 4-64 KiB in the copied tree
  BENCH_MILLION_FILES=1000000               million: local files planned, applied, resumed
  BENCH_MAX_RSS_MIB=8192                    synthetic, sink: a run is stopped (and said
                                            so) once its RSS passes this
  BENCH_PARALLEL=8                          hsync parallel, rclone --transfers/--checkers,
                                            distcp -m and -numListstatusThreads
  BENCH_PEERS=rclone,distcp                 the peers to run beside hsync
  BENCH_DISTCP_FILES=500                    large, small: DistCp copies at most this many of
                                            the files (`-f` list), compared by rate
"""

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

WORKLOADS = ["large", "small", "plan", "cap", "mem", "incremental", "synthetic", "sink", "local",
             "million", "spread"]
# Workloads that need no cluster.
LOCAL_ONLY = {"synthetic", "sink", "local", "million"}
ROOT = Path(__file__).resolve().parent.parent
HSYNC = str(ROOT / "target/release/hsync")
HDFS = str(ROOT / "scripts/hdfs")


def knob(name, default):
    return int(os.environ.get(f"BENCH_{name}", default))


LARGE_MB, LARGE_FILES = knob("LARGE_MB", 2048), knob("LARGE_FILES", 16)
SMALL_FILES = knob("SMALL_FILES", 20000)
PLAN_FILES, PLAN_SIZED = knob("PLAN_FILES", 200000), knob("PLAN_SIZED", 10)
CAP_MB, CAP_FILES, CAP_MIBPS = knob("CAP_MB", 1600), knob("CAP_FILES", 4), knob("CAP_MIBPS", 50)
SPREAD_MB, SPREAD_FILES = knob("SPREAD_MB", 480), knob("SPREAD_FILES", 96)
SPREAD_MIBPS = knob("SPREAD_MIBPS", 2)
SPREAD_WORKERS = [int(n) for n in os.environ.get("BENCH_SPREAD_WORKERS", "1,2,4").split(",")]
MEM_FILES = knob("MEM_FILES", 1000000)
INC_FILES = knob("INC_FILES", 100000)
SYNTH_FILES = [int(n) for n in os.environ.get("BENCH_SYNTH_FILES", "1000000,10000000").split(",")]
SINK_FILES = knob("SINK_FILES", 1000000)
LOCAL_FILES = knob("LOCAL_FILES", 20000)
LOCAL_RSS_MIB = 64  # issue 12: a local copy in little memory
MILLION_FILES = knob("MILLION_FILES", 1000000)
MILLION_KILL_AT = 0.3  # million: the share of the target's folders made when the apply is killed
NOOP_VS_RCLONE = 0.3  # million: the no-op plan's target, as a share of rclone's dry run
MAX_RSS_MIB = knob("MAX_RSS_MIB", 8192)
TARGET_RSS_MIB = 256  # issue 12: plan and apply in flat memory
PARALLEL = knob("PARALLEL", 8)
PEERS = os.environ.get("BENCH_PEERS", "rclone,distcp").split(",")
DISTCP_FILES = knob("DISTCP_FILES", 500)
SEED_PARALLEL = 64  # seeding is not measured: as many in flight as the clusters take
# This run's folder on both clusters: two benches never clobber each other's data.
BENCH = f"/hsync-bench/{os.getpid()}"
# DataNode calls, left out of the NameNode RPCs a client costs.
DATANODE_RPCS = {"VersionRequest", "RegisterDatanode", "SendHeartbeat", "BlockReport",
                 "BlockReceivedAndDeleted", "CacheReport", "ErrorReport",
                 "CommitBlockSynchronization"}


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


class Failed(Exception):
    pass


# --- clusters ------------------------------------------------------------------


class Cluster:
    """Cluster a or b of scripts/hdfs: its URL, NameNodes (rpc and http address) and
    config dir (for a nameservice)."""

    def __init__(self, name):
        self.name = name
        self.url = os.environ[f"HSYNC_TEST_HDFS_{name.upper()}"]
        self.config = os.environ.get(f"HSYNC_TEST_HDFS_{name.upper()}_CONFIG") or None
        if self.config:
            props = {p.findtext("name"): p.findtext("value")
                     for p in ET.parse(Path(self.config, "hdfs-site.xml")).getroot()}
            ns = self.url.removeprefix("hdfs://")
            self.namenodes = [(props[f"dfs.namenode.rpc-address.{ns}.{n}"],
                               props[f"dfs.namenode.http-address.{ns}.{n}"])
                              for n in props[f"dfs.ha.namenodes.{ns}"].split(",")]
        else:
            rpc = self.url.removeprefix("hdfs://")
            host, port = rpc.split(":")
            self.namenodes = [(rpc, f"{host}:{int(port) + 70}")]

    def jmx(self, http, bean):
        url = f"http://{http}/jmx?qry=Hadoop:service=NameNode,name={bean}"
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)["beans"][0]

    def active(self):
        """(rpc, http) of the active NameNode: a nameservice's may change at any time
        (other tests fail b over), so asked before each use."""
        if len(self.namenodes) == 1:
            return self.namenodes[0]
        for nn in self.namenodes:
            try:
                if self.jmx(nn[1], "NameNodeStatus")["State"] == "active":
                    return nn
            except OSError:
                continue
        raise Failed(f"{self.name}: no active NameNode")

    def pending_deletions(self):
        return self.jmx(self.active()[1], "FSNamesystem")["PendingDeletionBlocks"]

    def rpcs(self):
        """The client calls each NameNode served so far, by method (JMX
        RpcDetailedActivityForPort; DataNode calls and exception counts left out).
        JMX refreshes every 10 s."""
        ops = {}
        for rpc, http in self.namenodes:
            port = rpc.rsplit(":", 1)[1]
            try:
                bean = self.jmx(http, f"RpcDetailedActivityForPort{port}")
            except OSError:
                continue
            for k, v in bean.items():
                # Hadoop 3 also counts each call under Overall* and Deferred*.
                if k.endswith("NumOps") and not k.endswith("ExceptionNumOps") and \
                        not k.startswith(("Overall", "Deferred")):
                    method = k[:-6]
                    if method not in DATANODE_RPCS:
                        ops[method] = ops.get(method, 0) + v
        return ops

    def manifest(self):
        lines = [f"[clusters.{self.name}]", f'url = "{self.url}"', 'user = "root"']
        if self.config:
            lines.append(f'config_dir = "{self.config}"')
        return "\n".join(lines)

    def rclone(self, path):
        """rclone's on-the-fly remote: its HDFS backend takes one NameNode address."""
        return f":hdfs,namenode='{self.active()[0]}',username=root:{path}"

    def cli_env(self):
        """The environment of hdfs-cli (Go), which also takes one NameNode address."""
        return dict(os.environ, HADOOP_NAMENODE=self.active()[0], HADOOP_USER_NAME="root")

    def cli(self, *args, check=True):
        """hdfs-cli: quick (no JVM) for the bench's own changes and listings."""
        r = subprocess.run(["hdfs", *args], env=self.cli_env(), capture_output=True, text=True)
        if check and r.returncode:
            raise Failed(f"hdfs {' '.join(args)} on {self.name}: {r.stderr.strip()}")
        return r.stdout

    def tool(self, kind, *args, check=True):
        """scripts/hdfs shell|admin a|b ARGS (a JVM, a second or two)."""
        r = subprocess.run([HDFS, kind, self.name, *args], capture_output=True, text=True)
        if check and r.returncode:
            raise Failed(f"scripts/hdfs {kind} {self.name} {' '.join(args)}: {r.stderr.strip()[-500:]}")
        return r.stdout

    def count(self, path):
        """(files, bytes) under a folder (FsShell -count: dirs files bytes path)."""
        out = self.tool("shell", "-count", path, check=False).split()
        return (int(out[1]), int(out[2])) if len(out) >= 3 else (0, 0)

    def dirs(self, path):
        return int(self.tool("shell", "-count", path).split()[0])

    def uri(self, path):
        return self.url + path

    def rm(self, path):
        self.cli("rm", "-rf", path, check=False)


A = B = None  # the clusters, once a workload needs them (see main)
MAJOR = 3 if os.environ.get("HSYNC_HADOOP", "2.7.3").startswith("3") else 2


def settle():
    """No run pays for what came before it: the seed's files written out to disk, and
    the blocks of a removed target deleted on both clusters."""
    os.sync()
    for _ in range(120):
        if A.pending_deletions() + B.pending_deletions() == 0:
            return
        time.sleep(1)
    log("block deletions still pending after 2 min; measuring anyway")


def maps_window(run):
    """Seconds from the first map's start to the last map's end of the MapReduce job RUN's
    log names, as the job history server tells (it takes the job a moment to reach it)."""
    job = re.search(r"Running job: (job_\S+)", run.err.read_text(errors="replace"))
    if not job:
        raise Failed(f"{run.err.name}: no MapReduce job named")
    url = f"http://127.0.0.1:17451/ws/v1/history/mapreduce/jobs/{job.group(1)}/tasks?type=m"
    for _ in range(60):
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                tasks = json.load(answer)["tasks"]["task"]
            tasks = [tasks] if isinstance(tasks, dict) else tasks  # one task: no list
            return (max(t["finishTime"] for t in tasks) - min(t["startTime"] for t in tasks)) / 1000
        except (OSError, KeyError, TypeError, ValueError):
            time.sleep(1)
    raise Failed(f"{job.group(1)}: not in the job history server")


# --- running and timing ----------------------------------------------------------


class Run:
    """One process, timed: wall s, peak RSS MiB, exit code, its output files. KILL_WHEN,
    polled every 0.2 s while it runs, kills it with SIGKILL once true (then `killed`)."""

    def __init__(self, tmp, name, cmd, env=None, feed=None, max_rss_mib=None, kill_when=None):
        self.out, self.err = tmp / f"{name}.out", tmp / f"{name}.log"
        self.over_rss = self.killed = False
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.started = time.time()
            t0 = time.monotonic()
            p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env,
                                 stdin=subprocess.PIPE if feed else subprocess.DEVNULL)
            if max_rss_mib:
                threading.Thread(target=self.watch, args=(p.pid, max_rss_mib), daemon=True).start()
            if kill_when:
                threading.Thread(target=self.kill_when, args=(p.pid, kill_when), daemon=True).start()
            if feed:
                feed(p.stdin)
                p.stdin.close()
            _, status, usage = os.wait4(p.pid, 0)
            self.wall = time.monotonic() - t0
        p.returncode = self.rc = os.waitstatus_to_exitcode(status)
        self.rss = round(usage.ru_maxrss / 1024)  # KiB on Linux

    def watch(self, pid, max_rss_mib):
        """Kills PID once its resident memory passes MAX_RSS_MIB (the machine is shared).
        Never reaps it (wait4 does), so the pid stays this process's until then."""
        while True:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                return
            rss = re.search(r"VmRSS:\s+(\d+) kB", status)
            if rss is None:  # a zombie: exited, not yet reaped
                return
            if int(rss[1]) > max_rss_mib * 1024:
                self.over_rss = True
                os.kill(pid, signal.SIGKILL)
                return
            time.sleep(0.2)

    def kill_when(self, pid, ready):
        """As `watch`, with READY() instead of a memory bound."""
        while "State:\tZ" not in self.status(pid):
            if ready():
                self.killed = True
                os.kill(pid, signal.SIGKILL)
                return
            time.sleep(0.2)

    @staticmethod
    def status(pid):
        """/proc/PID/status; that of a zombie once it is gone."""
        try:
            return Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return "State:\tZ"

    def stdout(self):
        return self.out.read_text(errors="replace")

    def stderr(self):
        return re.sub(r"\x1b\[[0-9;]*m", "", self.err.read_text(errors="replace"))

    def first(self, pattern, text=None):
        """First line of stderr (or TEXT) matching PATTERN, or ''."""
        for line in (self.stderr() if text is None else text).splitlines():
            if re.search(pattern, line):
                return line.strip()
        return ""

    def tail(self, n=20):
        return "\n".join(self.stderr().splitlines()[-n:])


def rate(workload, nbytes, files, wall):
    wall = max(wall, 0.01)
    if workload in ("large", "cap"):
        return f"{nbytes / 1048576 / wall:.1f} MiB/s"
    return f"{files / wall:.1f} files/s"


def ratio(hsync_wall, peer_wall):
    """Peer wall over hsync wall: > 1 means hsync is faster."""
    if peer_wall is None:
        return "-"
    return f"{peer_wall / max(hsync_wall, 0.01):.2f}"


# --- source data -------------------------------------------------------------------


def random_files(root, count, size):
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        with open(root / f"file-{i}", "wb") as f:
            left = size
            while left:
                chunk = min(left, 1 << 24)
                f.write(os.urandom(chunk))
                left -= chunk


def small_files(root):
    root.mkdir(parents=True, exist_ok=True)
    for i in range(SMALL_FILES):
        (root / f"file-{i}").write_bytes(os.urandom(random.randint(4, 64) * 1024))


def plan_tree(root, files, change=False):
    """The plan workload's tree, 20 folders of 10 folders of 9 folders: 2,000 folders
    (those of depth 2 and 3) sharing FILES files evenly; BENCH_PLAN_SIZED% of them hold
    1 B-1 KiB, the rest are empty. CHANGE writes only every 100th file, 1,025-2,048 B
    (a size no file of the tree has). Returns how many files it wrote."""
    rnd = random.Random(1)
    folders = [f"t{t:02}/m{m}" for t in range(20) for m in range(10)]
    folders += [f"{m}/l{l}" for m in folders for l in range(9)]
    for folder in folders:
        (root / folder).mkdir(parents=True, exist_ok=True)
    written = 0
    for i in range(files):
        if change and i % 100:
            continue
        if change:
            size = rnd.randint(1025, 2048)
        else:
            size = rnd.randint(1, 1024) if rnd.randrange(100) < PLAN_SIZED else 0
        (root / folders[i % len(folders)] / f"f{i}").write_bytes(os.urandom(size))
        written += 1
    return written


def tree_count(root):
    """(files, bytes) under a local folder."""
    files = nbytes = 0
    for folder, _, names in os.walk(root):
        for name in names:
            files += 1
            nbytes += os.lstat(os.path.join(folder, name)).st_size
    return files, nbytes


def million_tree(root, files):
    """FILES files of 0-1 KiB, 1,000 per folder, with random contents."""
    rnd = random.Random(12)
    for i in range(files):
        if i % 1000 == 0:
            folder = root / f"d{i // 1000:04}"
            folder.mkdir(parents=True)
        (folder / f"f{i % 1000:03}").write_bytes(rnd.randbytes(rnd.randint(0, 1024)))


def count_files(root):
    return sum(len(files) for _, _, files in os.walk(root))


def mem_tree(root, files):
    for i in range(files):
        if i % 1000 == 0:
            folder = root / f"d{i // 1000:04}"
            folder.mkdir(parents=True)
        (folder / f"f{i % 1000:03}").touch()


# --- the bench -----------------------------------------------------------------------


class Bench:
    def __init__(self, workloads, tmp):
        self.workloads = workloads
        self.tmp = tmp
        self.rows = []       # workload, tool, wall, rate, rss, vs rclone, vs distcp, check, notes
        self.summaries = []  # lines printed under the table
        self.snapshottable = []  # (cluster, folder) to clear of snapshots at the end
        self.distcp_fixed = None  # wall of a DistCp of an empty folder, once measured
        self.t0 = time.monotonic()
        self.log4j = tmp / "distcp-log4j.properties"
        # DistCp's INFO lines with milliseconds, to time its phases from its log.
        self.log4j.write_text(
            "log4j.rootLogger=INFO,console\n"
            "log4j.appender.console=org.apache.log4j.ConsoleAppender\n"
            "log4j.appender.console.target=System.err\n"
            "log4j.appender.console.layout=org.apache.log4j.PatternLayout\n"
            "log4j.appender.console.layout.ConversionPattern=%d{ISO8601} %p %c{2}: %m%n\n"
            "log4j.logger.org.apache.hadoop.util.NativeCodeLoader=ERROR\n"
            "log4j.logger.org.apache.hadoop.conf.Configuration.deprecation=ERROR\n")

    def row(self, *cells):
        self.rows.append([str(c) for c in cells])

    def run(self, name, cmd, **kw):
        return Run(self.tmp, name, cmd, **kw)

    # -- hsync --

    def manifest(self, path, name, source, target, parallel=PARALLEL, extra=""):
        path.write_text(f"{A.manifest()}\n{B.manifest()}\n\n[[job]]\nname = \"{name}\"\n"
                        f"sources = [\"{source}\"]\ntarget = \"{target}\"\nmode = \"update\"\n"
                        f"parallel = {parallel}\n{extra}\n")
        return path

    def hsync_sync(self, name, source, target, parallel=SEED_PARALLEL, extra=""):
        """Plan and apply one job, unmeasured (seeding). Tried three times, 30 s apart:
        a test may be restarting a DataNode."""
        m = self.manifest(self.tmp / f"{name}.toml", name, source, target, parallel, extra)
        p = self.tmp / f"{name}.json"
        for attempt in (1, 2, 3):
            plan = self.run(f"{name}-plan", [HSYNC, "plan", "-m", m, "-o", p])
            apply = plan.rc == 0 and self.run(f"{name}-apply", [HSYNC, "apply", p])
            if apply and apply.rc == 0:
                return json.loads(apply.stdout())
            failed = apply or plan
            log(f"{name}: attempt {attempt} failed: {failed.first('(?i)error|fail') or failed.tail(1)}")
            if attempt < 3:
                time.sleep(30)
        raise Failed(f"{name}: failed three times:\n{failed.tail()}")

    def seed(self, w, generate):
        """Put the workload on cluster a with hsync (local -> a); (files, bytes)."""
        t0 = time.monotonic()
        log(f"{w}: generating the source locally and putting it on a:{BENCH}/{w}")
        A.rm(f"{BENCH}/{w}")
        src = self.tmp / f"src-{w}"
        generate(src)
        self.hsync_sync(f"seed-{w}", src, f"a:{BENCH}/{w}")
        shutil.rmtree(src)
        self.src = A.count(f"{BENCH}/{w}")
        log(f"{w}: source {self.src[0]} files, {self.src[1]} bytes"
            f" (seeded in {time.monotonic() - t0:.0f} s)")

    def verify(self, path):
        """'ok' if the target on b holds the source's files and bytes."""
        got = B.count(path)
        return "ok" if got == self.src else f"BAD {got[0]}f/{got[1]}B"

    # -- DistCp --

    def distcp(self, name, *args, maps=PARALLEL, listing_threads=True):
        """`scripts/hdfs distcp` with N maps run N at a time in its one JVM. Returns
        the Run with .listing (s, from its log), .jvm (s from the process start to
        DistCp's first log line) and .counters."""
        opts = [f"-Dmapreduce.local.map.tasks.maximum={maps}", "-m", str(maps), "-pb"]
        if listing_threads and MAJOR == 3:
            opts += ["-numListstatusThreads", str(min(maps, 40))]
        env = dict(os.environ, HSYNC_HDFS_JAVA_OPTS=f"-Dlog4j.configuration=file:{self.log4j}")
        run = self.run(name, [HDFS, "distcp", *opts, *args], env=env)
        err = run.stderr()
        stamps = [(datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S,%f").timestamp(), m[2])
                  for m in re.finditer(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (.*)$", err, re.M)]
        run.jvm = stamps[0][0] - run.started if stamps else None
        # Hadoop 3 times the listing itself ("...: duration 0:00.123s") or says when it
        # is done (then: from DistCp's first line, options parsed, to that); 2.7 neither.
        d = re.search(r"Building listing .*: duration (\d+):(\d+\.\d+)s", err)
        done = [t for t, line in stamps if "Build file listing completed" in line]
        run.listing = (int(d[1]) * 60 + float(d[2]) if d else
                       done[0] - stamps[0][0] if done else None)
        run.counters = dict((k.strip(), int(v)) for k, v in
                            re.findall(r"^\s+([A-Za-z_ ]+)=(\d+)$", err, re.M))
        for short, name in (("COPY", "Files Copied"), ("SKIP", "Files Skipped")):  # 2.7's names
            if short in run.counters:
                run.counters[name] = run.counters[short]
        splits = re.search(r"number of splits:(\d+)", err)
        run.splits = int(splits[1]) if splits else None
        paths = re.search(r"Number of paths in the copy list: (\d+)", err)
        run.paths = int(paths[1]) if paths else None
        return run

    def distcp_notes(self, run):
        notes = []
        if run.rc:
            notes.append(f"rc={run.rc}: {run.first('ERROR|Exception') [:120]}")
        if run.jvm is not None:
            notes.append(f"JVM start {run.jvm:.1f} s")
        if run.splits is not None:
            notes.append(f"{run.splits} map{'s' if run.splits != 1 else ''}")
        if run.listing is not None:
            notes.append(f"listing {run.listing:.2f} s ({run.paths} paths)")
        c = run.counters
        if "Files Copied" in c or "Bytes Copied" in c:
            notes.append(f"{c.get('Files Copied', 0)} copied, {c.get('Files Skipped', 0)} skipped")
        return "; ".join(notes)

    def distcp_fixed_cost(self):
        """DistCp of an empty folder, once: JVM start, job setup and commit."""
        if self.distcp_fixed is not None:
            return
        A.cli("mkdir", "-p", f"{BENCH}/empty")
        run = self.distcp("distcp-empty", A.uri(f"{BENCH}/empty"), B.uri(f"{BENCH}/out-distcp-empty"))
        B.rm(f"{BENCH}/out-distcp-empty")
        self.distcp_fixed = run.wall
        self.row("distcp", "distcp (empty folder)", f"{run.wall:.2f}", "-", run.rss, "-", "-",
                 "ok" if run.rc == 0 else f"BAD exit {run.rc}",
                 f"fixed cost of a run; {self.distcp_notes(run)}")

    # -- copies --

    def raw(self):
        """Single-stream reference through hdfs-cli: read one source file from a,
        write as much to b."""
        size = int(A.cli("ls", "-l", f"{BENCH}/large/file-0").split()[3])
        run = self.run("raw-read", ["hdfs", "cat", f"{BENCH}/large/file-0"], env=A.cli_env())
        self.row("large", "raw read (a)", f"{run.wall:.2f}", rate("large", size, 1, run.wall),
                 run.rss, "-", "-", "-", "1 file, 1 stream" if run.rc == 0 else f"rc={run.rc}")
        B.rm(f"{BENCH}/raw-write")

        def zeros(pipe):
            chunk = bytes(1 << 20)
            for left in range(size, 0, -len(chunk)):
                pipe.write(chunk[:left])

        run = self.run("raw-write", ["hdfs", "put", "-", f"{BENCH}/raw-write"], env=B.cli_env(),
                       feed=zeros)
        self.row("large", "raw write (b)", f"{run.wall:.2f}", rate("large", size, 1, run.wall),
                 run.rss, "-", "-", "-", "1 file, 1 stream, zeros" if run.rc == 0 else f"rc={run.rc}")
        B.rm(f"{BENCH}/raw-write")

    def bench_large(self):
        self.seed("large", lambda d: random_files(d, LARGE_FILES, LARGE_MB * 1048576 // LARGE_FILES))
        self.raw()
        self.copies("large")

    def bench_small(self):
        self.seed("small", small_files)
        self.copies("small")

    def copies(self, w):
        """a:BENCH/W -> b by hsync (plan, apply), rclone and DistCp, each into a fresh
        target with the same parallelism."""
        files, nbytes = self.src
        target = f"{BENCH}/out-hsync-{w}"
        log(f"{w}: hsync, parallel {PARALLEL}")
        B.rm(target)
        settle()
        m = self.manifest(self.tmp / f"hsync-{w}.toml", f"bench-{w}", f"a:{BENCH}/{w}", f"b:{target}")
        p = self.tmp / f"hsync-{w}.json"
        plan = self.run(f"hsync-{w}-plan", [HSYNC, "plan", "-m", m, "-o", p])
        if plan.rc:
            raise Failed(f"{w}: hsync plan failed (rc {plan.rc}):\n{plan.tail()}")
        self.row(w, "hsync plan", f"{plan.wall:.2f}", "-", plan.rss, "-", "-", "-", "lists a and b")
        apply = self.run(f"hsync-{w}-apply", [HSYNC, "apply", p])
        summary = json.loads(apply.stdout() or "{}")
        notes = f"outcome {summary.get('outcome', 'none')}"
        if apply.rc:
            notes = f"rc={apply.rc}, {notes}"
            log(apply.first("(?i)error|fail"))
        self.row(w, "hsync apply", f"{apply.wall:.2f}", rate(w, nbytes, files, apply.wall),
                 apply.rss, "-", "-", "-", notes)
        h_wall, h_rss, h_check = plan.wall + apply.wall, max(plan.rss, apply.rss), self.verify(target)
        self.summaries.append(
            f"{w}: hsync " + " ".join(f"{k}={summary.get(k)}" for k in
                                      ("files_copied", "bytes_copied", "files_failed", "duration_secs"))
            + f" (source: {files} files, {nbytes} bytes)")
        B.rm(target)

        peers = []  # (tool, wall, rss, check, notes)
        if "rclone" in PEERS:
            peers.append(self.rclone_copy(w))
        if "distcp" in PEERS:
            peers.append(self.distcp_copy(w))
        # Peer wall over hsync's; for a peer that copied a part, per file or byte.
        ratios = {tool: ratio(h_wall, wall * (files if w != "large" else nbytes) / share)
                  for tool, wall, _, _, _, share in peers}
        self.row(w, "hsync (total)", f"{h_wall:.2f}", rate(w, nbytes, files, h_wall), h_rss,
                 ratios.get("rclone", "-"), ratios.get("distcp", "-"), h_check, "plan + apply")
        for tool, wall, rss, check, notes, share in peers:
            shown = rate(w, share, share, wall)
            self.row(w, tool, f"{wall:.2f}", shown, rss, "-", "-", check, notes)

    def distcp_copy(self, w):
        """DistCp of a:BENCH/W, or of its first BENCH_DISTCP_FILES files (a `-f`
        list), into a fresh target."""
        self.distcp_fixed_cost()
        files, nbytes = self.src
        target = f"{BENCH}/out-distcp-{w}"
        B.rm(target)
        sizes = {}
        for line in A.cli("ls", "-l", f"{BENCH}/{w}").splitlines():
            f = line.split()
            sizes[f[-1]] = int(f[3])
        names = sorted(sizes, key=lambda n: int(n.rsplit("-", 1)[1]))[:DISTCP_FILES]
        if len(names) < files:
            listing = self.tmp / f"distcp-{w}.list"
            listing.write_text("".join(f"{A.uri(f'{BENCH}/{w}/{n}')}\n" for n in names))
            source = ["-f", f"file://{listing}"]
            B.cli("mkdir", "-p", target)
        else:
            source = [A.uri(f"{BENCH}/{w}")]
        part = (len(names), sum(sizes[n] for n in names))
        log(f"{w}: distcp -m {PARALLEL} of {part[0]} of the {files} files")
        settle()
        run = self.distcp(f"distcp-{w}", *source, B.uri(target))
        got = B.count(target)
        check = "ok" if got == part else f"BAD {got[0]}f/{got[1]}B"
        notes = self.distcp_notes(run)
        if part[0] < files:
            notes = f"{part[0]} of the {files} files; {notes}"
        B.rm(target)
        share = part[1] if w == "large" else part[0]
        return ("distcp", run.wall, run.rss, check, notes, share)

    def rclone_copy(self, w):
        target = f"{BENCH}/out-rclone-{w}"
        log(f"{w}: rclone, --transfers {PARALLEL} --checkers {PARALLEL}")
        B.rm(target)
        settle()
        run = self.run(f"rclone-{w}", [
            "rclone", "--config", "/dev/null", "copy", "--transfers", str(PARALLEL),
            "--checkers", str(PARALLEL), "--stats", "0", "--stats-log-level", "NOTICE",
            A.rclone(f"{BENCH}/{w}"), B.rclone(target)])
        err = run.stderr()
        # rclone reruns the whole copy (--retries 3) when a file fails, e.g. with
        # "replication in progress" when the NameNode refuses the first `complete`.
        attempts = len(re.findall(r"Attempt \d+/\d+ failed", err))
        repl = len(re.findall(r"Failed to copy.*replication in progress", err))
        notes = f"{attempts} failed attempts; {repl} files failed 'replication in progress'"
        if run.rc:
            notes = f"rc={run.rc}, {notes}"
        last = [line for line in err.splitlines() if line.strip()]
        self.summaries.append(f"{w}: rclone {notes}; last log line: {last[-1][:160] if last else ''}")
        check = self.verify(target)
        B.rm(target)
        return ("rclone", run.wall, run.rss, check, notes, self.src[1 if w == "large" else 0])

    # -- plan --

    def bench_plan(self):
        """The tree on a and b in sync, the no-op check timed; then 1% of the files
        rewritten on a (new sizes), the re-plan timed."""
        t0 = time.monotonic()
        B.rm(f"{BENCH}/plan")
        self.seed("plan", lambda d: plan_tree(d, PLAN_FILES))
        log("plan: syncing a -> b")
        # With times, so that rclone (size and modtime) sees the trees equal too.
        self.hsync_sync("seed-plan-b", f"a:{BENCH}/plan", f"b:{BENCH}/plan",
                        extra='preserve = ["times"]')
        self.plan_dirs = A.dirs(f"{BENCH}/plan")
        log(f"plan: {self.src[0]} files in {self.plan_dirs} directories on a and b"
            f" (seeded in {time.monotonic() - t0:.0f} s)")
        m = self.manifest(self.tmp / "plan.toml", "bench-plan", f"a:{BENCH}/plan", f"b:{BENCH}/plan",
                          extra='preserve = ["times"]')
        self.compare_plans(m, "no-op", 0)
        log("plan: rewriting 1% of the files on a with new sizes")
        changed = plan_tree(self.tmp / "change-plan", PLAN_FILES, change=True)
        self.hsync_sync("change-plan", self.tmp / "change-plan", f"a:{BENCH}/plan")
        shutil.rmtree(self.tmp / "change-plan")
        self.compare_plans(m, "1% changed", changed)

    def compare_plans(self, m, label, want):
        """Time `hsync plan`, `rclone sync --dry-run` and `distcp -update` of
        a:BENCH/plan -> b:BENCH/plan, each expected to find WANT files to copy."""
        tag = "noop" if want == 0 else "changed"
        want_rc = 0 if want == 0 else 2
        files = self.src[0]
        p = self.tmp / f"plan-{tag}.json"
        log(f"plan ({label}): hsync plan")
        h = self.run(f"plan-{tag}-hsync", [HSYNC, "plan", "-m", m, "-o", p, "--detailed-exitcode"],
                     env=dict(os.environ, HSYNC_LOG="info"))
        # A plan is JSON lines, a copy one line of op "copy".
        copies = sum(1 for line in p.open() if line.startswith('{"op":"copy"')) \
            if p.exists() else 0
        listed = re.search(r" listed listing_calls=(\d+) entries=(\d+)", h.stderr())
        listed = f"{listed[1]} listings, {listed[2]} entries" if listed else "no listing line"
        walls, rows = {}, []
        if "rclone" in PEERS:
            log(f"plan ({label}): rclone sync --dry-run --checkers {PARALLEL}")
            r = self.run(f"plan-{tag}-rclone", [
                "rclone", "--config", "/dev/null", "sync", "--dry-run", "--checkers", str(PARALLEL),
                A.rclone(f"{BENCH}/plan"), B.rclone(f"{BENCH}/plan")])
            r_copies = len(re.findall("Skipped copy as --dry-run", r.stderr()))
            check = (f"ok: {r_copies} to copy" if r.rc == 0 and r_copies == want
                     else f"BAD exit {r.rc}, {r_copies} to copy")
            walls["rclone"] = r.wall
            rows.append(("rclone sync --dry-run", r, check, f"--checkers {PARALLEL}"))
            self.summaries.append(f"plan ({label}): rclone: {r.first('^Checks:') or r.tail(1)}")
        if "distcp" in PEERS:
            self.distcp_fixed_cost()
            log(f"plan ({label}): distcp -update -m {PARALLEL}")
            d = self.distcp(f"plan-{tag}-distcp", "-update", A.uri(f"{BENCH}/plan"),
                            B.uri(f"{BENCH}/plan"))
            copied = d.counters.get("Files Copied", 0)
            check = (f"ok: {copied} copied" if d.rc == 0 and copied == want
                     else f"BAD exit {d.rc}, {copied} copied")
            walls["distcp"] = d.wall
            rows.append(("distcp -update (whole job)", d, check, self.distcp_notes(d)))
            if d.listing is not None:
                rows.append(("distcp copy listing (a only)", d.listing, "-",
                             f"-numListstatusThreads {PARALLEL}, from its log"))
        check = f"BAD exit {h.rc}, {copies} copies"
        if h.rc == want_rc and copies == want:
            check = f"ok: exit {h.rc}, {copies} copies"
            if "rclone" in walls:
                t = h.wall / max(walls["rclone"], 0.01)
                check += f"; {t:.2f}x rclone time ({'<= 0.3' if t <= 0.3 else 'OVER 0.3'})"
        notes = f"{listed} for 2 x {self.plan_dirs} dirs" + ("; exit 2 = changes" if h.rc >= 2 else "")
        self.row("plan", f"hsync plan ({label})", f"{h.wall:.2f}", rate("plan", 0, files, h.wall),
                 h.rss, ratio(h.wall, walls.get("rclone")), ratio(h.wall, walls.get("distcp")),
                 check, notes)
        for tool, r, check, notes in rows:
            if isinstance(r, float):  # a phase of the run before it
                self.row("plan", f"{tool} ({label})", f"{r:.2f}", rate("plan", 0, files, r), "-",
                         "-", "-", check, notes)
            else:
                self.row("plan", f"{tool} ({label})", f"{r.wall:.2f}",
                         rate("plan", 0, files, r.wall), r.rss, "-", "-", check, notes)
        self.summaries.append(f"plan ({label}): want {want} copies; hsync "
                              f"{h.first('^Plan:|^No changes')}")

    # -- cap --

    def bench_cap(self):
        """a -> b with `bandwidth` in the manifest, parallel 4; the achieved rate is
        bytes_copied / duration_secs of the summary."""
        self.seed("cap", lambda d: random_files(d, CAP_FILES, CAP_MB * 1048576 // CAP_FILES))
        target = f"{BENCH}/out-cap"
        log(f'cap: hsync apply a -> b with bandwidth = "{CAP_MIBPS}MiB/s", parallel 4')
        m = self.manifest(self.tmp / "cap.toml", "bench-cap", f"a:{BENCH}/cap", f"b:{target}", 4,
                          f'bandwidth = "{CAP_MIBPS}MiB/s"')
        p = self.tmp / "cap.json"
        for attempt in (1, 2, 3):  # a failed run says nothing about the cap: again, 30 s later
            B.rm(target)
            if self.run("cap-plan", [HSYNC, "plan", "-m", m, "-o", p]).rc:
                raise Failed("cap: hsync plan failed")
            run = self.run("cap-apply", [HSYNC, "apply", p])
            if run.rc == 0 or attempt == 3:
                break
            log(f"cap: apply failed (exit {run.rc}: {run.first('(?i)error|fail')}); again in 30 s")
            time.sleep(30)
        s = json.loads(run.stdout() or "{}")
        nbytes, secs = s.get("bytes_copied", 0), s.get("duration_secs", 0)
        achieved = nbytes / 1048576 / max(secs, 0.01)
        d = (achieved / CAP_MIBPS - 1) * 100
        check = f"{'ok' if -10 <= d <= 10 else 'OFF'}: {d:+.1f}% of the cap"
        verified = self.verify(target)
        if verified != "ok" or run.rc:
            check = f"BAD exit {run.rc}, {verified}; {check}"
        self.row("cap", f"hsync apply, cap {CAP_MIBPS} MiB/s", f"{run.wall:.2f}",
                 f"{achieved:.1f} MiB/s", run.rss, "-", "-", check,
                 f"{nbytes} B in {secs:.2f} s (summary)")
        B.rm(target)

    # -- spread --

    def bench_spread(self):
        """`hsync apply --engine yarn --workers N` against DistCp on the same YARN, each
        worker (map) capped, for each N; and each one's fixed cost."""
        if MAJOR != 3 or "HSYNC_MAPRED" not in os.environ:
            raise Failed("spread: needs Hadoop 3's YARN bed (HSYNC_HADOOP=3)")
        self.seed("spread", lambda d: random_files(d, SPREAD_FILES,
                                                   SPREAD_MB * 1048576 // SPREAD_FILES))
        A.cli("mkdir", "-p", f"{BENCH}/spread-one")
        one = self.tmp / "spread-one"
        random_files(one, 1, 1024)
        self.hsync_sync("seed-spread-one", one, f"a:{BENCH}/spread-one")
        mapred = os.environ["HSYNC_MAPRED"]
        cap = SPREAD_MIBPS

        def hsync(label, source, workers):
            target = f"{BENCH}/out-spread"
            B.rm(target)
            m = self.manifest(self.tmp / f"{label}.toml", label, f"a:{source}", f"b:{target}", 4,
                              f'bandwidth = "{cap}MiB/s"')
            p = self.tmp / f"{label}.json"
            if self.run(f"{label}-plan", [HSYNC, "plan", "-m", m, "-o", p]).rc:
                raise Failed(f"spread: hsync plan failed ({label})")
            run = self.run(f"{label}-apply", [HSYNC, "apply", p, "--engine", "yarn",
                                              "--workers", str(workers)])
            verified = self.verify(target) if source.endswith("/spread") else "ok"
            B.rm(target)
            return run, verified

        def distcp(label, source, workers):
            target = f"{BENCH}/out-spread-distcp"
            B.rm(target)
            run = self.run(label, [mapred, "distcp", "-m", str(workers), "-bandwidth", str(cap),
                                   "-pb", A.uri(source), B.uri(target)])
            verified = self.verify(target) if source.endswith("/spread") else "ok"
            B.rm(target)
            return run, verified

        # The maps' window (first map's start to last map's end, from the job history)
        # is when bytes can move; the rest of the wall is the job's fixed cost. Measured
        # alike for both tools, as YARN saw their maps.
        for tool, go in (("hsync", hsync), ("distcp", distcp)):
            run, _ = go(f"spread-fixed-{tool}", f"{BENCH}/spread-one", 1)
            window = maps_window(run)
            self.row("spread", f"{tool} one file on YARN (fixed cost)", f"{run.wall:.2f}", "-",
                     run.rss, "-", "-", "ok" if run.rc == 0 else f"BAD exit {run.rc}",
                     f"launch to job end; {run.wall - window:.1f} s of it outside the map "
                     f"({window:.1f} s)")
        for workers in SPREAD_WORKERS:
            walls = {}
            for tool, go in (("hsync", hsync), ("distcp", distcp)):
                run, verified = go(f"spread-{tool}-{workers}", f"{BENCH}/spread", workers)
                walls[tool] = run.wall
                moving = max(maps_window(run), 0.01)
                achieved = SPREAD_MB / moving
                efficiency = achieved / (workers * cap)
                check = f"efficiency {efficiency:.2f} ({'>= 0.8' if efficiency >= 0.8 else 'UNDER 0.8'})"
                if run.rc or verified != "ok":
                    check = f"BAD exit {run.rc}, {verified}; {check}"
                name = (f"hsync --engine yarn --workers {workers}" if tool == "hsync"
                        else f"distcp -m {workers} -bandwidth {cap}")
                self.row("spread", name, f"{run.wall:.2f}", f"{achieved:.1f} MiB/s", run.rss,
                         "-", ratio(run.wall, walls.get("hsync")) if tool == "distcp" else "-",
                         check, f"{SPREAD_MB} MiB over the maps' {moving:.1f} s (first start "
                                f"to last end; {run.wall - moving:.1f} s fixed); cap {workers} x "
                                f"{cap} MiB/s")

    # -- incremental --

    def rpcs_of(self, fn):
        """fn() with the NameNode RPCs it cost a and b: (result, total, 'a ...; b ...')."""
        time.sleep(11)  # JMX refreshes every 10 s
        before = A.rpcs(), B.rpcs()
        result = fn()
        time.sleep(11)
        after = A.rpcs(), B.rpcs()
        total, parts = 0, []
        for name, b, a in zip("ab", before, after):
            delta = {k: v - b.get(k, 0) for k, v in a.items() if v != b.get(k, 0)}
            total += sum(delta.values())
            parts.append(f"{name} {sum(delta.values())} (" + ", ".join(
                f"{k} {v}" for k, v in sorted(delta.items(), key=lambda kv: -kv[1])) + ")")
        return result, total, "; ".join(parts)

    def bench_incremental(self):
        """The tree mirrored by an incremental job, 100 changes, then the snapshot-diff
        plan and the whole-listing plan of the same state, then the apply; and DistCp's
        snapshot diff copy of the same changes into its own copy of the tree."""
        d, dd = f"{BENCH}/incremental", f"{BENCH}/incremental-distcp"
        B.rm(d)
        self.seed("incremental", lambda root: plan_tree(root, INC_FILES))
        for c, path in ((A, d), (B, d), (B, dd)):
            c.cli("mkdir", "-p", path)
            c.tool("admin", "-allowSnapshot", path)
            self.snapshottable.append((c, path))
        m = self.manifest(self.tmp / "incremental.toml", "mirror", f"a:{d}", f"b:{d}", SEED_PARALLEL,
                          'incremental = "snapshot"')
        log("incremental: first cycle (whole trees), a -> b")
        p = self.tmp / "incremental.json"
        first = self.run("incremental-first-plan", [HSYNC, "plan", "-m", m, "-o", p])
        if first.rc or self.run("incremental-first-apply", [HSYNC, "apply", p]).rc:
            raise Failed("incremental: first cycle failed")
        m.write_text(re.sub(r"(?m)^parallel = .*$", f"parallel = {PARALLEL}", m.read_text()))
        if "distcp" in PEERS:
            log("incremental: DistCp's copy of the tree, snapshot s1 on a and on it")
            self.hsync_sync("incremental-distcp-seed", f"a:{d}", f"b:{dd}")
            A.tool("shell", "-createSnapshot", d, "s1")
            B.tool("shell", "-createSnapshot", dd, "s1")

        log("incremental: 100 changes on a")
        for i in range(10):
            A.cli("mv", f"{d}/t0{i}/m0/l0", f"{d}/t0{i}/m0/l0-renamed")
        for name in A.cli("ls", f"{d}/t15/m5/l5").split()[:40]:
            A.cli("mv", f"{d}/t15/m5/l5/{name}", f"{d}/t15/m5/l5/renamed-{name}")
        for name in A.cli("ls", f"{d}/t16/m6/l6").split()[:20]:
            A.cli("rm", f"{d}/t16/m6/l6/{name}")
        # Through FsShell: hdfs-cli writes CRC32 checksums, where the others write
        # CRC32C, and DistCp's checksum check would refuse its copies.
        new = self.tmp / "new"
        new.mkdir()
        for i in range(1, 31):
            (new / f"new-{i}").write_bytes(os.urandom(4096))
        A.tool("shell", "-put", *sorted(map(str, new.iterdir())), f"{d}/t17/m7")

        def plan(label, *args):
            run = self.run(f"incremental-{label}", [HSYNC, "plan", "-m", m, *args])
            if run.rc:
                raise Failed(f"incremental: {label} plan failed (rc {run.rc}):\n{run.tail()}")
            return run

        diff, diff_rpcs, diff_by = self.rpcs_of(lambda: plan("diff", "-o", p))
        full, full_rpcs, full_by = self.rpcs_of(
            lambda: plan("full", "-o", self.tmp / "incremental-full.json", "--full"))
        self.summaries += [f"incremental: snapshot-diff plan: {diff.first('^Plan:|^No changes')}",
                           f"  NameNode RPCs: {diff_by}",
                           f"incremental: whole-listing plan: {full.first('^Plan:|^No changes')}",
                           f"  NameNode RPCs: {full_by}"]
        apply, apply_rpcs, apply_by = self.rpcs_of(
            lambda: self.run("incremental-apply", [HSYNC, "apply", p]))
        if apply.rc:
            raise Failed(f"incremental: apply failed (rc {apply.rc}):\n{apply.tail()}")
        s = json.loads(apply.stdout())
        self.summaries.append(f"  apply's NameNode RPCs: {apply_by}")
        verify = self.run("incremental-verify", [HSYNC, "plan", "-m", m, "--full",
                                                 "--detailed-exitcode", "-o", "/dev/null"])
        check = "ok" if verify.rc == 0 else f"BAD: {verify.first('^Plan:')}"
        cycle = diff.wall + apply.wall
        dc = None
        if "distcp" in PEERS:
            self.distcp_fixed_cost()
            A.tool("shell", "-createSnapshot", d, "s2")
            log(f"incremental: distcp -update -diff s1 s2 -m {PARALLEL}")
            # 2.7 wants -delete with -diff; later versions refuse the two together.
            delete = ["-delete"] if MAJOR == 2 else []
            dc, dc_rpcs, dc_by = self.rpcs_of(lambda: self.distcp(
                "incremental-distcp", "-update", *delete, "-diff", "s1", "s2", A.uri(d), B.uri(dd)))
            self.summaries.append(f"incremental: distcp -diff NameNode RPCs: {dc_by}")
        self.row("incremental", "hsync plan (snapshot diff)", f"{diff.wall:.2f}", "-", diff.rss,
                 "-", "-", "-", f"{diff_rpcs} NameNode RPCs (a + b)")
        self.row("incremental", "hsync plan --full (listing)", f"{full.wall:.2f}", "-", full.rss,
                 "-", "-", "-", f"{full_rpcs} NameNode RPCs (a + b)")
        self.row("incremental", "hsync apply (snapshot diff)", f"{apply.wall:.2f}", "-", apply.rss,
                 "-", "-", check, f"{s.get('paths_renamed')} renamed, {s.get('files_copied')} copied,"
                 f" {s.get('files_deleted')} deleted; {apply_rpcs} NameNode RPCs")
        self.row("incremental", "hsync diff cycle (total)", f"{cycle:.2f}", "-",
                 max(diff.rss, apply.rss), "-", ratio(cycle, dc.wall if dc else None), check,
                 f"plan + apply; {diff_rpcs + apply_rpcs} NameNode RPCs")
        self.summaries.append(
            f"incremental: the snapshot-diff plan took {ratio(diff.wall, full.wall)}x less time and "
            f"{ratio(diff_rpcs, full_rpcs)}x fewer NameNode RPCs than the whole listing")
        if dc:
            self.src = A.count(d)
            self.row("incremental", "distcp -update -diff s1 s2", f"{dc.wall:.2f}", "-", dc.rss, "-",
                     "-", self.verify(dd) if dc.rc == 0 else f"BAD exit {dc.rc}",
                     f"{self.distcp_notes(dc)}; {dc_rpcs} NameNode RPCs")

    # -- synthetic, sink --

    def synthetic_manifest(self, name, source, target, extra=""):
        path = self.tmp / f"{name}.toml"
        path.write_text(f'[[job]]\nname = "{name}"\nsources = ["{source}"]\ntarget = "{target}"\n'
                        f'mode = "update"\nparallel = {PARALLEL}\n{extra}\n')
        return path

    def bounded(self, name, cmd):
        """A run stopped past BENCH_MAX_RSS_MIB, and its check: '' if it ended well."""
        run = self.run(name, cmd, max_rss_mib=MAX_RSS_MIB)
        if run.over_rss:
            return run, f"STOPPED past {MAX_RSS_MIB} MiB after {run.wall:.0f} s"
        return run, f"BAD exit {run.rc}: {run.first('(?i)error') or run.tail(1)}" if run.rc else ""

    def bench_synthetic(self):
        """`hsync plan` of a synthetic pair of each size of BENCH_SYNTH_FILES: the tree,
        and as the target the same tree with 1% of its files differing."""
        rss = {}
        for files in SYNTH_FILES:
            tree = f"files={files}&seed=7"
            m = self.synthetic_manifest(f"synthetic-{files}", f"synthetic://source?{tree}",
                                        f"synthetic://target?{tree}&differ=0.01",
                                        'delete = true\npreserve = ["times"]')
            log(f"synthetic: hsync plan of a {files:,}-file pair")
            run, bad = self.bounded(f"synthetic-plan-{files}",
                                    [HSYNC, "plan", "-m", m, "-o", "/dev/null"])
            listed = re.search(r"\(([\d,]+) director(?:y|ies) listed, ([\d,]+) entr(?:y|ies)\)", run.stderr())
            entries = int(listed[2].replace(",", "")) if listed else 0
            per_s = entries / max(run.wall, 0.01)
            check = bad or "; ".join([
                f"RSS {'ok' if run.rss <= TARGET_RSS_MIB else 'OVER'} (<= {TARGET_RSS_MIB} MiB)",
                f"rate {'ok' if per_s >= 1e6 else 'SLOW'} (>= 1 M entries/s)"])
            if not bad:
                rss[files] = run.rss
            self.row("synthetic", f"hsync plan, {files:,}-file pair", f"{run.wall:.2f}",
                     f"{per_s / 1e6:.2f} M entries/s", run.rss, "-", "-", check,
                     f"{entries:,} entries listed (both sides), {files / max(run.wall, 0.01):,.0f} "
                     f"source files/s; {run.first('^Plan:|^No changes')[:70]}")
        if len(rss) > 1:
            base = rss.get(10_000_000, max(rss.values()))
            spread = ", ".join(f"{n:,}: {r} MiB ({(r / base - 1) * 100:+.0f}%)" for n, r in rss.items())
            flat = all(abs(r / base - 1) <= 0.10 for r in rss.values())
            self.summaries.append(f"synthetic: peak RSS by tree size, against the 10 M figure (or the "
                                  f"largest measured): {spread}: {'flat' if flat else 'NOT flat'} "
                                  f"(target: within 10%)")

    def bench_sink(self):
        """`hsync apply` of a plan of BENCH_SINK_FILES copies, a synthetic source into an
        empty synthetic sink that discards what it is given: the executor alone."""
        m = self.synthetic_manifest("sink", f"synthetic://source?files={SINK_FILES}&seed=7",
                                    "synthetic://sink?files=0&sink=true")
        p = self.tmp / "sink.json"
        log(f"sink: hsync plan of {SINK_FILES:,} copies into an empty sink")
        plan, bad = self.bounded("sink-plan", [HSYNC, "plan", "-m", m, "-o", p])
        copies = re.search(r"(?m)^Plan: ([\d,]+) files? to copy", plan.stderr())
        self.row("sink", "hsync plan (into an empty sink)", f"{plan.wall:.2f}",
                 rate("sink", 0, SINK_FILES, plan.wall), plan.rss, "-", "-", bad or "ok",
                 f"{int(copies[1].replace(',', '')) if copies else 0:,} copies; plan file "
                 f"{p.stat().st_size / 1048576 if p.exists() else 0:.0f} MiB")
        if bad:
            return
        log("sink: hsync apply")
        run, bad = self.bounded("sink-apply", [HSYNC, "apply", p])
        s = json.loads(run.stdout() or "{}")
        copied = s.get("files_copied", 0)
        check = bad or (f"RSS {'ok' if run.rss <= TARGET_RSS_MIB else 'OVER'} "
                        f"(<= {TARGET_RSS_MIB} MiB)")
        if not bad and copied != SINK_FILES:
            check = f"BAD {copied} copied; {check}"
        self.row("sink", "hsync apply into a sink", f"{run.wall:.2f}",
                 rate("sink", 0, copied, run.wall), run.rss, "-", "-", check,
                 f"{copied:,} copied, {s.get('bytes_copied', 0) / 2**30:.1f} GiB discarded, "
                 f"{s.get('dirs_created', 0):,} dirs")
        shutil.rmtree(self.tmp / ".hsync", ignore_errors=True)

    # -- local --

    def bench_local(self):
        """A local tree of small files copied local -> local by hsync, rsync -a and
        rclone sync, each into a fresh target."""
        src = self.tmp / "src-local"
        log(f"local: generating {LOCAL_FILES:,} files of 4-64 KiB in {src}")
        for i in range(LOCAL_FILES):
            if i % 100 == 0:
                folder = src / f"d{i // 100:04}"
                folder.mkdir(parents=True)
            (folder / f"f{i:06}").write_bytes(os.urandom(random.randint(4, 64) * 1024))
        want = tree_count(src)
        log(f"local: source {want[0]:,} files, {want[1]:,} bytes")

        def measured(tool, name, cmd):
            target = self.tmp / f"dst-local-{name}"
            shutil.rmtree(target, ignore_errors=True)
            os.sync()  # nothing the seed or an earlier run wrote is paid for here
            log(f"local: {tool}")
            run = self.run(f"local-{name}", cmd(target))
            got = tree_count(target)
            run.check = "ok" if got == want else f"BAD {got[0]}f/{got[1]}B"
            if run.rc:
                run.check = f"rc={run.rc}: {run.first('(?i)error|fail') or run.tail(1)}"
            shutil.rmtree(target, ignore_errors=True)
            return run

        m = self.tmp / "local.toml"
        p = self.tmp / "local.json"

        def manifest(target):
            m.write_text(f'[[job]]\nname = "bench-local"\nsources = ["{src}"]\n'
                         f'target = "{target}"\nmode = "update"\nparallel = {PARALLEL}\n')
            return m

        def hsync(target):
            return ["sh", "-c", '"$0" plan -m "$1" -o "$2" && exec "$0" apply "$2"',
                    HSYNC, manifest(target), p]

        def apply_alone(target):
            """The plan made beforehand (unmeasured); the apply alone timed."""
            subprocess.run([HSYNC, "plan", "-m", manifest(target), "-o", p], check=True,
                           stderr=subprocess.DEVNULL)
            return [HSYNC, "apply", p]

        runs = [("hsync (plan + apply)", measured("hsync plan + apply", "hsync", hsync)),
                ("hsync apply", measured("hsync apply alone", "hsync-apply", apply_alone)),
                ("rsync -a", measured("rsync -a", "rsync",
                                      lambda t: ["rsync", "-a", f"{src}/", f"{t}/"])),
                # What rsync costs with its data on disk too, as hsync's is.
                ("rsync -a; sync", measured("rsync -a; sync", "rsync-sync", lambda t: [
                    "sh", "-c", 'rsync -a "$0/" "$1/" && exec sync -f "$1"', src, t]))]
        if shutil.which("rclone"):
            runs.append(("rclone sync", measured("rclone sync", "rclone", lambda t: [
                "rclone", "--config", "/dev/null", "sync", "--transfers", str(PARALLEL),
                "--checkers", str(PARALLEL), str(src), str(t)])))
        else:
            log("local: rclone is not installed; left out")
        rsync = runs[2][1]
        for tool, run in runs:
            check = run.check
            if tool.startswith("hsync"):
                faster = run.wall <= rsync.wall
                small = run.rss <= LOCAL_RSS_MIB
                check += (f"; files/s {'ok' if faster else 'SLOW'} (>= rsync's), RSS "
                          f"{'ok' if small else 'OVER'} (<= {LOCAL_RSS_MIB} MiB)")
            self.row("local", tool, f"{run.wall:.2f}", rate("local", 0, want[0], run.wall),
                     run.rss, "-", "-", check, f"vs rsync {ratio(run.wall, rsync.wall)}")
        shutil.rmtree(src)

    # -- million --

    def bench_million(self):
        """Plan, apply killed partway, resumed apply and no-op re-plan of
        BENCH_MILLION_FILES real local files into an empty local target."""
        src, dst = self.tmp / "src-million", self.tmp / "dst-million"
        folders = (MILLION_FILES + 999) // 1000
        log(f"million: creating {MILLION_FILES:,} files of 0-1 KiB in {folders:,} local folders")
        t0 = time.monotonic()
        million_tree(src, MILLION_FILES)
        log(f"million: created in {time.monotonic() - t0:.0f} s")
        m = self.synthetic_manifest("million", src, dst, 'preserve = ["times"]')
        p = self.tmp / "million.json"
        log("million: hsync plan")
        plan, bad = self.bounded("million-plan", [HSYNC, "plan", "-m", m, "-o", p])
        copies = re.search(r"(?m)^Plan: ([\d,]+) files? to copy", plan.stderr())
        copies = int(copies[1].replace(",", "")) if copies else 0
        if not bad and copies != MILLION_FILES:
            bad = f"BAD {copies:,} copies planned"
        self.row("million", "hsync plan (local -> empty)", f"{plan.wall:.2f}",
                 rate("million", 0, MILLION_FILES, plan.wall), plan.rss, "-", "-", bad or "ok",
                 f"{copies:,} copies; plan file "
                 f"{p.stat().st_size / 1048576 if p.exists() else 0:.0f} MiB")
        if bad:
            return

        def far_enough():
            try:
                return len(os.listdir(dst)) >= folders * MILLION_KILL_AT
            except OSError:
                return False

        log(f"million: hsync apply, killed once {MILLION_KILL_AT:.0%} of the folders are made")
        killed = self.run("million-apply-killed", [HSYNC, "apply", p], kill_when=far_enough)
        landed = count_files(dst)
        check = "ok" if killed.killed else f"BAD not killed (exit {killed.rc})"
        self.row("million", "hsync apply, SIGKILL partway", f"{killed.wall:.2f}",
                 rate("million", 0, landed, killed.wall), killed.rss, "-", "-", check,
                 f"{landed:,} files in the target when killed "
                 f"({landed / MILLION_FILES:.0%})")
        if not killed.killed:
            return

        log("million: hsync apply again (the resume)")
        resumed, bad = self.bounded("million-apply-resumed", [HSYNC, "apply", p])
        s = json.loads(resumed.stdout() or "{}")
        copied, done = s.get("files_copied", 0), s.get("files_already_done", 0)
        in_place = count_files(dst)
        if not bad:
            wrong = [w for w, is_wrong in [
                (f"redid work: {copied:,} copies of {MILLION_FILES:,}", copied >= MILLION_FILES),
                (f"{in_place:,} files in the target", in_place != MILLION_FILES),
                (f"{copied + landed:,} copies + landed < {MILLION_FILES:,}",
                 copied + landed < MILLION_FILES)] if is_wrong]
            bad = "BAD " + "; ".join(wrong) if wrong else ""
        self.row("million", "hsync apply, resumed", f"{resumed.wall:.2f}",
                 rate("million", 0, copied, resumed.wall), resumed.rss, "-", "-", bad or "ok",
                 f"{copied:,} copied, {done:,} already done, journal check "
                 f"{(s.get('journal_check') or {}).get('checked', 0):,} claims in "
                 f"{(s.get('journal_check') or {}).get('listings', 0):,} listings")
        if bad:
            return

        log("million: hsync plan again (no changes)")
        noop, bad = self.bounded("million-replan", [HSYNC, "plan", "-m", m, "-o", "/dev/null"])
        said = noop.first("^Plan:|^No changes")
        if not bad and not said.startswith("No changes"):
            bad = f"BAD {said[:60]}"
        rclone = None
        if shutil.which("rclone"):
            log("million: rclone sync --dry-run of the same trees")
            rclone = self.run("million-rclone", ["rclone", "sync", "--dry-run",
                                                 "--checkers", str(PARALLEL), src, dst])
            if rclone.rc:
                rclone = None
        share = noop.wall / max(rclone.wall, 0.01) if rclone else None
        check = bad or ("ok" if share is None else
                        f"{share:.2f}x rclone's time: {'ok' if share <= NOOP_VS_RCLONE else 'SLOW'}"
                        f" (<= {NOOP_VS_RCLONE}x)")
        self.row("million", "hsync plan, in sync", f"{noop.wall:.2f}",
                 rate("million", 0, MILLION_FILES, noop.wall), noop.rss,
                 ratio(noop.wall, rclone.wall if rclone else None), "-", check,
                 (said[:70] + (f"; rclone --dry-run {rclone.wall:.2f} s, {rclone.rss} MiB"
                               if rclone else "; no rclone")))
        shutil.rmtree(src)
        shutil.rmtree(dst)
        shutil.rmtree(self.tmp / ".hsync", ignore_errors=True)

    # -- mem --

    def bench_mem(self):
        """Peak RSS of `hsync plan` of BENCH_MEM_FILES empty local files (1,000 per
        directory) into an absent local target: a plan of that many copies."""
        src = self.tmp / "src-mem"
        log(f"mem: creating {MEM_FILES} empty files in {(MEM_FILES + 999) // 1000} local directories")
        mem_tree(src, MEM_FILES)
        m = self.manifest(self.tmp / "mem.toml", "bench-mem", src, self.tmp / "dst-mem")
        log("mem: hsync plan -o /dev/null")
        run = self.run("mem-plan", [HSYNC, "plan", "-m", m, "-o", "/dev/null"],
                       env=dict(os.environ, HSYNC_LOG="info"))
        err = run.stderr()
        copies = re.search(r"(?m)^Plan: ([\d,]+) files? to copy", err)
        copies = int(copies[1].replace(",", "")) if copies else 0
        listed = re.search(r" listed listing_calls=(\d+) entries=(\d+)", err)
        check = "ok: <= 1 GiB" if run.rss <= 1024 else "OVER 1 GiB"
        if run.rc or copies != MEM_FILES:
            check = f"BAD exit {run.rc}, {copies} copies; {check}"
        self.row("mem", "hsync plan (local -> absent)", f"{run.wall:.2f}",
                 rate("mem", 0, MEM_FILES, run.wall), run.rss, "-", "-", check,
                 f"{copies} copies; " + (f"{listed[1]} listings, {listed[2]} entries"
                                         if listed else "no listing line"))
        shutil.rmtree(src)
        if (ROOT / "planner/examples/plan_memory.rs").exists():
            self.mem_synthetic()

    def mem_synthetic(self):
        """The planner alone in-process over a synthetic listing of the same size
        (planner/examples/plan_memory.rs), into an absent and an in-sync target."""
        subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "hsync-planner",
                        "--example", "plan_memory"], cwd=ROOT, check=True)
        for target in ("absent", "synced"):
            run = self.run(f"mem-synthetic-{target}",
                           [str(ROOT / "target/release/examples/plan_memory"), str(MEM_FILES), target])
            line = run.first("^entries=", run.stdout() + run.stderr())
            check = "ok: <= 1 GiB" if run.rss <= 1024 else "OVER 1 GiB"
            if run.rc:
                check = f"BAD exit {run.rc}"
            actions = re.search(r"actions=\d+", line)
            listed = re.search(r"listed=(\d+)", line)
            self.row("mem", f"planner, synthetic ({target})", f"{run.wall:.2f}",
                     rate("mem", 0, MEM_FILES, run.wall), run.rss, "-", "-", check,
                     f"{actions[0] if actions else '?'}, {listed[1] if listed else '?'} entries")

    # -- report --

    def describe(self, w):
        return {
            "large": f"large: {LARGE_MB} MiB in {LARGE_FILES} files",
            "small": f"small: {SMALL_FILES} files of 4-64 KiB",
            "plan": f"plan: {PLAN_FILES} files ({PLAN_SIZED}% of 1 B-1 KiB, the rest empty) in 2,000 dirs",
            "cap": f"cap: {CAP_MB} MiB in {CAP_FILES} files at {CAP_MIBPS} MiB/s, parallel 4",
            "mem": f"mem: {MEM_FILES} empty local files, 1,000 per dir",
            "spread": f"spread: {SPREAD_MB} MiB in {SPREAD_FILES} files over YARN, each worker "
                      f"(map) at {SPREAD_MIBPS} MiB/s, N = {', '.join(map(str, SPREAD_WORKERS))}",
            "incremental": f"incremental: {INC_FILES} files in 2,000 dirs, then 100 changes on a",
            "synthetic": "synthetic: `hsync plan` of synthetic pairs of "
                         + ", ".join(f"{n:,}" for n in SYNTH_FILES)
                         + " files (fanout 100, 4-64 KiB), the target with 1% differing",
            "sink": f"sink: `hsync apply` of {SINK_FILES:,} copies into a synthetic sink",
            "local": f"local: {LOCAL_FILES:,} local files of 4-64 KiB (100 per dir) copied "
                     "local -> local",
            "million": f"million: {MILLION_FILES:,} local files of 0-1 KiB, 1,000 per dir: plan, "
                       "apply killed partway, resumed, re-planned",
        }[w]

    def report(self, partial=False):
        peers = " and ".join(p for p in ("rclone", "DistCp") if p.lower() in PEERS) or "nobody"
        alone = [text for text, ws in (("hsync alone on synthetic trees", {"synthetic", "sink"}),
                                       ("hsync vs rsync and rclone, local -> local", {"local"}),
                                       ("hsync on 1 M real local files", {"million"}))
                 if ws & set(self.workloads)]
        where = (f"hsync vs {peers}, Hadoop {os.environ.get('HSYNC_HADOOP', '2.7.3')}, cluster a "
                 f"({A.url}) -> b ({B.url})" if A else f"{'; '.join(alone)} (no cluster)")
        print(f"\n{where}, parallel {PARALLEL} ({os.cpu_count()} cores)"
              + (" -- PARTIAL, the bench stopped early" if partial else ""))
        for w in self.workloads:
            print(f"  {self.describe(w)}")
        print()
        table = [["workload", "tool", "wall s", "throughput", "peak RSS MiB", "vs rclone",
                  "vs distcp", "check", "notes"]] + self.rows
        widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
        for r in table:
            print("  ".join(c.ljust(wd) for c, wd in zip(r, widths)).rstrip())
        print()
        print("vs rclone, vs distcp: the peer's wall time over hsync's, in the same run: "
              "> 1 means hsync is faster.")
        if "distcp" in PEERS and A and set(self.workloads) - {"spread"}:
            print(f"distcp: `scripts/hdfs distcp -m {PARALLEL} -pb`, local mode: one JVM, and "
                  "ONE map whatever -m says (Hadoop's local job client sets mapreduce.job.maps "
                  "to 1), so its files are copied one after the other. Its wall includes the JVM "
                  "start and job setup (the empty-folder row) and its checksum check of each "
                  "copied file; JVM start is from the process start to DistCp's first log line. "
                  f"Of more than {DISTCP_FILES} files it copies the first {DISTCP_FILES}, and "
                  "vs distcp compares rates (its wall scaled to the whole workload).")
        if "large" in self.workloads:
            print("raw: hdfs-cli (Go client) cat of one file to /dev/null, and put of as many "
                  "zeros from stdin.")
        if "spread" in self.workloads:
            print("spread: efficiency is the bytes moved over the maps' window (the first map's "
                  "start to the last map's end, as the job history server tells, alike for both "
                  "tools) against N x the cap (target >= 0.8); the rest of the wall is the job's "
                  "fixed cost (launch, submission, the AM's start, the commit).")
        if "plan" in self.workloads:
            print("plan: files/s is files checked per second; the check gives hsync's time as a "
                  "multiple of rclone's (target <= 0.5).")
            if "distcp" in PEERS:
                print("plan: DistCp has no dry run; `distcp -update` is its no-op check (the copy "
                      "listing of a, then each map compares its files with b: status and "
                      "checksum). Its copy-listing phase lists a only, where `hsync plan` lists "
                      "a and b and compares: compare it with half of hsync's listing work.")
        if "incremental" in self.workloads and "distcp" in PEERS:
            print("incremental: DistCp's -diff run against hsync's plan + apply of the same "
                  "changes; s2 was made beforehand for DistCp, hsync's plan makes its own "
                  "snapshot. RPC counts include any other client of the shared clusters.")
        for line in self.summaries:
            print(line)
        print(f"total bench time: {time.monotonic() - self.t0:.0f} s")

    def cleanup(self):
        if A is None:
            return
        for c, path in self.snapshottable:
            for name in c.cli("ls", f"{path}/.snapshot", check=False).split():
                c.tool("shell", "-deleteSnapshot", path, name, check=False)
        for c in (A, B):
            c.rm(BENCH)
            if not c.cli("ls", "/hsync-bench", check=False).split():  # no other bench's
                c.cli("rm", "-r", "/hsync-bench", check=False)


def main(args):
    global A, B
    if args[:1] == ["--namenodes"]:  # for scripts/bench: is any NameNode listening?
        print(" ".join(rpc for c in (Cluster("a"), Cluster("b")) for rpc, _ in c.namenodes))
        return 0
    if args[:1] == ["--local-only"]:  # for scripts/bench: may the clusters stay down?
        return 0 if args[1:] and set(args[1:]) <= LOCAL_ONLY else 1
    check_only = args[:1] == ["--check"]
    workloads = args[1:] if check_only else args
    workloads = workloads or ["large", "small"]
    if any(w not in WORKLOADS for w in workloads) or not set(PEERS) <= {"rclone", "distcp", ""}:
        print(__doc__.split("\n\n", 2)[1], file=sys.stderr)
        print("\n" + __doc__.rsplit("\n\n", 1)[1], file=sys.stderr)
        return 2
    if check_only:
        return 0
    if not set(workloads) <= LOCAL_ONLY:
        A, B = Cluster("a"), Cluster("b")
    with tempfile.TemporaryDirectory(prefix="hsync-bench.") as tmp:
        bench = Bench(workloads, Path(tmp))
        try:
            if B:
                B.cli("mkdir", "-p", BENCH)
            for w in workloads:
                getattr(bench, f"bench_{w}")()
        except (Failed, KeyboardInterrupt) as e:
            log(f"stopped: {e}")
            if bench.rows:
                bench.report(partial=True)
            return 1
        finally:
            bench.cleanup()
        bench.report()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
