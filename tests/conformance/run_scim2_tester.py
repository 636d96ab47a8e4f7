"""Runs scim2-tester (an independent SCIM conformance checker) against the Meta Networks
tenant of `scimitar demo`, and fails unless the checks that fail are exactly the ones listed in
expected-failures.txt.

Usage: python tests/conformance/run_scim2_tester.py path/to/scimitar

A check fails when its status is a deviation from a SHOULD, an error (a MUST) or critical.
An expected failure that passes fails the run too, so that the list stays true.
"""

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

TENANT = "meta-networks"
FAILING = {Status.DEVIATION, Status.ERROR, Status.CRITICAL}
EXPECTED = Path(__file__).with_name("expected-failures.txt")


def expected_failures() -> dict[str, str]:
    """`check name | reason` lines; `#` starts a comment."""
    expected = {}
    for line in EXPECTED.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, reason = line.partition("|")
            expected[name.strip()] = reason.strip()
    return expected


def check_name(result) -> str:
    return f"{result.resource_type or 'server'}: {result.title}"


def start_demo(binary: str, data_dir: str) -> tuple[subprocess.Popen, dict]:
    """Starts the demo on free loopback ports and returns it with the tenant's JSON line."""
    demo = subprocess.Popen(
        [binary, "demo", "--port", "0", "--admin-port", "0", "--data-dir", data_dir],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    for line in demo.stdout:
        tenant = json.loads(line)
        if tenant["tenant"] == TENANT:
            wait_until_up(tenant)
            return demo, tenant
    demo.kill()
    sys.exit(f"scim2-tester: the demo printed no {TENANT} tenant")


def wait_until_up(tenant: dict) -> None:
    """The tenant lines come before the listener is up: wait for any HTTP answer."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx2.get(tenant["scim_url"] + "/ServiceProviderConfig", timeout=2)
            return
        except httpx2.TransportError:
            time.sleep(0.1)
    sys.exit("scim2-tester: the demo gateway did not come up within 60 s")


def run_checks(tenant: dict) -> list:
    http = httpx2.Client(
        base_url=tenant["scim_url"],
        headers={"Authorization": f"Bearer {tenant['token']}"},
        timeout=30,
    )
    return check_server(SyncSCIMClient(http))


def main() -> int:
    with tempfile.TemporaryDirectory() as data_dir:
        demo, tenant = start_demo(sys.argv[1], data_dir)
        try:
            results = run_checks(tenant)
        finally:
            demo.kill()
            demo.wait()

    expected = expected_failures()
    # One check (e.g. the methods of an endpoint) may give several results under one name.
    failures = [r for r in results if r.status in FAILING]
    for r in results:
        mark = "(expected)" if check_name(r) in expected else ""
        print(f"{r.status.name:10} {check_name(r)} {mark}".rstrip())
        if r.status in FAILING:
            print(f"           {r.reason}")
    unexpected = [r for r in failures if check_name(r) not in expected]
    fixed = sorted(set(expected) - {check_name(r) for r in failures})
    # Worded so that CI's parsers of test-runner summaries do not read expected failures as
    # failures of the suite: what fails the suite is an unexpected one (the exit code).
    print(f"scim2-tester: {len(results)} checks; {len(results) - len(failures)} pass; "
          f"{len(failures) - len(unexpected)} expected failures; {len(unexpected)} unexpected")
    for r in unexpected:
        print(f"UNEXPECTED FAILURE: {check_name(r)}: {r.reason}", file=sys.stderr)
    for name in fixed:
        print(f"EXPECTED FAILURE PASSED (remove it from {EXPECTED.name}): {name}", file=sys.stderr)
    return 1 if unexpected or fixed else 0


if __name__ == "__main__":
    sys.exit(main())
