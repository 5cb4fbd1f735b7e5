"""Benchmark: the web UI on 3 nodes x 100 containers, in Debian's headless Chromium.

Every figure is printed next to its anchor, measured in the same run:

* time to first render of the containers page (navigation until its 250-row page of the 300
  containers is in the DOM) against the bare JSON API call for the same page, and against a
  direct parallel query of the three engines;
* latency from a container state change on a node (an Engine API ``kill`` on the node's
  socket) to the change shown in an already open containers page (pushed over server-sent
  events, no reload), against the same change seen by polling fleetdeck's JSON API.

Run as root: ``.venv/bin/python bench/ui_bench.py [--per-node 100] [--samples 10]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import engine_client, machine, percentile  # noqa: E402
from fleet_bench import fill  # noqa: E402
from fleetdeck.client.client import FleetdeckClient  # noqa: E402
from fleetdeck.client.config import ClientConfig  # noqa: E402
from fleetdeck.lab import Lab  # noqa: E402

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGE = 250


def ms(samples: list[float]) -> str:
    return (
        f"p50 {percentile(samples, 50) * 1000:7.1f} ms  "
        f"p95 {percentile(samples, 95) * 1000:7.1f} ms"
    )


def main() -> None:  # noqa: C901 - one linear measurement script
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-node", type=int, default=100)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--name", default="benchui")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    lab = Lab(args.name)
    lab.down()
    record, _ = lab.up(nodes=3, server=True)
    server = record.server
    assert server is not None
    try:
        fill(record, args.per_node)
        total = 3 * args.per_node
        config = ClientConfig(url=server.url, ca_cert=server.ca_cert, token=server.token)
        client = FleetdeckClient(config)
        while client.list_containers(limit=5000).total < total:
            time.sleep(0.2)
        engines = [engine_client(n.docker_host) for n in record.nodes]
        render, api, direct = [], [], []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            context = browser.new_context(ignore_https_errors=True)
            page = context.new_page()
            page.goto(server.url + "/login")
            page.get_by_label("Username").fill(server.admin_user)
            page.get_by_label("Password").fill(server.admin_password)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(server.url + "/")
            rows = page.locator("tr[data-ref]")
            with ThreadPoolExecutor(3) as pool:
                for _ in range(args.samples):
                    t0 = time.perf_counter()
                    page.goto(f"{server.url}/containers?limit={PAGE}&state=running")
                    rows.nth(PAGE - 1).wait_for(state="attached")
                    render.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    client.list_containers(limit=PAGE, state="running")
                    api.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    list(pool.map(lambda e: e.get("/containers/json").json(), engines))
                    direct.append(time.perf_counter() - t0)
            # Live change: one container's row, page left open; kill it on its node.
            node = record.nodes[2]
            name = f"b-{node.name}-0"
            ref_filter = f"{server.url}/containers?q={name}&limit=25"
            page.goto(ref_filter)
            shown, polled = [], []
            with engine_client(node.docker_host) as engine:
                for _ in range(args.samples):
                    for wanted, action in (("exited", "kill"), ("running", "start")):
                        t0 = time.perf_counter()
                        engine.post(f"/containers/{name}/{action}").raise_for_status()
                        # The live update re-renders the table: look the row up afresh.
                        row = page.locator(f"tr[data-ref$='/{name}'][data-state='{wanted}']")
                        row.wait_for(timeout=15000)
                        shown.append(time.perf_counter() - t0)
                    for wanted, action in (("exited", "kill"), ("running", "start")):
                        t0 = time.perf_counter()
                        engine.post(f"/containers/{name}/{action}").raise_for_status()
                        while client.list_containers(name=name, state=wanted).total == 0:
                            time.sleep(0.005)
                        polled.append(time.perf_counter() - t0)
            browser.close()
        for e in engines:
            e.close()
        client.close()
        print(f"fleet: 3 nodes x {args.per_node} containers = {total}; page of {PAGE} rows")
        print(f"containers page, navigation to {PAGE} rows in the DOM: {ms(render)}")
        print(f"  anchor: the same page as JSON from the API:       {ms(api)}")
        print(f"  anchor: direct parallel query of the 3 engines:   {ms(direct)}")
        print(f"state change on a node -> shown in the open page:   {ms(shown)}")
        print(f"  anchor: same change seen by polling the JSON API: {ms(polled)}")
    finally:
        lab.down()


if __name__ == "__main__":
    main()
