#!/usr/bin/env python3
"""What systemd (PID 1) does with an Accept=no socket unit, for machines where
systemd is not PID 1: a stand-in, not systemd.

It holds the listening socket for as long as it runs, across the service's
runs. Whenever the socket is readable and the service is not running, it
starts the service's command as the unit's User= (supplementary groups
cleared), the socket as file descriptor 3, through systemd's own
systemd-socket-activate, which sets LISTEN_FDS and LISTEN_PID as PID 1 does.
Connections that arrive while no service runs wait in the socket's backlog.
It writes "start PID" and "exit PID CODE CPU_SECONDS" to the log for each run.

Usage: socket_unit.py JSON, with path, mode (octal text), group (gid or null),
argv, uid, gid, env and log. It prints "listening" once it listens; SIGTERM
stops the running service and then itself.
"""

import json
import os
import select
import signal
import socket
import sys


def main() -> None:
    spec = json.loads(sys.argv[1])
    path = spec["path"]
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    os.chmod(path, int(spec["mode"], 8))
    if spec.get("group") is not None:
        os.chown(path, 0, spec["group"])
    server.listen(4096)
    log = open(spec["log"], "a", buffering=1)
    running = {"pid": 0}

    def stop(*_: object) -> None:
        if running["pid"]:
            try:
                os.kill(running["pid"], signal.SIGTERM)
                os.waitpid(running["pid"], 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    print("listening", flush=True)
    while True:
        select.select([server], [], [])
        pid = os.fork()
        if pid == 0:
            os.dup2(server.fileno(), 3)
            os.set_inheritable(3, True)
            os.setgroups([])
            os.setgid(spec["gid"])
            os.setuid(spec["uid"])
            env = dict(spec["env"], LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
            activate = "/usr/bin/systemd-socket-activate"
            os.execve(activate, [activate, "--", *spec["argv"]], env)
        running["pid"] = pid
        log.write(f"start {pid}\n")
        _, status, usage = os.wait4(pid, 0)
        running["pid"] = 0
        cpu = usage.ru_utime + usage.ru_stime
        log.write(f"exit {pid} {os.waitstatus_to_exitcode(status)} {cpu:.4f}\n")


if __name__ == "__main__":
    main()
