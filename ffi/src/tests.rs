//! The exports driven from Rust, as an app would: the flow, errors, and the re-entrancy the
//! listener documentation promises (reads and writes from inside a callback).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::*;

const GRID: &str = "ankang/hanbin/laocheng/xinhua/g01";
const DAY: i64 = 86_400_000;
const T0: i64 = 1_760_000_000_000;

/// A replica set up for worker wang in every role in [`GRID`], as an app does before the
/// first sync.
fn open(dir: &tempfile::TempDir) -> Arc<GridsyncReplica> {
    let r = open_unidentified(dir);
    let roles = vec![
        Role::GridWorker,
        Role::GridLeader,
        Role::CommunityStaff,
        Role::StreetStaff,
        Role::Supervisor,
    ];
    (r.set_setup_identity("wang".into(), "王芳".into(), roles, GRID.into())).unwrap();
    r
}

/// A replica that has neither met the relay nor been given a setup identity.
fn open_unidentified(dir: &tempfile::TempDir) -> Arc<GridsyncReplica> {
    let path = dir.path().join("store").to_string_lossy().into_owned();
    GridsyncReplica::open(path, "phone-1".into()).unwrap()
}

fn household(head: &str) -> NewHousehold {
    NewHousehold {
        grid: GRID.into(),
        address: Address::Rural {
            group: "3组".into(),
            courtyard: "李家院".into(),
            number: "12".into(),
        },
        head: head.into(),
        members: vec![],
        phone: String::new(),
        tier: Tier::Red,
        tags: vec!["留守老人".into()],
        contacts: vec!["wang".into()],
    }
}

fn visit(h: &str, at: i64) -> NewVisit {
    NewVisit {
        household: h.into(),
        at,
        mode: VisitMode::DoorToDoor,
        notes: "老人身体尚可，药已按时服用。".into(),
        findings: vec![],
        follow_ups: vec![FollowUp {
            text: "下周送药".into(),
            due: at + 7 * DAY,
            done: false,
        }],
        geo: Some(GeoPoint {
            lat: 32.68,
            lon: 109.02,
        }),
    }
}

/// Reads the household back from inside the callback, and writes once (a tier change)
/// on the first local change, proving neither deadlocks.
#[derive(Default)]
struct Reentrant {
    replica: OnceLock<Arc<GridsyncReplica>>,
    calls: AtomicUsize,
    seen: Mutex<Vec<String>>,
}

impl ChangeListener for Reentrant {
    fn on_records_changed(&self, ids: Vec<String>, remote: bool) {
        assert!(!remote);
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let r = self.replica.get().unwrap();
        for id in &ids {
            if id.starts_with("h-") {
                let h = r.get_household(id.clone()).unwrap();
                self.seen.lock().unwrap().push(h.head);
                if n == 0 {
                    r.change_tier(id.clone(), Tier::Yellow, "好转".into())
                        .unwrap();
                }
            }
        }
        let _ = r.add_listener(Arc::new(Quiet));
    }

    fn on_sync_status(&self, _status: SyncStatus) {}
}

struct Quiet;

impl ChangeListener for Quiet {
    fn on_records_changed(&self, _ids: Vec<String>, _remote: bool) {}
    fn on_sync_status(&self, _status: SyncStatus) {}
}

#[test]
fn a_listener_may_read_and_write_the_replica_from_its_callback() {
    let dir = tempfile::tempdir().unwrap();
    let r = open(&dir);
    let l = Arc::new(Reentrant::default());
    l.replica.set(r.clone()).ok();
    let handle = r.add_listener(l.clone());
    let id = r.register_household(household("李秀英")).unwrap();
    // The registration and the tier change made inside the first callback.
    assert_eq!(l.calls.load(Ordering::SeqCst), 2);
    assert_eq!(*l.seen.lock().unwrap(), vec!["李秀英", "李秀英"]);
    assert_eq!(r.get_household(id).unwrap().tier, Tier::Yellow);
    assert!(r.remove_listener(handle));
    assert!(!r.remove_listener(handle));
}

