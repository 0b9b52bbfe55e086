#!/usr/bin/env python3
"""Starts argv with exactly the environment entries given, in order, repeats kept.

pam_exec passes a hook the PAM environment followed by its own PAM_* items, so
a name can appear twice. Every environment API that takes a mapping drops the
repeat, so this calls execve(2) itself.

Usage: execve_entries.py '{"argv": [...], "env": [["NAME", "value"], ...]}'
Lone surrogates in a value become the bytes a UTF-8 encoder would give them
(surrogatepass), which are not valid UTF-8: a hostile PAM value.
"""
import ctypes
import json
import sys

spec = json.loads(sys.argv[1])


def encode(text):
    return text.encode("utf-8", "surrogatepass")


argv = [encode(a) for a in spec["argv"]]
env = [encode(f"{name}={value}") for name, value in spec["env"]]
libc = ctypes.CDLL(None, use_errno=True)
c_argv = (ctypes.c_char_p * (len(argv) + 1))(*argv, None)
c_env = (ctypes.c_char_p * (len(env) + 1))(*env, None)
libc.execve(argv[0], c_argv, c_env)
sys.exit(f"execve {spec['argv'][0]} failed: errno {ctypes.get_errno()}")
