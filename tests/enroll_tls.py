#!/usr/bin/env python3
"""Enrollment over real TLS, the way Wazuh agents' OpenSSL does it.

Starts `vigil serve` on scratch homes (a free port each) and enrolls with Python's `ssl` module
(TLS 1.2 and 1.3; without server verification, as agents do by default, and with verification
against the manager's certificate) and with `openssl s_client`. Covers the password file,
agent certificates signed by `<ssl_agent_ca>` (valid, wrong CA, wrong host with
`<ssl_verify_host>`), groups, duplicates, and every `ERROR:` text of protocol.md §1.3 but the
internal one (a unit test in src/enroll/commit.rs produces that).

Usage: enroll_tls.py --binary target/release/vigil
"""

import argparse
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import time

FAILURES = []
CHECKS = [0]


def check(condition, what):
    CHECKS[0] += 1
    if not condition:
        FAILURES.append(what)
        print("FAIL:", what)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`vigil serve` on a new home whose <auth> block holds `settings`."""

    def __init__(self, binary, root, settings, groups=()):
        self.binary = binary
        self.home = os.path.join(root, "home")
        subprocess.run([binary, "agents", "list", "--home", self.home], check=True, stdout=subprocess.DEVNULL)
        for group in groups:
            os.makedirs(os.path.join(self.home, "etc/shared", group), exist_ok=True)
        self.port = free_port()
        conf_path = os.path.join(self.home, "etc/ossec.conf")
        conf = open(conf_path).read()
        block = "<auth>\n<port>%d</port>\n%s\n</auth>" % (self.port, settings.replace("{home}", self.home))
        conf = re.sub(r"<auth>.*?</auth>", lambda _: block, conf, count=1, flags=re.S)
        open(conf_path, "w").write(conf)
        self.process = subprocess.Popen([binary, "serve", "--home", self.home], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 30
        while "Enrollment service listening" not in self.log():
            if self.process.poll() is not None or time.time() > deadline:
                raise SystemExit("vigil serve did not start:\n" + self.log())
            time.sleep(0.05)

    def log(self):
        try:
            return open(os.path.join(self.home, "logs/ossec.log")).read()
        except OSError:
            return ""

    def agents(self):
        out = subprocess.run([self.binary, "agents", "list", "--json", "--home", self.home], check=True, capture_output=True)
        return json.loads(out.stdout)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


def context(version=None, ca=None, cert=None, key=None):
    """A client context like an agent's: no server verification unless a CA is given."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca:
        ctx.load_verify_locations(ca)
        ctx.check_hostname = True
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if version:
        ctx.minimum_version = version
        ctx.maximum_version = version
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def enroll(port, line, ctx=None, server_hostname="localhost"):
    """Sends one request line; returns (answer text, negotiated TLS version) or (error, None)."""
    ctx = ctx or context()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=15) as raw:
            with ctx.wrap_socket(raw, server_hostname=server_hostname) as tls:
                tls.sendall(line)
                chunks = []
                while True:
                    try:
                        chunk = tls.recv(4096)
                    except (ssl.SSLEOFError, ConnectionResetError):
                        break
                    if not chunk:
                        break
                    chunks.append(chunk)
                return b"".join(chunks).decode("utf-8", "replace"), tls.version()
    except (ssl.SSLError, OSError) as e:
        return "failed: %s" % e, None


def is_key(answer, name):
    return re.fullmatch(r"OSSEC K:'\d{3,} %s \S+ [0-9a-f]{64}'" % re.escape(name), answer) is not None


def openssl(*args, stdin=None):
    return subprocess.run(["openssl", *args], input=stdin, capture_output=True, timeout=60)


