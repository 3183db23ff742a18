#!/usr/bin/env python3
"""Runs a command on a pseudo-terminal and types $PASSPHRASE at each passphrase prompt.

The age CLI reads passphrases from /dev/tty only; a pty makes it the child's terminal.
usage: PASSPHRASE=pw tty_answer.py age -p -o out.age in.txt   (write data with -o, never stdout)
Exit status: the command's own.
"""
import os
import pty
import re
import sys
import time

answer = os.environ["PASSPHRASE"].encode() + b"\n"
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
seen = b""
end = time.time() + 120
while time.time() < end:
    try:
        data = os.read(fd, 1024)
    except OSError:  # EIO: the child closed the terminal
        break
    if not data:
        break
    seen += data
    # Each prompt ("Enter passphrase...:", "Confirm passphrase:") gets one answer.
    while True:
        m = re.search(rb"[Pp]assphrase[^:\n]*:", seen)
        if not m:
            break
        os.write(fd, answer)
        seen = seen[m.end():]
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
