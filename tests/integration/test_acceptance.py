"""Acceptance sampling of a delivered batch, end to end through the API: a batch that fails its
inspection goes back to rework and passes the next one; the plan is quality.sampling's; bad input,
tenants and roles; suspicious answers routed to review; the quality report on a known scenario."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from seatflow.quality import sampling
from seatflow.services import accounts, imports, projects, quality
from seatflow.services.imports import Record
from seatflow.store import tables
from seatflow.store.acceptance import inspections

from .conftest import Center

POS = {"classes": ["positive"]}
NEG = {"classes": ["negative"]}


@pytest.fixture(autouse=True)
def _fresh_quality_cache() -> None:
    quality.project_cache.clear()


def make_batch(center: Center, slug: str, n: int, *, workflow: str = "annotate(overlap=1)",
               workers: tuple[str, ...] = ("ann1",), payload: Any = None) -> int:
    """A text project of the acme client with one batch of ``n`` items; returns the batch id."""
    with center.db.write() as conn:
        center.seed.projects[slug] = projects.create_project(conn, None, {
            "slug": slug, "name": slug, "client": "acme", "work_type": "text_annotation", "workflow": workflow,
            "label_schema": {"classes": ["positive", "negative"]}})
        for w in workers:
            accounts.grant(conn, None, username=w, project_slug=slug, skill="annotate")
    records = [Record("b1", i, {"external_id": f"{slug}-{i}",
                                "payload": payload(i) if payload else {"text": f"text {i}"}})
               for i in range(1, n + 1)]
    rep = imports.import_records(center.db, None, slug, records, source="b1.jsonl")
    assert rep.error is None and rep.imported == n
    assert rep.batch_id is not None
    return rep.batch_id


def answer_all(center: Center, username: str, slug: str, answer: Any = None) -> list[int]:
    """``username`` answers every task of the project waiting for them; returns the item ids."""
    done = []
    while True:
        resp = center.post(username, "/api/v1/leases", json={"project_id": center.seed.projects[slug]})
        if resp.status_code != 201:
            break
        lease = resp.json()
        a = answer(lease) if callable(answer) else (answer or POS)
        assert center.submit(username, lease["lease_id"], a).status_code == 200
        done.append(lease["item"]["id"])
    return done


def item_states(center: Center, batch_id: int) -> dict[str, int]:
    with center.db.read() as conn:
        rows = conn.execute(select(tables.items.c.state).where(tables.items.c.batch_id == batch_id)).scalars()
        out: dict[str, int] = {}
        for s in rows:
            out[s] = out.get(s, 0) + 1
        return out


def item_states_of(center: Center, slug: str) -> dict[str, int]:
    with center.db.read() as conn:
        rows = conn.execute(select(tables.items.c.state).where(
            tables.items.c.project_id == center.seed.projects[slug])).scalars()
        out: dict[str, int] = {}
        for s in rows:
            out[s] = out.get(s, 0) + 1
        return out


def outbox_topics(center: Center) -> list[str]:
    with center.db.read() as conn:
        return list(conn.execute(select(tables.outbox.c.topic).order_by(tables.outbox.c.id)).scalars())


# --- the must-show: reject -> rework -> pass ------------------------------------------------------


def test_failed_batch_goes_to_rework_and_passes_after_it(center: Center) -> None:
    batch = make_batch(center, "acme-cls", 20)
    assert len(answer_all(center, "ann1", "acme-cls")) == 20
    assert item_states(center, batch) == {"done": 20}

    # the client starts the inspection: ISO 2859-1, AQL 1.0, level II
    resp = center.post("acme-ops", f"/api/v1/batches/{batch}/inspections", json={"aql": 1.0})
    assert resp.status_code == 201, resp.text
    first = resp.json()
    expected = sampling.plan(20, 1.0, "II")
    assert first["plan"] == {"aql": 1.0, "level": "II", "lot_size": 20, "code": expected.code,
                             "table_code": expected.table_code, "sample_size": expected.n, "ac": expected.ac,
                             "re": expected.re, "full_inspection": False}
    assert (expected.table_code, expected.code, expected.n, expected.ac, expected.re) == ("C", "E", 13, 0, 1)
    sampled = [s["item_id"] for s in first["sample"]]
    assert len(sampled) == 13 and first["state"] == "open"
    # the sample is the reproducible draw of quality.sampling over the lot (done items, id order)
    with center.db.read() as conn:
        lot = list(conn.execute(select(tables.items.c.id).where(tables.items.c.batch_id == batch)
                                .order_by(tables.items.c.id)).scalars())
    assert sampled == sampling.draw_sample(lot, 13, first["seed"])
    assert all(s["answers"] == [{"slot": 0, "answer": {"classes": ["positive"], "spans": []}}]
               for s in first["sample"])
    assert "worker" not in str(first["sample"])

    # one defective item: Re = 1, the batch is rejected when the last verdict is in
    bad = sampled[3]
    for item in sampled:
        body = ({"verdict": "defective", "error_tags": ["wrong_class"], "comment": "this one is negative"}
                if item == bad else {"verdict": "ok"})
        out = center.post("acme-ops", f"/api/v1/inspections/{first['id']}/items/{item}", json=body)
        assert out.status_code == 200, out.text
    decided = out.json()
    assert decided["state"] == "rejected" and decided["defects"] == 1 and decided["judged"] == 13
    assert outbox_topics(center)[-1] == "batch.rejected"
    with center.db.read() as conn:
        event = conn.execute(select(tables.outbox).where(tables.outbox.c.topic == "batch.rejected")).one()
    assert event.payload["findings"] == [{"item": {"id": bad, "external_id": decided["sample"][3]["external_id"]},
                                          "error_tags": ["wrong_class"], "comment": "this one is negative"}]
    assert event.payload["inspection"]["defects"] == 1 and event.payload["items_sent_back"] == 1
    assert item_states(center, batch) == {"done": 19, "active": 1}

    # the batch is not delivered while the rework is open: no new inspection yet
    center.problem(center.post("acme-ops", f"/api/v1/batches/{batch}/inspections", json={}), 409,
                   field="batch", says="not delivered")

    # the author gets the item back with the finding, and fixes it
    lease = center.lease("ann1", "acme-cls")
    assert lease["item"]["id"] == bad
    assert lease["rework_of"]["reviews"] == [{"verdict": "reject", "error_tags": ["wrong_class"],
                                              "comment": "this one is negative"}]
    assert center.submit("ann1", lease["lease_id"], NEG).status_code == 200
    assert item_states(center, batch) == {"done": 20}
    with center.db.read() as conn:
        result = conn.execute(select(tables.items.c.result).where(tables.items.c.id == bad)).scalar_one()
    assert result[0]["answer"] == {"classes": ["negative"], "spans": []}

    # a new inspection: a fresh sample of the whole lot; all ok -> accepted
    second = center.post("acme-ops", f"/api/v1/batches/{batch}/inspections", json={"aql": 1.0}).json()
    assert second["number"] == 2 and second["seed"] != first["seed"] and second["plan"] == first["plan"]
    for s in second["sample"]:
        out = center.post("acme-ops", f"/api/v1/inspections/{second['id']}/items/{s['item_id']}",
                          json={"verdict": "ok"})
        assert out.status_code == 200, out.text
    assert out.json()["state"] == "accepted" and out.json()["defects"] == 0
    assert outbox_topics(center)[-1] == "batch.accepted"
    listed = center.get("acme-ops", f"/api/v1/batches/{batch}/inspections").json()["inspections"]
    assert [(i["number"], i["state"]) for i in listed] == [(1, "rejected"), (2, "accepted")]
    # judging a decided inspection is refused
    center.problem(center.post("acme-ops", f"/api/v1/inspections/{second['id']}/items/{sampled[0]}",
                               json={"verdict": "ok"}), 409, field="inspection")

    # the report of the batch shows both inspections and the finding, and no worker table for the client
    rep = center.get("acme-ops", f"/api/v1/quality/report?project=acme-cls&batch={batch}").json()
    assert [(i["number"], i["state"], i["defects"]) for i in rep["inspections"]] == [(1, "rejected", 1),
                                                                                     (2, "accepted", 0)]
    assert rep["acceptance"] == "accepted"
    assert rep["inspection_findings"] == [{"tag": "wrong_class", "count": 1}]
    assert rep["findings"] == [{"tag": "wrong_class", "count": 1}]  # the inspection's rejection is a review
    assert "workers" not in rep
    # the page says how many accepted answers an item took (what overlap and rework cost), from the same figures
    assert rep["items"]["answered"] > 0 and rep["items"]["answers"] >= rep["items"]["answered"]
    page = center.get("acme-ops", f"/quality/report?project=acme-cls&batch={batch}")
    per_item = rep["items"]["answers"] / rep["items"]["answered"]
    assert f'id="answers-per-item"><span class="tile-num">{per_item:.2f}</span>' in page.text, page.text


def test_whole_lot_policy_sends_every_item_back(center: Center) -> None:
    batch = make_batch(center, "acme-lot", 5)
    answer_all(center, "ann1", "acme-lot")
    insp = center.post("manager", f"/api/v1/batches/{batch}/inspections",
                       json={"aql": 10, "on_reject": "lot"}).json()
    p = sampling.plan(5, 10)
    assert (insp["plan"]["sample_size"], insp["plan"]["ac"], insp["plan"]["re"]) == (p.n, p.ac, p.re)
    # the author reads why an unsampled item came back in their own language (written when it is sent back)
    with center.db.write() as conn:
        conn.execute(update(tables.users).where(tables.users.c.username == "ann1").values(locale="zh_CN"))
    for s in insp["sample"]:
        center.post("manager", f"/api/v1/inspections/{insp['id']}/items/{s['item_id']}",
                    json={"verdict": "defective", "comment": "wrong"})
    assert item_states(center, batch) == {"active": 5}
    sampled = {s["item_id"] for s in insp["sample"]}
    assert len(sampled) < 5  # some items go back without a finding of their own
    leases = []
    for _ in range(5):
        lease = center.lease("ann1", "acme-lot")
        leases.append(lease)
        assert "rework_of" in lease
        comments = [r["comment"] for r in lease["rework_of"]["reviews"]]
        if lease["item"]["id"] in sampled:
            assert comments == ["wrong"]
        else:
            assert comments == [f"批次未通过第 {insp['number']} 次验收抽检；请重新检查此答案。"], comments
        assert center.submit("ann1", lease["lease_id"], NEG).status_code == 200
    assert item_states(center, batch) == {"done": 5}


def test_rework_of_a_suspended_author_goes_to_anyone(center: Center) -> None:
    batch = make_batch(center, "acme-sus2", 2, workers=("ann1", "ann2"))
    answer_all(center, "ann1", "acme-sus2")
    with center.db.write() as conn:
        conn.execute(tables.worker_standing.insert(), {
            "user_id": center.seed.users["ann1"], "project_id": center.seed.projects["acme-sus2"],
            "client_id": center.seed.clients["acme"], "state": "suspended", "changed_at": _now()})
    insp = center.post("manager", f"/api/v1/batches/{batch}/inspections", json={}).json()
    assert insp["plan"]["sample_size"] == 2 and insp["plan"]["full_inspection"]  # n = 13 reaches the lot of 2
    for s in insp["sample"]:
        center.post("manager", f"/api/v1/inspections/{insp['id']}/items/{s['item_id']}",
                    json={"verdict": "defective", "error_tags": ["wrong_class"]})
    with center.db.read() as conn:
        reworks = conn.execute(select(tables.tasks.c.assignee_id).where(
            tables.tasks.c.project_id == center.seed.projects["acme-sus2"], tables.tasks.c.state == "ready",
            tables.tasks.c.target_submission_id.is_not(None))).scalars().all()
    assert reworks == [None, None]
    lease = center.lease("ann2", "acme-sus2")
    assert lease["rework_of"]["reviews"][0]["error_tags"] == ["wrong_class"]


# --- bad input, tenants, roles ----------------------------------------------------------------------


def test_bad_input_gets_clear_errors(center: Center) -> None:
    batch = make_batch(center, "acme-bad", 4)
    # not delivered yet: every item still in work
    center.problem(center.post("acme-ops", f"/api/v1/batches/{batch}/inspections", json={}), 409, field="batch",
                   says="4 of its 4 items are still in work")
    answer_all(center, "ann1", "acme-bad")
    before = center.count("inspections")
    center.problem(center.post("acme-ops", f"/api/v1/batches/{batch}/inspections", json={"aql": 1.2}), 422,
                   field="aql", says="not an AQL")
    center.problem(center.post("acme-ops", f"/api/v1/batches/{batch}/inspections", json={"aql": "x"}), 422)
    center.problem(center.post("acme-ops", f"/api/v1/batches/{batch}/inspections", json={"level": "IV"}), 422,
                   field="level")
    center.problem(center.post("acme-ops", f"/api/v1/batches/{batch}/inspections", json={"on_reject": "all"}),
                   422, field="on_reject")
    center.problem(center.post("acme-ops", "/api/v1/batches/999999/inspections", json={}), 404, field="batch")
    assert center.count("inspections") == before
    insp = center.post("acme-ops", f"/api/v1/batches/{batch}/inspections", json={}).json()
    center.problem(center.post("acme-ops", f"/api/v1/batches/{batch}/inspections", json={}), 409,
                   field="batch", says="open inspection")
    sampled = {s["item_id"] for s in insp["sample"]}
    with center.db.read() as conn:
        outside = [i for i in conn.execute(select(tables.items.c.id)).scalars() if i not in sampled][0]
    url = f"/api/v1/inspections/{insp['id']}/items"
    center.problem(center.post("acme-ops", f"{url}/{outside}", json={"verdict": "ok"}), 422, field="item_id",
                   says="not in the sample")
    one = sorted(sampled)[0]
    center.problem(center.post("acme-ops", f"{url}/{one}", json={"verdict": "bad"}), 422, field="verdict")
    center.problem(center.post("acme-ops", f"{url}/{one}", json={"verdict": "defective"}), 422,
                   field="error_tags", says="error tag or a comment")
    center.problem(center.post("acme-ops", f"{url}/{one}", json={"verdict": "ok", "error_tags": ["x"]}), 422,
                   field="error_tags")
    center.problem(center.post("acme-ops", f"{url}/{one}", json={"verdict": "defective", "error_tags": [""]}),
                   422, field="error_tags")
    assert center.get("acme-ops", f"/api/v1/inspections/{insp['id']}").json()["judged"] == 0
    center.problem(center.get("acme-ops", "/api/v1/quality/report?project=acme-bad&batch=999999"), 404,
                   field="batch")
    center.problem(center.get("acme-ops", "/api/v1/quality/report?project=nope"), 404)


def test_tenants_and_roles(center: Center) -> None:
    batch = make_batch(center, "acme-ten", 3)
    answer_all(center, "ann1", "acme-ten")
    # another tenant's client: 404, and nothing written
    center.problem(center.post("globex-ops", f"/api/v1/batches/{batch}/inspections", json={}), 404, field="batch")
    # a worker may not start one (403), nor a lead
    center.problem(center.post("ann1", f"/api/v1/batches/{batch}/inspections", json={}), 403)
    center.problem(center.post("lead", f"/api/v1/batches/{batch}/inspections", json={}), 403)
    assert center.count("inspections") == 0
    insp = center.post("acme-ops", f"/api/v1/batches/{batch}/inspections", json={}).json()
    item = insp["sample"][0]["item_id"]
    center.problem(center.get("globex-ops", f"/api/v1/inspections/{insp['id']}"), 404)
    center.problem(center.post("globex-ops", f"/api/v1/inspections/{insp['id']}/items/{item}",
                               json={"verdict": "ok"}), 404)
    center.problem(center.get("ann1", f"/api/v1/inspections/{insp['id']}"), 403)
    center.problem(center.post("ann1", f"/api/v1/inspections/{insp['id']}/items/{item}", json={"verdict": "ok"}),
                   403)
    center.problem(center.get("globex-ops", f"/api/v1/batches/{batch}/inspections"), 404)
    # a reviewer of another project is still a worker without this project's review skill
    center.problem(center.get("rev1", f"/api/v1/inspections/{insp['id']}"), 403)
    # the center's lead may judge
    assert center.post("lead", f"/api/v1/inspections/{insp['id']}/items/{item}",
                       json={"verdict": "ok"}).status_code == 200
    # the report: another tenant 404, a worker 403
    center.problem(center.get("globex-ops", "/api/v1/quality/report?project=acme-ten"), 404)
    center.problem(center.get("ann1", "/api/v1/quality/report?project=acme-ten"), 403)
    center.problem(center.post("ann1", "/api/v1/projects/acme-ten/suspicious", json={}), 403)
    center.problem(center.post("acme-ops", "/api/v1/projects/acme-ten/suspicious", json={}), 403)


# --- suspicious answers ---------------------------------------------------------------------------------


def test_suspicious_answers_are_routed_to_review(center: Center) -> None:
    """Three workers on each item: the odd one out is flagged and gets a review task; a model's
    probabilities flag an answer it confidently disagrees with."""
    probs = {1: {"positive": 0.95, "negative": 0.05}, 2: {"positive": 0.9, "negative": 0.1},
             3: {"positive": 0.05, "negative": 0.95}, 4: {"positive": 0.1, "negative": 0.9}}
    make_batch(center, "acme-sus", 4, workflow="annotate(overlap=3)", workers=("ann1", "ann2", "ann3"),
               payload=lambda i: {"text": f"t{i}", "meta": {"model_probs": probs[i]}})
    answer_all(center, "ann1", "acme-sus", POS)
    answer_all(center, "ann2", "acme-sus", POS)
    # ann3 says negative on item 1 (outvoted; the model agrees with the others) and item 2
    answer_all(center, "ann3", "acme-sus", lambda lease: NEG if lease["item"]["external_id"] in
               ("acme-sus-1", "acme-sus-2") else POS)
    center.problem(center.post("manager", "/api/v1/projects/acme-sus/suspicious", json={"threshold": 2}), 422,
                   field="threshold")
    center.problem(center.post("manager", "/api/v1/projects/acme-sus/suspicious", json={"method": "x"}), 422,
                   field="method")
    out = center.post("manager", "/api/v1/projects/acme-sus/suspicious", json={"threshold": 0.4}).json()
    flagged = {(f["external_id"], f["worker"], f["reason"]) for f in out["flagged"]}
    # aggregate: ann3 on items 1 and 2; the model: everyone answered positive on items 3 and 4
    assert ("acme-sus-1", "ann3", "aggregate") in flagged and ("acme-sus-2", "ann3", "aggregate") in flagged
    assert {(e, r) for e, _w, r in flagged if e in ("acme-sus-3", "acme-sus-4")} == {("acme-sus-3", "model"),
                                                                                    ("acme-sus-4", "model")}
    assert out["routed"] == len(out["flagged"]) and out["already_in_review"] == 0
    with center.db.read() as conn:
        pending = conn.execute(select(tables.tasks.c.target_submission_id).where(
            tables.tasks.c.kind == "review", tables.tasks.c.state == "ready")).scalars().all()
    assert sorted(pending) == sorted(f["submission_id"] for f in out["flagged"])
    # again: nothing new routed, the same answers already wait for review
    again = center.post("lead", "/api/v1/projects/acme-sus/suspicious", json={"threshold": 0.4}).json()
    assert again["routed"] == 0 and again["already_in_review"] == len(out["flagged"])
    # the flagged items are in work again; a reviewer rejects ann3's answer on item 1, ann3 fixes it and
    # the item is done again (no review stage in this workflow: the review was in the senior stage,
    # whose rework is final)
    with center.db.write() as conn:
        accounts.grant(conn, None, username="rev1", project_slug="acme-sus", skill="review")
    assert item_states_of(center, "acme-sus") == {"active": 4}
    target = next(f for f in out["flagged"] if f["external_id"] == "acme-sus-1")
    for _ in range(4):  # rev1 may review each item once; accept the others on the way
        lease = center.lease("rev1", "acme-sus")
        hit = lease["item"]["id"] == target["item_id"]
        verdict = {"verdict": "reject", "error_tags": ["wrong_class"]} if hit else {"verdict": "accept"}
        resp = center.post("rev1", f"/api/v1/leases/{lease['lease_id']}/review",
                           json={**verdict, "idempotency_key": f"rev-{lease['lease_id']}"})
        assert resp.status_code == 200, resp.text
        if hit:
            assert lease["review_of"]["submission_id"] == target["submission_id"]
            assert lease["review_of"]["answer"]["classes"] == ["negative"]
            break
    else:
        raise AssertionError("the routed review of item 1 never came")
    rework = center.lease("ann3", "acme-sus")
    assert rework["item"]["id"] == target["item_id"] and "rework_of" in rework
    assert center.submit("ann3", rework["lease_id"], POS).status_code == 200
    with center.db.read() as conn:
        state = conn.execute(select(tables.items.c.state).where(tables.items.c.id == target["item_id"])).scalar_one()
    assert state == "done"
    # a work type without classes has nothing to disagree with
    center.problem(center.post("manager", "/api/v1/projects/globex-tickets/suspicious", json={}), 422,
                   field="project")


# --- the report on a small known scenario --------------------------------------------------------------


def test_report_numbers_on_a_known_scenario(center: Center) -> None:
    """Two workers on 4 items, agreeing on 3 of them; gold results and reviews written directly."""
    batch = make_batch(center, "acme-rep", 4, workflow="annotate(overlap=2)", workers=("ann1", "ann2"))
    answer_all(center, "ann1", "acme-rep", POS)
    answer_all(center, "ann2", "acme-rep", lambda lease: NEG if lease["item"]["external_id"] == "acme-rep-4"
               else POS)
    pid = center.seed.projects["acme-rep"]
    with center.db.write() as conn:
        gold_item = conn.execute(tables.items.insert().returning(tables.items.c.id), {
            "client_id": center.seed.clients["acme"], "project_id": pid, "external_id": "g1",
            "payload": {"text": "g"}, "deadline": _now(), "created_at": _now(), "gold": True}).scalar_one()
        subs = {r.user_id: r.id for r in conn.execute(select(tables.submissions).where(
            tables.submissions.c.project_id == pid))}
        for user, passed in ((center.seed.users["ann1"], True), (center.seed.users["ann2"], False)):
            conn.execute(tables.gold_results.insert(), {
                "client_id": center.seed.clients["acme"], "project_id": pid, "item_id": gold_item, "user_id": user,
                "submission_id": subs[user], "score": 1.0 if passed else 0.0, "passed": passed, "at": _now()})
    rep = center.get("manager", f"/api/v1/quality/report?project=acme-rep&batch={batch}").json()
    assert rep["items"] == {"answered": 4, "answers": 8}
    assert rep["gold"]["n"] == 2 and rep["gold"]["passed"] == 1 and rep["gold"]["rate"] == 0.5
    # Krippendorff's alpha, nominal, 4 items x 2 coders, one disagreement: 1 - D_o/D_e
    # pairable values: 7 positive, 1 negative (n = 8); D_o = 2/8... computed by the krippendorff package
    import krippendorff

    expected = krippendorff.alpha(reliability_data=[[0, 0, 0, 0], [0, 0, 0, 1]], level_of_measurement="nominal")
    assert rep["agreement"]["items"] == 4 and rep["agreement"]["alpha"] == pytest.approx(expected, abs=1e-4)
    workers = {w["username"]: w for w in rep["workers"]}
    assert workers["ann1"]["gold"]["rate"] == 1.0 and workers["ann2"]["gold"]["rate"] == 0.0
    assert workers["ann1"]["answers"] == 4 and workers["ann1"]["agreement"]["rate"] == 0.75
    csv_text = center.get("manager", f"/api/v1/quality/report?project=acme-rep&batch={batch}&format=csv").text
    assert csv_text.startswith("section,name,value,n,low,high\n")
    assert "worker_gold,ann1,1.0,1," in csv_text and "gold,accuracy,0.5,2," in csv_text
    client_csv = center.get("acme-ops", f"/api/v1/quality/report?project=acme-rep&batch={batch}&format=csv").text
    assert "worker_" not in client_csv and "ann1" not in client_csv


def _now() -> Any:
    from seatflow.domain.clock import utcnow

    return utcnow()


def test_inspections_table_is_on_the_shared_metadata() -> None:
    assert inspections.name in tables.metadata.tables


# --- the page --------------------------------------------------------------------------------------------


def _page(center: Center, username: str, url: str, lang: str = "en") -> Any:
    from .test_web import login

    assert login(center, username).status_code == 303
    switch = center.client.post("/settings/language", data={"locale": lang, "next": "/"}, follow_redirects=False)
    assert switch.status_code == 303
    return center.client.get(url)


def test_report_page_client_staff_worker_and_languages(center: Center) -> None:
    batch = make_batch(center, "acme-web", 4, workflow="annotate(overlap=2)", workers=("ann1", "ann2"))
    answer_all(center, "ann1", "acme-web", POS)
    answer_all(center, "ann2", "acme-web", lambda lease: NEG if lease["item"]["external_id"] == "acme-web-4"
               else POS)
    insp = center.post("acme-ops", f"/api/v1/batches/{batch}/inspections", json={"aql": 10}).json()
    for s in insp["sample"]:
        center.post("acme-ops", f"/api/v1/inspections/{insp['id']}/items/{s['item_id']}",
                    json={"verdict": "defective", "error_tags": ["wrong_class"]})
    url = f"/quality/report?project=acme-web&batch={batch}"
    client = _page(center, "acme-ops", url)
    assert client.status_code == 200
    html = client.text
    assert 'id="report-totals"' in html and 'id="inspections"' in html and 'data-state="rejected"' in html
    assert 'id="chart-findings"' in html and "<svg" in html and "wrong_class" in html
    assert 'id="workers"' not in html and "ann1" not in html and "ann2" not in html
    assert "/api/v1/quality/report?project=acme-web&amp;batch=" in html and "format=csv" in html
    # the download works with the page's session
    csv_text = center.client.get(f"/api/v1/quality/report?project=acme-web&batch={batch}&format=csv").text
    assert "inspection_finding,wrong_class" in csv_text
    staff = _page(center, "manager", url).text
    assert 'id="workers"' in staff and 'data-worker="ann1"' in staff and 'id="chart-workers"' in staff
    zh = _page(center, "acme-ops", url, lang="zh_CN").text
    assert "质量报告" in zh and "验收抽检" in zh and "已拒收" in zh
    assert _page(center, "ann1", url).status_code == 403
    assert _page(center, "globex-ops", url).status_code == 404
    assert _page(center, "acme-ops", "/quality/report?project=acme-web&batch=abc").status_code == 422
    chooser = _page(center, "acme-ops", "/quality/report")  # several projects: the chooser
    assert chooser.status_code == 200 and 'id="report-totals"' not in chooser.text
    only = _page(center, "globex-ops", "/quality/report")  # one project: its report at once
    assert only.status_code == 200 and 'id="report-totals"' in only.text and "globex-tickets" in only.text


def test_inspection_pages_start_and_judge(center: Center) -> None:
    batch = make_batch(center, "acme-insp", 3)
    # not delivered yet: the form is refused with the page's own message
    resp = _page(center, "acme-ops", f"/quality/report?project=acme-insp&batch={batch}")
    assert 'id="start-inspection"' not in resp.text and "3 items of this batch are still in work" in resp.text
    refused = center.client.post("/quality/inspections", data={"batch": str(batch), "aql": "1.0", "level": "II"})
    assert refused.status_code == 409 and "some of its items are still in work" in refused.text
    answer_all(center, "ann1", "acme-insp")
    bad = center.client.post("/quality/inspections", data={"batch": str(batch), "aql": "1.2", "level": "II"})
    assert bad.status_code == 422 and "Choose an AQL from the list." in bad.text
    started = center.client.post("/quality/inspections", data={"batch": str(batch), "aql": "1.0", "level": "II",
                                                               "on_reject": "defective"}, follow_redirects=False)
    assert started.status_code == 303
    url = started.headers["location"]
    page = center.client.get(url)
    assert page.status_code == 200 and page.text.count('data-verdict=""') == 3  # n = 13 reaches the lot: all 3
    inspection_id = int(url.rsplit("/", 1)[1])
    items = [i for i in center.get("acme-ops", f"/api/v1/inspections/{inspection_id}").json()["sample"]]
    first = items[0]["item_id"]
    no_tag = center.client.post(f"{url}/items/{first}", data={"verdict": "defective", "error_tags": ""})
    assert no_tag.status_code == 422 and "needs an error tag or a comment" in no_tag.text
    outside = center.client.post(f"{url}/items/999999", data={"verdict": "ok"})
    assert outside.status_code == 422 and "not in the sample" in outside.text
    judged = center.client.post(f"{url}/items/{first}", data={"verdict": "defective", "error_tags": "wrong_class, typo",
                                                             "comment": "negative"}, follow_redirects=False)
    assert judged.status_code == 303
    for s in items[1:]:
        center.client.post(f"{url}/items/{s['item_id']}", data={"verdict": "ok"})
    done = center.client.get(url).text
    assert 'id="inspection-state">Rejected<' in done and "wrong_class, typo" in done and "<form" not in \
        done.split('id="sample"')[1]
    zh = _page(center, "acme-ops", url, lang="zh_CN").text
    assert "验收抽检" in zh and "已拒收" in zh
    # the defective item is in rework: no inspection can start until it is done; then the form is back
    report = _page(center, "acme-ops", f"/quality/report?project=acme-insp&batch={batch}").text
    assert 'id="start-inspection"' not in report and "1 items of this batch are still in work" in report
    answer_all(center, "ann1", "acme-insp")
    assert 'id="start-inspection"' in center.client.get(f"/quality/report?project=acme-insp&batch={batch}").text
    assert 'id="start-inspection"' not in _page(center, "manager", "/quality/report?project=acme-insp").text
    assert 'id="start-inspection"' not in _page(center, "lead", f"/quality/report?project=acme-insp&batch={batch}"
                                                ).text
    assert _page(center, "ann1", url).status_code == 403
    assert _page(center, "globex-ops", url).status_code == 404
    assert center.client.post("/quality/inspections", data={"batch": str(batch)}).status_code == 404