#[test]
fn visits_cases_and_due_lists_cross_the_boundary() {
    let dir = tempfile::tempdir().unwrap();
    let r = open(&dir);
    let h = r.register_household(household("李秀英")).unwrap();
    let v = r.log_visit(visit(&h, T0)).unwrap();
    let back = r.get_visit(v.clone()).unwrap();
    assert_eq!(back.household, h);
    assert_eq!(back.follow_ups.len(), 1);
    r.set_follow_up_done(v, 0, true).unwrap();
    assert_eq!(r.visits_of(h.clone(), 10).unwrap()[0].open_follow_ups, 0);
    let due = r.due_visits(Some("wang".into()), T0 + 8 * DAY, 0).unwrap();
    assert_eq!(due[0].household, h);
    assert_eq!(due[0].days_overdue, 1);

    let c = r
        .report_case(NewCase {
            grid: GRID.into(),
            role: Role::GridWorker,
            household: Some(h),
            title: "楼道堆放杂物".into(),
            description: String::new(),
            category: "环境卫生".into(),
            at: T0,
        })
        .unwrap();
    let act = |role, kind| CaseActionInput {
        role,
        at: Some(T0 + 1000),
        kind,
    };
    let e = r
        .act_on_case(c.clone(), act(Role::GridWorker, ActionKind::Accept))
        .unwrap_err();
    assert!(matches!(e, GridsyncError::NotAllowed { .. }), "{e}");
    assert!(e.to_string().contains("grid_worker may not accept"), "{e}");
    let allowed = r.allowed_actions(c.clone(), Role::CommunityStaff).unwrap();
    assert!(allowed.contains(&ActionName::Accept));
    r.act_on_case(c.clone(), act(Role::CommunityStaff, ActionKind::Accept))
        .unwrap();
    let triage = ActionKind::Triage {
        triage_class: TriageClass::Small,
        level: None,
        deadline: None,
        assignee: Some("wang".into()),
    };
    let case = r.act_on_case(c, act(Role::CommunityStaff, triage)).unwrap();
    assert_eq!(case.status, CaseStatus::Triaged);
    assert_eq!(case.level, Some(Level::Community));
    assert_eq!(case.timeline.len(), 3);
    let open = CaseFilter {
        open_only: true,
        ..CaseFilter::default()
    };
    assert_eq!(r.list_cases(open).unwrap().len(), 1);
    assert_eq!(r.pending().unwrap().changes, 6);
}

#[test]
fn a_replica_with_no_identity_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let r = open_unidentified(&dir);
    let e = r.register_household(household("李秀英")).unwrap_err();
    assert!(matches!(e, GridsyncError::NotAllowed { .. }), "{e}");
    assert_eq!(r.pending().unwrap().changes, 0);
    assert!(r.list_households(None).unwrap().is_empty());
}

#[test]
fn bad_input_is_an_invalid_input_error_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let r = open(&dir);
    let e = r.register_household(household("  ")).unwrap_err();
    assert!(
        matches!(&e, GridsyncError::InvalidInput { field, .. } if field == "head"),
        "{e:?}"
    );
    let e = r.get_household("nonsense".into()).unwrap_err();
    assert!(matches!(&e, GridsyncError::InvalidInput { field, .. } if field == "id"));
    let missing = "h-0123456789abcdef0123456789abcdef".to_string();
    let e = r.get_household(missing).unwrap_err();
    assert!(matches!(&e, GridsyncError::NotFound { what, .. } if what == "household"));
    let mut h = household("李秀英");
    h.grid = "a//b".into();
    let e = r.register_household(h).unwrap_err();
    assert!(matches!(&e, GridsyncError::InvalidInput { field, .. } if field == "grid"));
}

