#!/usr/bin/env python3
"""Schemathesis against Wazuh's own API spec, for the operations vigil serves.

Starts `vigil serve` on a scratch home (free ports, the stock Wazuh ruleset linked from
../shared, rate limits off), logs in, and runs schemathesis on ../shared/wazuh/api/spec.yaml —
Wazuh's spec, not vigil's, so passing cannot come from loosening it — restricted to the
operations vigil's own served spec lists, minus the destructive ones. Checks: no server error
and every answer conforms to Wazuh's response schemas.

Usage: api_conformance.py --binary target/release/vigil [--examples N]
"""

import argparse
import base64
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml

SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "wazuh")

# Operations whose effects would end the run or its token: logins (Basic, not the token),
# anything that deletes, restarts or rewrites the security database or the configuration.
EXCLUDED = [
    ("DELETE", r".*"),
    ("PUT", r"/manager/restart"),
    ("PUT", r"/manager/configuration"),
    ("POST", r"/security/.*"),
    ("PUT", r"/security/.*"),
    ("GET", r"/security/user/authenticate"),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(binary, root):
    home = os.path.join(root, "home")
    subprocess.run([binary, "agents", "list", "--home", home], check=True, stdout=subprocess.DEVNULL)
    for i in range(3):
        subprocess.run([binary, "agents", "add", "conformance-%d" % i, "--home", home], check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    conf_path = os.path.join(home, "etc/ossec.conf")
    conf = open(conf_path).read()
    conf = re.sub(r"<api>.*?</api>", "<api><port>%d</port><max_request_per_minute>0</max_request_per_minute>"
                  "<max_login_attempts>100000</max_login_attempts></api>" % port, conf, count=1, flags=re.S)
    conf = re.sub(r"<remote>.*?</remote>", "<remote><connection>secure</connection><port>%d</port></remote>" % free_port(),
                  conf, count=1, flags=re.S)
    conf = conf.replace("<port>1515</port>", "<port>%d</port>" % free_port())
    open(conf_path, "w").write(conf)
    process = subprocess.Popen([binary, "serve", "--home", home], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    log_path = os.path.join(home, "logs/ossec.log")
    deadline = time.time() + 60
    while True:
        log = open(log_path).read() if os.path.exists(log_path) else ""
        if "API listening" in log:
            return process, home, port
        if process.poll() is not None or time.time() > deadline:
            sys.exit("vigil serve did not start the API:\n" + log)
        time.sleep(0.1)


def request(port, method, path, headers, cafile):
    context = ssl.create_default_context(cafile=cafile)
    req = urllib.request.Request("https://localhost:%d%s" % (port, path), method=method, headers=headers)
    with urllib.request.urlopen(req, context=context, timeout=30) as response:
        return response.read()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--examples", type=int, default=5)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    spec_path = os.path.join(SHARED, "api/spec.yaml")
    spec = yaml.safe_load(open(spec_path))
    with tempfile.TemporaryDirectory() as root:
        process, home, port = serve(binary, root)
        try:
            cafile = os.path.join(home, "etc/sslmanager.cert")
            user, password = open(os.path.join(home, "api/configuration/admin.passwords")).readline().strip().split(":", 1)
            basic = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
            token = request(port, "POST", "/security/user/authenticate?raw=true", {"Authorization": basic}, cafile).decode()
            bearer = {"Authorization": "Bearer " + token}
            served = json.loads(request(port, "GET", "/api/spec.json", bearer, cafile))
            operations = []
            for path, methods in served["paths"].items():
                for method in methods:
                    method = method.upper()
                    if any(m == method and re.fullmatch(p, path) for m, p in EXCLUDED):
                        continue
                    op = spec["paths"].get(path, {}).get(method.lower())
                    if op is None or "security" in op:
                        continue  # vigil's own routes, and Wazuh's login routes (Basic auth)
                    operations.append(op["operationId"])
            print("schemathesis: %d operations of Wazuh's spec, %d examples each" % (len(operations), args.examples))
            command = [
                sys.executable, "-m", "schemathesis.cli", "run", spec_path,
                "--url", "https://localhost:%d" % port,
                "--tls-verify", cafile,
                "-H", "Authorization: Bearer " + token,
                "--checks", "not_a_server_error,response_schema_conformance",
                "--max-examples", str(args.examples),
                "--seed", "2026",
                "--request-timeout", "30",
                "--no-color",
                "--suppress-health-check", "all",
                "--warnings", "off",
            ]
            for op_id in operations:
                command += ["--include-operation-id", op_id]
            result = subprocess.run(command)
            return result.returncode
        finally:
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