def test_plain(binary, root):
    server = Server(binary, root, "<purge>yes</purge>", groups=("linux", "web"))
    try:
        answer, version = enroll(server.port, b"OSSEC A:'tls13' V:'v4.14.7'\n", context(ssl.TLSVersion.TLSv1_3))
        check(is_key(answer, "tls13") and version == "TLSv1.3", "TLS 1.3 enrollment: %r %r" % (answer, version))
        answer, version = enroll(server.port, b"OSSEC A:'tls12' V:'v4.14.7'\n", context(ssl.TLSVersion.TLSv1_2))
        check(is_key(answer, "tls12") and version == "TLSv1.2", "TLS 1.2 enrollment: %r %r" % (answer, version))
        cert = os.path.join(server.home, "etc/sslmanager.cert")
        answer, _ = enroll(server.port, b"OSSEC A:'verified'\n", context(ca=cert))
        check(is_key(answer, "verified"), "enrollment verifying the manager certificate: %r" % answer)
        answer, _ = enroll(server.port, b"OSSEC A:'grouped' G:'linux,web,linux'\n")
        check(is_key(answer, "grouped"), "groups: %r" % answer)
        grouped = [a for a in server.agents() if a["name"] == "grouped"]
        check(grouped and grouped[0]["groups"] == ["linux", "web"], "groups stored: %r" % grouped)

        for flag in ("-tls1_2", "-tls1_3"):
            name = "sclient" + flag[-1]
            out = openssl("s_client", "-connect", "127.0.0.1:%d" % server.port, "-quiet", flag,
                          stdin=("OSSEC A:'%s' V:'v4.14.7'\n" % name).encode())
            text = out.stdout.decode("utf-8", "replace")
            check(re.search(r"OSSEC K:'\d+ %s any [0-9a-f]{64}'" % name, text), "openssl s_client %s: %r" % (flag, text))

        errors = [
            (b"HELLO\n", "Invalid request for new agent"),
            (b"OSSEC A:'bad name'\n", "Invalid agent name: bad name"),
            (("OSSEC A:'%s'\n" % socket.gethostname()).encode(), "Invalid agent name: %s" % socket.gethostname()),
            (b"OSSEC A:'v1' V:'v4.14\n", "Unterminated version field"),
            (b"OSSEC A:'v2' V:'v9.0.0'\n", "Agent version must be lower or equal to manager version"),
            (b"OSSEC A:'g1' G:'linux\n", "Unterminated group field"),
            (b"OSSEC A:'g2' G:'linux,,web'\n", "Invalid group name: linux,,web... consecutive ',' are not allowed"),
            (b"OSSEC A:'g3' G:'missing'\n", "Invalid group: missing"),
            (("OSSEC A:'g4' G:'%s'\n" % ",".join("g%d" % i for i in range(129))).encode(), "Maximum multigroup reached: Limit is 128"),
            (b"OSSEC A:'i1' IP:'10.1.1.1\n", "Unterminated IP field"),
            (b"OSSEC A:'i2' IP:'999.1.1.1'\n", "Invalid IP: 999.1.1.1"),
            (b"OSSEC A:'k1' K:'abc\n", "Unterminated key field"),
            (b"OSSEC A:'tls13'\n", "Duplicate agent name: tls13"),
        ]
        for line, text in errors:
            answer, _ = enroll(server.port, line)
            check(answer == "ERROR: %s. Unable to add agent" % text, "%r -> %r (wanted %r)" % (line, answer, text))
        answer, _ = enroll(server.port, b"OSSEC A:'ip1' IP:'10.2.2.2'\n")
        check(is_key(answer, "ip1"), "address enrollment: %r" % answer)
        answer, _ = enroll(server.port, b"OSSEC A:'ip2' IP:'10.2.2.2'\n")
        check(answer == "ERROR: Duplicate IP: 10.2.2.2. Unable to add agent", "duplicate address: %r" % answer)
        names = sorted(a["name"] for a in server.agents())
        check(names == sorted(["tls13", "tls12", "verified", "grouped", "sclient2", "sclient3", "ip1"]), "stored: %r" % names)
    finally:
        server.stop()


def test_password(binary, root):
    server = Server(binary, root, "<use_password>yes</use_password>")
    try:
        path = os.path.join(server.home, "etc/authd.pass")
        check(os.stat(path).st_mode & 0o777 == 0o600, "authd.pass is 0600")
        password = open(path).read().splitlines()[0]
        check(len(password) >= 16, "a generated password")
        check(password not in server.log(), "the log never shows the password")
        answer, _ = enroll(server.port, ("OSSEC PASS: %s OSSEC A:'pw01' V:'v4.14.7'\n" % password).encode())
        check(is_key(answer, "pw01"), "right password: %r" % answer)
        for line in (b"OSSEC PASS: wrong OSSEC A:'pw02'\n", b"OSSEC A:'pw03'\n"):
            answer, _ = enroll(server.port, line)
            check(answer == "ERROR: Invalid password. Unable to add agent", "wrong password: %r" % answer)
    finally:
        server.stop()


def make_certificates(root):
    """A CA, an agent certificate for 127.0.0.1, one for another host, one from another CA."""
    def path(name):
        return os.path.join(root, name)

    for ca in ("ca", "otherca"):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                "-subj", "/CN=%s" % ca, "-keyout", path(ca + ".key"), "-out", path(ca + ".pem"))
    for name, ca, host in (("agent", "ca", "127.0.0.1"), ("elsewhere", "ca", "10.9.9.9"), ("stranger", "otherca", "127.0.0.1")):
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=%s" % host,
                "-keyout", path(name + ".key"), "-out", path(name + ".csr"))
        open(path(name + ".ext"), "w").write("subjectAltName=IP:%s\nextendedKeyUsage=clientAuth\n" % host)
        openssl("x509", "-req", "-in", path(name + ".csr"), "-CA", path(ca + ".pem"), "-CAkey", path(ca + ".key"),
                "-CAcreateserial", "-days", "2", "-extfile", path(name + ".ext"), "-out", path(name + ".pem"))
    return path


def test_agent_certificates(binary, root):
    path = make_certificates(root)
    server = Server(binary, root, "<ssl_agent_ca>%s</ssl_agent_ca>\n<ssl_verify_host>yes</ssl_verify_host>" % path("ca.pem"))
    try:
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            name = "cert" + version.name[-1]
            answer, _ = enroll(server.port, ("OSSEC A:'%s'\n" % name).encode(), context(version, cert=path("agent.pem"), key=path("agent.key")))
            check(is_key(answer, name), "valid agent certificate over %s: %r" % (version.name, answer))
        for cert, what in (("stranger", "another CA"), ("elsewhere", "another host")):
            answer, _ = enroll(server.port, b"OSSEC A:'refused1'\n", context(cert=path(cert + ".pem"), key=path(cert + ".key")))
            check(not answer.startswith("OSSEC K:"), "certificate from %s refused: %r" % (what, answer))
        answer, _ = enroll(server.port, b"OSSEC A:'refused2'\n")
        check(not answer.startswith("OSSEC K:"), "no certificate refused: %r" % answer)
        check(sorted(a["name"] for a in server.agents()) == ["cert2", "cert3"], "only valid certificates enrolled")
        log = server.log()
        check("reason=bad_certificate" in log and "reason=handshake_failed" in log, "certificate refusals counted")
    finally:
        server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    for test in (test_plain, test_password, test_agent_certificates):
        with tempfile.TemporaryDirectory() as root:
            test(binary, root)
    print("enroll_tls: %d checks, %d failed" % (CHECKS[0], len(FAILURES)))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
