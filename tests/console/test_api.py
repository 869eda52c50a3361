"""The JSON API behind the pages: the same data, documented in /openapi.json."""

from __future__ import annotations

from tests.console.conftest import Console


async def test_openapi_documents_the_api(console: Console) -> None:
    spec = (await console.client.get("/openapi.json")).json()
    assert {
        "/api/fleet", "/api/settlements", "/api/terminals/{tid}", "/api/transactions",
        "/api/transactions/{entry_id}", "/api/alerts", "/api/alerts/{alert_id}/ack",
        "/api/terminals/{tid}/actions/{action}",
    } <= set(spec["paths"])  # fmt: skip


async def test_the_fleet_api(console: Console) -> None:
    await console.login("viewer")
    data = (await console.client.get("/api/fleet")).json()
    tids = {t["tid"]: t for t in data["terminals"]}
    assert set(tids) == {"DEMO0000", "DEMO0001", "DEMO0002"}
    one = tids["DEMO0000"]
    assert one["liveness"] == "online"
    assert one["software_version"] == "010200"
    assert one["open_batch"]["batch"] == 2
    assert one["last_settlement"]["result"] == "balanced_after_upload"
    assert data["counts"] == {"online": 3}
    [group] = data["groups"]
    assert (group["region"], group["total"], group["online"]) == ("demo", 3, 3)


async def test_terminal_api_has_timeline_and_diagnosis(console: Console) -> None:
    await console.login("viewer")
    data = (await console.client.get("/api/terminals/DEMO0000")).json()
    kinds = {e["type"] for e in data["timeline"]}
    assert {"signon", "transaction", "settlement", "exception"} <= kinds
    assert data["diagnosis"]["terminal"] == "DEMO0000"
    masked = [e["pan_masked"] for e in data["timeline"] if e["type"] == "transaction"]
    assert masked and all("*" in m for m in masked)


async def test_transaction_search_and_history(console: Console) -> None:
    await console.login("viewer")
    found = (await console.client.get("/api/transactions?tid=DEMO0000&last4=0003")).json()
    assert found["transactions"]
    assert all(t["pan_masked"].endswith("0003") for t in found["transactions"])
    sale = next(t for t in found["transactions"] if t["kind"] == "sale")
    by_stan = (
        await console.client.get(f"/api/transactions?tid=DEMO0000&stan={int(sale['stan'])}")
    ).json()
    assert sale["id"] in [t["id"] for t in by_stan["transactions"]]
    history = (await console.client.get(f"/api/transactions/{sale['id']}")).json()
    steps = [s["step"] for s in history["history"]]
    assert steps[0] == "approval" and "settlement" in steps and "closed" in steps


async def test_a_bad_search_value_names_the_box(console: Console) -> None:
    await console.login("viewer")
    bad = await console.client.get("/api/transactions?amount=12x")
    assert bad.status_code == 422
    assert "amount" in bad.json()["detail"].lower()


async def test_the_metrics_endpoint_serves_prometheus_text(console: Console) -> None:
    scrape = await console.client.get("/metrics")
    assert scrape.status_code == 200
    assert scrape.headers["content-type"].startswith("text/plain")
    assert "DEMO0001" not in scrape.text  # bounded labels: never a TID
