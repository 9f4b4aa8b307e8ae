"""Runs scim2-tester (pinned by `cargo xtask test`) against a live usher's /scim/v2.

Usage: tester.py BASE_URL TOKEN. Prints each failed check and then the counts by status;
exits 1 when any check failed.
"""

import sys

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server


def main() -> int:
    base, token = sys.argv[1], sys.argv[2]
    client = SyncSCIMClient(httpx2.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}))
    results = check_server(client)
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status.name] = counts.get(result.status.name, 0) + 1
        if result.status not in (Status.SUCCESS, Status.SKIPPED):
            print(f"{result.status.name} {result.resource_type or '-'} {result.title}: {result.reason}")
    print("scim2-tester: " + ", ".join(f"{n} {name.lower()}" for name, n in sorted(counts.items())))
    failed = sum(n for name, n in counts.items() if name not in ("SUCCESS", "SKIPPED"))
    return 1 if failed or not counts.get("SUCCESS") else 0


if __name__ == "__main__":
    sys.exit(main())
