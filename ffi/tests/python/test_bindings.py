"""The Python bindings of gridsync-ffi against a real relay: records, cases, callbacks,
sync between two devices, and typed errors."""

import os
import subprocess
import threading
import time

import pytest

from conftest import GRID
from gridsync_ffi import (
    ActionKind, ActionName, Address, CaseActionInput, CaseFilter, CaseStatus,
    ChangeListener, FieldValue, FollowUp, GeoPoint, GridsyncError, GridsyncReplica,
    HouseholdField, Level, LinkState,
    NewCase, NewHousehold, NewVisit, RelayConfig, RelayTrust, Role, SyncSession, Tier,
    TriageClass, VisitMode,
)

DAY = 86_400_000


def now_ms() -> int:
    return int(time.time() * 1000)


class Recorder(ChangeListener):
    """Collects callbacks (they arrive on the writer's or a sync thread)."""

    def __init__(self):
        self.changes = []
        self.statuses = []
        self.lock = threading.Lock()
        self.remote_seen = threading.Event()

    def on_records_changed(self, ids, remote):
        with self.lock:
            self.changes.append((list(ids), remote))
        if remote:
            self.remote_seen.set()

    def on_sync_status(self, status):
        with self.lock:
            self.statuses.append(status)


def household(head="李秀英", tier=Tier.RED):
    return NewHousehold(
        grid=GRID,
        address=Address.RURAL(group="3组", courtyard="李家院", number="12"),
        head=head,
        tier=tier,
        tags=["留守老人"],
        contacts=["wang"],
    )


def visit(household_id, at):
    return NewVisit(
        household=household_id, at=at, mode=VisitMode.DOOR_TO_DOOR,
        notes="老人身体尚可，药已按时服用，孙子周末回来。",
        follow_ups=[FollowUp(text="下周送药", due=at + 7 * DAY)],
        geo=GeoPoint(lat=32.68, lon=109.02),
    )


def relay_config(relay, token):
    return RelayConfig(
        address=relay.address, trust=RelayTrust.PINNED(fingerprint=relay.fingerprint),
        token=token,
    )


def open_store(tmp_path, name):
    """A store that writes as worker wang in every role in GRID until the relay says otherwise."""
    r = GridsyncReplica.open(str(tmp_path / name), name)
    r.set_setup_identity("wang", "王芳", list(Role), GRID)
    return r


def test_households_visits_cases_and_callbacks(tmp_path):
    r = open_store(tmp_path, "phone-a")
    rec = Recorder()
    r.add_listener(rec)
    t = now_ms()
    h = r.register_household(household())
    assert h.startswith("h-")
    v1 = r.log_visit(visit(h, t - 20 * DAY))
    v2 = r.log_visit(visit(h, t - 10 * DAY))
    assert [s.id for s in r.visits_of(h, 10)] == [v2, v1]
    assert rec.changes[:3] == [([h], False), ([v1], False), ([v2], False)]

    # Red and visited 10 days ago (due 3 days ago by its tier), but the first visit's
    # follow-up has been open since 13 days ago: that comes first.
    due = r.due_visits("wang", t, 0)
    assert [d.household for d in due] == [h]
    assert due[0].days_overdue == 13 and due[0].tier == Tier.RED
    assert (due[0].follow_up.visit, due[0].follow_up.index) == (v1, 0)
    assert due[0].follow_up.text == "下周送药"
    r.set_follow_up_done(v1, 0, True)
    assert r.due_visits("wang", t, 0)[0].days_overdue == 3

    c = r.report_case(NewCase(
        grid=GRID, role=Role.GRID_WORKER, household=h, title="楼道堆放杂物",
        description="三楼楼道堆放纸箱，影响通行。", category="环境卫生", at=t,
    ))
    staff = lambda kind: CaseActionInput(role=Role.COMMUNITY_STAFF, kind=kind)
    assert ActionName.ACCEPT in r.allowed_actions(c, Role.COMMUNITY_STAFF)
    assert r.act_on_case(c, staff(ActionKind.ACCEPT())).status == CaseStatus.ACCEPTED
    case = r.act_on_case(c, staff(ActionKind.TRIAGE(
        triage_class=TriageClass.SMALL, level=None, deadline=None, assignee="wang")))
    assert case.status == CaseStatus.TRIAGED and case.level == Level.COMMUNITY
    assert [e.kind.is_triage() for e in case.timeline] == [False, False, True]
    assert [s.id for s in r.list_cases(CaseFilter(open_only=True))] == [c]
    assert r.pending().changes == 7  # 3 records, the tick, 3 case steps


