"""Shows that a proxy-mode tenant without hooks is transparent: scim2-tester, run against
scim2-server (an independent SCIM server) directly and through the gateway, must give the same
result for every check.

Usage: python tests/conformance/compare_passthrough.py path/to/scimitar
"""

import hashlib
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import check_server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, token: str | None = None, process: subprocess.Popen | None = None) -> bool:
    """Waits (60 s at most) for any answer below 500; False when `process` exits first."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            if httpx2.get(url, headers=headers, timeout=2).status_code < 500:
                return True
        except httpx2.TransportError:
            time.sleep(0.1)
    sys.exit(f"compare_passthrough: {url} did not come up within 60 s")


def start_scim2_server(bin_dir: Path) -> tuple[subprocess.Popen, str, str]:
    # A free port can be taken between picking and binding it: try a few.
    for _ in range(3):
        port, token = free_port(), secrets.token_urlsafe(32)
        server = subprocess.Popen(
            [bin_dir / "scim2-server", "--hostname", "127.0.0.1", "--port", str(port), "--bearer-token", token],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        if wait_for(f"{url}/ServiceProviderConfig", token, server):
            return server, url, token
    sys.exit("compare_passthrough: scim2-server did not start on three ports in a row")


def start_gateway(binary: str, work: Path, upstream_url: str, upstream_token: str) -> tuple[subprocess.Popen, str, str]:
    port, admin = free_port(), free_port()
    token = secrets.token_urlsafe(32)
    (work / "upstream-token").write_text(upstream_token)
    (work / "scimitar.toml").write_text(f"""
[server]
listen = "127.0.0.1:{port}"
admin_listen = "127.0.0.1:{admin}"

[store]
url = "sqlite://state.db"

[[tenants]]
name = "passthrough"
target = "scim2-server"
mode = "proxy"
route = "/scim"
auth = {{ token_hashes = ["sha256:{hashlib.sha256(token.encode()).hexdigest()}"] }}

[tenants.upstream]
base_url = "{upstream_url}"

[tenants.upstream.auth]
kind = "header"
name = "Authorization"
prefix = "Bearer "
value = {{ file = "upstream-token" }}
""")
    gateway = subprocess.Popen(
        [binary, "serve", "--config", str(work / "scimitar.toml")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if not wait_for(f"http://127.0.0.1:{admin}/healthz", process=gateway):
        sys.exit("compare_passthrough: the gateway exited at start (a port taken?)")
    if not wait_for(f"http://127.0.0.1:{port}/scim/ServiceProviderConfig", process=gateway):
        sys.exit("compare_passthrough: the gateway exited at start (a port taken?)")
    return gateway, f"http://127.0.0.1:{port}/scim", token


def run(url: str, token: str) -> list[tuple[str, str]]:
    http = httpx2.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    results = check_server(SyncSCIMClient(http))
    return [(f"{r.resource_type or 'server'}: {r.title}", r.status.name) for r in results]


def main() -> int:
    binary = sys.argv[1]
    bin_dir = Path(sys.executable).parent
    started = []
    try:
        direct_server, direct_url, direct_token = start_scim2_server(bin_dir)
        started.append(direct_server)
        proxied_server, proxied_url, proxied_token = start_scim2_server(bin_dir)
        started.append(proxied_server)
        with tempfile.TemporaryDirectory() as work:
            gateway, gateway_url, gateway_token = start_gateway(binary, Path(work), proxied_url, proxied_token)
            started.append(gateway)
            direct = run(direct_url, direct_token)
            through = run(gateway_url, gateway_token)
    finally:
        for process in started:
            process.kill()
            process.wait()

    differences = [(d, t) for d, t in zip(direct, through) if d != t]
    if len(direct) != len(through):
        differences.append((("(number of results)", str(len(direct))), ("", str(len(through)))))
    passed = sum(status == "SUCCESS" for _, status in direct)
    print(f"pass-through transparency: {len(direct)} scim2-tester results; {passed} SUCCESS directly; "
          f"{len(differences)} differ through the gateway")
    for (name, direct_status), (_, through_status) in differences:
        print(f"DIFFERS {name}: directly {direct_status}, through the gateway {through_status}", file=sys.stderr)
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
