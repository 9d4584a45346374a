#!/usr/bin/env python3
"""Drives `age -p` / `age -d` through a pseudo-terminal, since age reads passphrases only
from a terminal.  age_passphrase.py encrypt|decrypt PASSPHRASE IN OUT"""
import sys

import pexpect

mode, passphrase, source, target = sys.argv[1:5]
if mode == "encrypt":
    child = pexpect.spawn("age", ["-p", "-o", target, source], timeout=60)
    child.expect("passphrase")
    child.sendline(passphrase)
    child.expect("onfirm")
    child.sendline(passphrase)
else:
    child = pexpect.spawn("age", ["-d", "-o", target, source], timeout=60)
    child.expect("passphrase")
    child.sendline(passphrase)
child.expect(pexpect.EOF)
child.close()
sys.exit(child.exitstatus or 0)