def test_a_duplicate_household_is_retired_and_reinstated(tmp_path):
    r = open_store(tmp_path, "phone-a")
    kept = r.register_household(household())
    twice = r.register_household(household())
    r.retire_household(twice, kept, "登记了两次")
    assert [s.id for s in r.list_households(None)] == [kept]
    retired = r.get_household(twice).retired
    assert (retired.by, retired.duplicate_of, retired.reason) == ("wang", kept, "登记了两次")
    with pytest.raises(GridsyncError.InvalidInput) as e:
        r.log_visit(visit(twice, now_ms()))
    assert kept in e.value.reason
    with pytest.raises(GridsyncError.InvalidInput) as e:
        r.log_visit(visit(kept, now_ms() + 400 * DAY))
    assert "future" in e.value.reason
    r.reinstate_household(twice)
    assert r.get_household(twice).retired is None
    assert len(r.list_households(None)) == 2


def test_bad_input_raises_the_right_error(tmp_path):
    r = open_store(tmp_path, "phone-a")
    with pytest.raises(GridsyncError.InvalidInput) as e:
        r.register_household(household(head="  "))
    assert e.value.field == "head" and "empty" in e.value.reason
    with pytest.raises(GridsyncError.NotFound) as e:
        r.get_household("h-0123456789abcdef0123456789abcdef")
    assert e.value.what == "household"
    c = r.report_case(NewCase(
        grid=GRID, role=Role.GRID_WORKER, household=None, title="路灯坏了",
        description="", category="市政设施", at=now_ms(),
    ))
    worker = CaseActionInput(role=Role.GRID_WORKER, kind=ActionKind.ACCEPT())
    with pytest.raises(GridsyncError.NotAllowed) as e:
        r.act_on_case(c, worker)
    assert "grid_worker may not accept" in e.value.reason
    assert r.get_case(c).status == CaseStatus.REPORTED


def test_two_devices_sync_through_the_relay(relay, tmp_path):
    a = open_store(tmp_path, "phone-a")
    h = a.register_household(household(head="陈建国", tier=Tier.YELLOW))
    a.log_visit(visit(h, now_ms() - DAY))
    rec_a = Recorder()
    a.add_listener(rec_a)
    session_a = SyncSession(a, relay_config(relay, relay.enroll("phone-a")))
    report = session_a.sync_once()
    assert report.acknowledged == 2 and report.pushed == 2 and report.refused == []
    assert a.pending().changes == 0 and a.pending().refused == 0
    assert a.refused() == []
    assert session_a.status().state == LinkState.OFFLINE
    assert a.last_sync() is not None
    assert rec_a.statuses and rec_a.statuses[-1].pending_changes == 0

    b = open_store(tmp_path, "phone-b")
    rec_b = Recorder()
    b.add_listener(rec_b)
    session_b = SyncSession(b, relay_config(relay, relay.enroll("phone-b")))
    report = session_b.sync_once()
    assert report.caught_up and report.documents_changed >= 2
    assert [s.head for s in b.list_households(None)] == ["陈建国"]
    assert b.get_household(h).tier == Tier.YELLOW
    assert rec_b.remote_seen.is_set()

    # Live: a write on A reaches B without asking.
    rec_b.remote_seen.clear()
    session_b.start_live()
    session_a.start_live()
    assert session_a.is_live()
    time.sleep(0.5)
    a.change_tier(h, Tier.RED, "独居老人摔伤")
    assert rec_b.remote_seen.wait(15), "B heard nothing from A while live"
    deadline = time.time() + 5
    while b.get_household(h).tier != Tier.RED and time.time() < deadline:
        time.sleep(0.05)
    assert b.get_household(h).tier == Tier.RED
    session_a.stop_live()
    session_b.stop_live()
    assert not session_a.is_live()