#[test]
fn a_sync_session_fails_cleanly_when_no_relay_answers_and_drops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let r = open(&dir);
    let relay = RelayConfig {
        address: "127.0.0.1:9".into(),
        server_name: "gridsync-relay".into(),
        trust: RelayTrust::Pinned {
            fingerprint: format!("sha256:{}", "ab".repeat(32)),
        },
        token: "token".into(),
    };
    let bad = RelayConfig {
        trust: RelayTrust::Pinned {
            fingerprint: "sha256:xyz".into(),
        },
        ..relay.clone()
    };
    let e = SyncSession::new(r.clone(), bad).err().unwrap();
    assert!(matches!(&e, GridsyncError::InvalidInput { field, .. } if field == "fingerprint"));
    let s = SyncSession::new(r.clone(), relay).unwrap();
    assert_eq!(s.status().state, LinkState::Offline);
    s.start_live().unwrap();
    assert!(s.is_live());
    s.stop_live().unwrap();
    assert!(!s.is_live());
    drop(s);
    r.register_household(household("李秀英")).unwrap();
}

#[test]
fn a_refused_record_shows_its_reason_is_listed_and_is_discarded_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let r = open(&dir);
    let kept = r.register_household(household("王秀英")).unwrap();
    let h = r.register_household(household("李秀英")).unwrap();
    let e = r.discard_refused(h.clone()).unwrap_err();
    assert!(matches!(&e, GridsyncError::InvalidInput { field, .. } if field == "id"));
    // As a sync session records the relay's refusal of the second registration.
    let item = (r.core().outbox_after(None, usize::MAX).unwrap().into_iter())
        .find(|i| i.change.doc.as_str() == h)
        .unwrap();
    let refusal = gridsync_core::sync::RefusedChange {
        seq: item.seq,
        doc: item.change.doc,
        hash: item.change.hash,
        reason: "outside this device's scopes".into(),
    };
    r.core().refuse(&[refusal]).unwrap();
    assert_eq!(
        r.record_sync_state(h.clone()).unwrap(),
        RecordSyncState::Refused {
            reason: "outside this device's scopes".into()
        }
    );
    let p = r.pending().unwrap();
    assert_eq!((p.changes, p.refused), (1, 1));
    let listed = r.refused().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (&listed[0].id, listed[0].kind, listed[0].whole_record),
        (&h, RecordKind::Household, true)
    );
    let gone = r.discard_refused(h.clone()).unwrap();
    assert!(gone.deleted);
    assert!(matches!(
        r.get_household(h).unwrap_err(),
        GridsyncError::NotFound { .. }
    ));
    assert_eq!(r.list_households(None).unwrap().len(), 1);
    assert_eq!(r.get_household(kept).unwrap().head, "王秀英");
    assert!(r.refused().unwrap().is_empty());
}

#[test]
fn an_encrypted_store_opens_with_its_key_rekeys_and_erases() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store").to_string_lossy().into_owned();
    let (key, next) = (vec![7u8; 32], vec![9u8; 32]);
    let r = GridsyncReplica::open_encrypted(path.clone(), "phone-1".into(), key.clone()).unwrap();
    let roles = vec![Role::GridWorker];
    r.set_setup_identity("wang".into(), "王芳".into(), roles, GRID.into())
        .unwrap();
    let h = r.register_household(household("王秀英")).unwrap();
    r.rekey(next.clone()).unwrap();
    drop(r);
    let wrong = GridsyncReplica::open_encrypted(path.clone(), "phone-1".into(), key);
    assert!(matches!(wrong, Err(GridsyncError::WrongKey { .. })));
    let none = GridsyncReplica::open(path.clone(), "phone-1".into());
    assert!(matches!(none, Err(GridsyncError::WrongKey { .. })));
    let short = GridsyncReplica::open_encrypted(path.clone(), "phone-1".into(), vec![1; 16]);
    assert!(matches!(short, Err(GridsyncError::InvalidInput { .. })));
    let r = GridsyncReplica::open_encrypted(path.clone(), "phone-1".into(), next.clone()).unwrap();
    assert_eq!(r.get_household(h.clone()).unwrap().head, "王秀英");
    r.erase().unwrap();
    assert!(matches!(
        r.get_household(h),
        Err(GridsyncError::Erased { .. })
    ));
    drop(r);
    assert!(!std::path::Path::new(&path).exists());
    // A plaintext store has no key to change.
    let plain = open(&dir);
    assert!(matches!(
        plain.rekey(next),
        Err(GridsyncError::InvalidInput { .. })
    ));
}
