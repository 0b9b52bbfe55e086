#!/usr/bin/env python3
"""Starts hooks at once and accounts for every process they leave behind.

It makes itself a child subreaper, so detached senders are reparented to it
when their hook exits, and reaps everything with wait4: each hook's own wall
time, CPU and peak RSS, then the CPU of whatever outlived the hooks. Each
hook's start is also given on the wall clock (`began_at`, seconds since the
epoch), to compare with when its event arrived.

Usage: burst.py '{"argv": [...], "envs": [{...}, ...], "events": PATH_OR_NULL}'
Prints one JSON object.
"""
import ctypes
import json
import os
import subprocess
import sys
import time

spec = json.loads(sys.argv[1])
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
start = time.monotonic()
hooks = {}
procs = []  # kept: subprocess reaps children whose Popen objects are collected
for env in spec["envs"]:
    began = time.monotonic()
    began_at = time.time()
    proc = subprocess.Popen(spec["argv"], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(proc)
    hooks[proc.pid] = {"began": began, "began_at": began_at}
pending = set(hooks)
hooks_done = None
others_cpu = 0.0
others = 0
while True:
    try:
        pid, status, usage = os.wait4(-1, 0)
    except ChildProcessError:
        break
    now = time.monotonic()
    cpu = usage.ru_utime + usage.ru_stime
    if pid in hooks:
        hooks[pid].update(wall=now - hooks[pid]["began"], cpu=cpu, rss_kib=usage.ru_maxrss,
                          code=os.waitstatus_to_exitcode(status))
        pending.discard(pid)
        if not pending:
            hooks_done = now - start
    else:
        others += 1
        others_cpu += cpu
print(json.dumps({
    "hooks": [dict(h, pid=p) for p, h in hooks.items()],
    "hooks_done_s": hooks_done,
    "all_done_s": time.monotonic() - start,
    "others": others,
    "others_cpu_s": others_cpu,
}))
