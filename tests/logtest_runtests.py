#!/usr/bin/env python3
"""Wazuh's ruleset test runner, against `vigil logtest`.

Drives the shared ini test files the way Wazuh's ruleset/testing/runtests.py does: a
Wazuh-shaped home laid out from ../shared/wazuh (links, with the test rules and decoders
installed and rule 60000 switched to JSON decoding, as runtests.py does without -s), then one
`vigil logtest -U rule:alert:decoder` process per case, stdin carrying the case's logs
(repeated `log N` keys merged into one session), stdout and stderr merged. A `pass` case must
exit 0 and a `fail` case non-zero.

First `--local` cases run with no server (each process loads the ruleset itself), then a
`vigil serve` starts on the home and every case runs again through its logtest socket.

Usage: logtest_runtests.py --binary target/release/vigil [--local 40] [--shared ../shared]
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def read_ini(path):
    """Sections of key/value pairs; repeated `log N` keys merge (MultiOrderedDict)."""
    sections = []
    current = None
    for raw in open(path, encoding="utf-8"):
        line = raw.strip()
        if not line or line.startswith((";", "#")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = {"name": line[1:-1], "items": []}
            sections.append(current)
            continue
        if current is None or "=" not in raw:
            continue
        key, value = raw.split("=", 1)
        current["items"].append((key.strip(), value.strip()))
    cases = []
    for section in sections:
        values = {}
        logs = {}
        for key, value in section["items"]:
            if key.startswith("log "):
                logs.setdefault(key, []).append(value)
            else:
                values[key] = value
        for key, lines in logs.items():
            cases.append({
                "file": os.path.basename(path),
                "section": section["name"],
                "key": key,
                "lines": lines,
                "pass": key.endswith("pass"),
                "expected": "%s:%s:%s" % (values.get("rule", ""), values.get("alert", ""), values.get("decoder", "")),
            })
    return cases


def lay_out(home, shared):
    wazuh = os.path.join(shared, "wazuh")
    for d in ("etc/decoders", "etc/rules", "ruleset/rules"):
        os.makedirs(os.path.join(home, d))
    shutil.copy(os.path.join(wazuh, "etc/ossec-server.conf"), os.path.join(home, "etc/ossec.conf"))
    os.symlink(os.path.join(wazuh, "ruleset/decoders"), os.path.join(home, "ruleset/decoders"))
    os.symlink(os.path.join(wazuh, "ruleset/lists"), os.path.join(home, "etc/lists"))
    rules = os.path.join(wazuh, "ruleset/rules")
    for name in os.listdir(rules):
        target = os.path.join(home, "ruleset/rules", name)
        if name == "0575-win-base_rules.xml":
            text = open(os.path.join(rules, name), encoding="utf-8").read()
            old = "<category>ossec</category>\n    <decoded_as>windows_eventchannel</decoded_as>"
            assert old in text, "rule 60000 is as runtests.py expects"
            open(target, "w", encoding="utf-8").write(text.replace(old, "<decoded_as>json</decoded_as>", 1))
        else:
            os.symlink(os.path.join(rules, name), target)
    os.symlink(os.path.join(wazuh, "etc/local_decoder.xml"), os.path.join(home, "etc/decoders/local_decoder.xml"))
    os.symlink(os.path.join(wazuh, "etc/local_rules.xml"), os.path.join(home, "etc/rules/local_rules.xml"))
    testing = os.path.join(wazuh, "ruleset/testing/ruleset")
    for name in os.listdir(testing):
        kind = "decoders" if name.endswith("_decoders.xml") else "rules"
        os.symlink(os.path.join(testing, name), os.path.join(home, "etc", kind, name))


def run_case(binary, home, case):
    proc = subprocess.run(
        [binary, "logtest", "--home", home, "-U", case["expected"]],
        input="\n".join(case["lines"]) + "\n",
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
    )
    ok = (proc.returncode == 0) == case["pass"]
    return ok, proc


def run_all(binary, home, cases, label):
    failures = []
    started = time.monotonic()
    for case in cases:
        ok, proc = run_case(binary, home, case)
        if not ok:
            failures.append((case, proc))
    elapsed = time.monotonic() - started
    print("%s: %d/%d cases passed in %.1f s" % (label, len(cases) - len(failures), len(cases), elapsed))
    for case, proc in failures[:10]:
        print("FAIL %s [%s] %s (expected %s, exit %d)\n%s" % (
            case["file"], case["section"], case["key"], case["expected"], proc.returncode, proc.stdout[-1500:]))
    return not failures


def wait_for_socket(path, server, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.connect(path)
                return True
        except OSError:
            time.sleep(0.1)
    return False


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--shared", default=os.path.join(here, "..", "..", "shared"))
    parser.add_argument("--local", type=int, default=40, help="cases run without a server")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    tests = os.path.join(args.shared, "wazuh/ruleset/testing/tests")
    cases = []
    for name in sorted(os.listdir(tests)):
        if name.endswith(".ini") and "_geoip" not in name:
            cases.extend(read_ini(os.path.join(tests, name)))
    assert len(cases) > 1300, "the shared ini cases were not found"
    with tempfile.TemporaryDirectory() as tmp:
        home = os.path.join(tmp, "home")
        lay_out(home, args.shared)
        step = max(1, len(cases) // max(1, args.local))
        ok = run_all(binary, home, cases[::step][: args.local], "without a server")
        server = subprocess.Popen([binary, "serve", "--home", home], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            if not wait_for_socket(os.path.join(home, "queue/sockets/logtest"), server):
                print("vigil serve did not open queue/sockets/logtest:", server.stderr.read().decode() if server.poll() is not None else "")
                return 1
            ok = run_all(binary, home, cases, "through vigil serve's logtest socket") and ok
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