def test_two_offline_tier_changes_conflict_until_settled(relay, tmp_path):
    a = open_store(tmp_path, "tier-a")
    b = open_store(tmp_path, "tier-b")
    session_a = SyncSession(a, relay_config(relay, relay.enroll("tier-a")))
    session_b = SyncSession(b, relay_config(relay, relay.enroll("tier-b")))
    h = a.register_household(household(head="陈建国", tier=Tier.YELLOW))
    session_a.sync_once()
    session_b.sync_once()
    a.change_tier(h, Tier.RED, "独居老人摔伤")
    b.change_tier(h, Tier.GREEN, "子女返乡照料")
    for s in (session_a, session_b, session_a):
        s.sync_once()
    for r in (a, b):
        conflicts = r.household_conflicts(h)
        assert [c.field for c in conflicts] == [HouseholdField.TIER]
        values = conflicts[0].values
        assert all(isinstance(v, FieldValue.COLOUR) for v in values), values
        assert sorted(v.value.name for v in values) == ["GREEN", "RED"]
        assert len(r.get_household(h).tier_history) == 3
    choice = [v.value for v in b.household_conflicts(h)[0].values].index(Tier.RED)
    b.resolve_conflict(h, HouseholdField.TIER, choice)
    session_b.sync_once()
    session_a.sync_once()
    for r in (a, b):
        assert r.household_conflicts(h) == []
        household_now = r.get_household(h)
        assert household_now.tier == Tier.RED
        assert len(household_now.tier_history) == 4


def test_an_unknown_token_is_denied(relay, tmp_path):
    r = open_store(tmp_path, "phone-x")
    session = SyncSession(r, relay_config(relay, "not-a-token"))
    with pytest.raises(GridsyncError.Denied):
        session.sync_once()


def test_a_malformed_fingerprint_is_invalid_input(relay, tmp_path):
    r = open_store(tmp_path, "phone-x")
    cfg = RelayConfig(address=relay.address, trust=RelayTrust.PINNED(fingerprint="abc"),
                      token="t")
    with pytest.raises(GridsyncError.InvalidInput) as e:
        SyncSession(r, cfg)
    assert e.value.field == "fingerprint"


def test_a_failing_listener_does_not_fail_the_write(tmp_path):
    class Broken(ChangeListener):
        def on_records_changed(self, ids, remote):
            raise RuntimeError("bug in the app's listener")

        def on_sync_status(self, status):
            raise RuntimeError("bug in the app's listener")

    r = open_store(tmp_path, "phone-a")
    r.add_listener(Broken())
    rec = Recorder()
    r.add_listener(rec)
    h = r.register_household(household())
    assert r.get_household(h).head == "李秀英"
    assert rec.changes == [([h], False)]


def test_an_encrypted_store_opens_only_with_its_key_and_a_remote_wipe_erases_it(relay, tmp_path):
    key, other = os.urandom(32), os.urandom(32)
    path = str(tmp_path / "lost-phone")
    r = GridsyncReplica.open_encrypted(path, "lost-phone", key)
    r.set_setup_identity("wang", "王芳", list(Role), GRID)
    h = r.register_household(household(head="上官婉清"))
    r.rekey(other)
    with pytest.raises(GridsyncError.WrongKey):
        GridsyncReplica.open_encrypted(str(tmp_path / "lost-phone"), "lost-phone", key)
    session = SyncSession(r, relay_config(relay, relay.enroll("lost-phone")))
    session.sync_once()
    # The operator wipes the lost phone; at its next contact it erases itself.
    subprocess.run(
        [relay.exe, "--data-dir", str(relay.data_dir), "device", "wipe", "lost-phone"],
        check=True, capture_output=True, text=True, timeout=30,
    )
    with pytest.raises(GridsyncError.Erased):
        session.sync_once()
    with pytest.raises(GridsyncError.Erased):
        r.get_household(h)
    assert not os.path.exists(path)
    listed = subprocess.run(
        [relay.exe, "--data-dir", str(relay.data_dir), "device", "list"],
        check=True, capture_output=True, text=True, timeout=30,
    ).stdout
    assert any("lost-phone" in l and "wiped at" in l for l in listed.splitlines()), listed
