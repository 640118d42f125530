package dev.gridsync.demo.logic

import dev.gridsync.demo.logic.TestKit.test
import java.io.File
import java.nio.file.Files
import java.util.concurrent.Executors
import uniffi.gridsync_ffi.ActionKind
import uniffi.gridsync_ffi.ActionName
import uniffi.gridsync_ffi.Address
import uniffi.gridsync_ffi.CaseStatus
import uniffi.gridsync_ffi.GridsyncReplica
import uniffi.gridsync_ffi.LinkState
import uniffi.gridsync_ffi.NewHousehold
import uniffi.gridsync_ffi.NewVisit
import uniffi.gridsync_ffi.RecordSyncState
import uniffi.gridsync_ffi.Role
import uniffi.gridsync_ffi.SyncSession
import uniffi.gridsync_ffi.Tier
import uniffi.gridsync_ffi.TriageClass
import uniffi.gridsync_ffi.VisitMode

const val GRID = "ankang/hanbin/laocheng/xinhua/g01"
val WANG = WorkerProfile("wang", Role.GRID_WORKER, GRID)
val ZHAO = WorkerProfile("zhao", Role.COMMUNITY_STAFF, GRID)

/** Runs the platform-free layer against the host library and a real relay. */
fun main() {
    val relayExe = System.getenv("GRIDSYNC_RELAY")
    val root = Files.createTempDirectory("gridsync-android-demo").toFile()
    val watchdog = Thread {
        try {
            Thread.sleep(240_000)
        } catch (_: InterruptedException) {
            return@Thread
        }
        TestKit.failSetup("watchdog", IllegalStateException("the tests did not finish within 240 s"))
        TestKit.finish()
    }.apply { isDaemon = true; start() }
    try {
        storeTests(root)
        if (relayExe == null) {
            TestKit.failSetup("sync bar", IllegalStateException("set GRIDSYNC_RELAY to the gridsync-relay binary"))
        } else {
            syncBarTests(root, relayExe)
        }
    } catch (e: Throwable) {
        TestKit.failSetup("setting up", e)
    } finally {
        watchdog.interrupt()
        root.deleteRecursively()
    }
    TestKit.finish()
}

fun household(head: String, tier: Tier, contact: String = "wang") = NewHousehold(
    grid = GRID,
    address = Address.Rural(group = "3组", courtyard = "李家院", number = head.length.toString()),
    head = head,
    tier = tier,
    tags = if (tier == Tier.RED) listOf("留守老人") else emptyList(),
    contacts = listOf(contact),
)

fun oldVisit(h: String, at: Long) = NewVisit(
    household = h, at = at, mode = VisitMode.DOOR_TO_DOOR, notes = "身体尚可，按时服药。",
)

fun storeTests(root: File) {
    val now = System.currentTimeMillis()
    val clock = Clock { now }
    val replica = GridsyncReplica.open(File(root, "phone-wang").path, "phone-wang")
    // One phone, acting in every role (the case flow below takes each step on it).
    replica.setSetupIdentity("wang", "王芳", Role.entries.toList(), GRID)
    val hub = ChangeHub.attach(replica)

    // Households and their last visits (red every 7 days, yellow 30, green 90).
    val red3 = replica.registerHousehold(household("李秀英", Tier.RED))      // 3 days late
    val red1 = replica.registerHousehold(household("张桂兰", Tier.RED))      // 1 day late
    val yellow15 = replica.registerHousehold(household("王建国", Tier.YELLOW)) // 15 days late
    val green10 = replica.registerHousehold(household("刘德明", Tier.GREEN))  // 10 days late
    val yellowNew = replica.registerHousehold(household("陈小梅", Tier.YELLOW)) // never visited: due now
    val redSoon = replica.registerHousehold(household("赵大爷", Tier.RED))    // due in 5 days
    val other = replica.registerHousehold(household("周阿姨", Tier.RED, contact = "li")) // not wang's
    replica.logVisit(oldVisit(red3, now - 10 * DAY_MS))
    replica.logVisit(oldVisit(red1, now - 8 * DAY_MS - 3_600_000))
    replica.logVisit(oldVisit(yellow15, now - 45 * DAY_MS))
    replica.logVisit(oldVisit(green10, now - 100 * DAY_MS))
    replica.logVisit(oldVisit(redSoon, now - 2 * DAY_MS))
    replica.logVisit(oldVisit(other, now - 30 * DAY_MS))

    test("due visits: overdue red before yellow before green, then due now, then upcoming") {
        DueVisitsModel(replica, hub, WANG, clock, horizonDays = 7u).use { m ->
            m.refresh()
            val rows = m.state.value.rows
            expectEq(rows.map { it.head }, listOf("李秀英", "张桂兰", "王建国", "刘德明", "陈小梅", "赵大爷"), "order")
            expectEq(rows.map { it.urgency }, listOf(Urgency.OVERDUE, Urgency.OVERDUE, Urgency.OVERDUE, Urgency.OVERDUE, Urgency.DUE, Urgency.UPCOMING), "urgency")
            expectEq(rows.map { it.daysOverdue }, listOf(3L, 1L, 15L, 10L, 0L, 0L), "days overdue")
            expectEq(rows.map { it.tier }, listOf(Tier.RED, Tier.RED, Tier.YELLOW, Tier.GREEN, Tier.YELLOW, Tier.RED), "tiers")
            expect(rows.none { it.household == other }) { "another worker's household is listed" }
            expectEq(m.state.value.overdueCount, 4, "overdue count")
            // The core orders by due date only: the yellow household 15 days late comes first there.
            val core = replica.dueVisits("wang", now, 7u).map { it.head }
            expectEq(core.first(), "王建国", "core's first")
        }
        DueVisitsModel(replica, hub, WANG, clock, horizonDays = 1u).use { m ->
            m.refresh()
            expect(m.state.value.rows.none { it.household == redSoon }) { "due in 5 days is not due today" }
        }
    }

    test("logging a visit through the form updates the due list and the household's history") {
        val due = DueVisitsModel(replica, hub, WANG, clock, horizonDays = 1u)
        val house = HouseholdModel(replica, hub, red3)
        due.refresh()
        house.refresh()
        expect(due.state.value.rows.any { it.household == red3 }) { "red3 should be due" }
        val before = house.state.value.visits.size
        expectEq(before, 1, "visits before")
        val form = VisitFormModel(replica, WANG, red3, clock)
        form.setMode(VisitMode.PHONE)
        form.setNotes("  电话回访：老人血压平稳，孙子周末回家。  ")
        form.setFindings("药快吃完了\n\n屋顶漏雨")
        form.setFollowUp("下周送药")
        form.setFollowUpDays("5")
        form.submit()
        val id = form.state.value.savedVisitId ?: throw Failure("not saved: ${form.state.value}")
        // Both screens heard the change callback and reloaded; nobody called refresh().
        expect(due.state.value.rows.none { it.household == red3 }) { "still due: ${due.state.value.rows}" }
        expectEq(due.state.value.rows.size, 4, "due today after the visit")
        val visits = house.state.value.visits
        expectEq(visits.size, before + 1, "history size")
        expectEq(visits.first().id, id, "newest visit")
        expectEq(visits.first().mode, VisitMode.PHONE, "mode")
        expectEq(visits.first().openFollowUps, 1u, "open follow-ups")
        expect(house.state.value.unsynced) { "a new visit is pending for the relay" }
        val v = replica.getVisit(id)
        expectEq(v.notes, "电话回访：老人血压平稳，孙子周末回家。", "notes are trimmed")
        expectEq(v.findings, listOf("药快吃完了", "屋顶漏雨"), "findings")
        expectEq(v.followUps.single().due, now + 5 * DAY_MS, "follow-up due")
        due.close()
        house.close()
    }

    test("the visit form refuses bad input before the core and writes nothing") {
        val pending = replica.pending().changes
        val visits = replica.visitsOf(red1, 100u).size
        val form = VisitFormModel(replica, WANG, red1, clock)
        form.setNotes("   ")
        form.setFollowUp("复查")
        form.setFollowUpDays("明天")
        form.setDaysAgo(-1)
        form.submit()
        val s = form.state.value
        expectEq(s.errors, mapOf(VisitField.NOTES to FieldProblem.REQUIRED, VisitField.FOLLOW_UP_DAYS to FieldProblem.OUT_OF_RANGE, VisitField.WHEN to FieldProblem.IN_FUTURE), "errors")
        expect(s.savedVisitId == null && !s.saving) { "saved: $s" }
        expectEq(replica.pending().changes, pending, "pending changes")
        expectEq(replica.visitsOf(red1, 100u).size, visits, "visits")
        form.setNotes("补记")
        expect(VisitField.NOTES !in form.state.value.errors) { "editing a field clears its error" }
        // An unknown household is the core's NotFound, shown as an error state.
        val ghost = VisitFormModel(replica, WANG, "h-0123456789abcdef0123456789abcdef", clock)
        ghost.setNotes("走访")
        ghost.submit()
        expectEq(ghost.state.value.error?.kind, ErrorKind.NOT_FOUND, "unknown household")
    }

    lateinit var caseId: String
    test("a case action the worker's role may not take is refused: an error state, nothing written") {
        val report = CaseReportModel(replica, WANG, household = red3, clock = clock)
        report.setTitle("屋顶漏雨")
        report.submit()
        expectEq(report.state.value.errors, mapOf(CaseField.CATEGORY to FieldProblem.REQUIRED), "category required")
        report.setCategory("sanitation")
        expectEq(report.state.value.suggestedClass, TriageClass.SMALL, "class from the catalogue")
        report.setCategory("facilities")
        report.setDescription("李秀英家屋顶漏雨，老人独居，需尽快修缮。")
        report.addPhoto("/data/photos/roof.jpg")
        report.submit()
        caseId = report.state.value.savedCaseId ?: throw Failure("not reported: ${report.state.value}")

        val detail = CaseDetailModel(replica, hub, WANG, caseId, clock)
        detail.refresh()
        val s0 = detail.state.value
        expectEq(s0.case?.status, CaseStatus.REPORTED, "status")
        expectEq(s0.case?.category, "公共设施", "stored category")
        expectEq(s0.allowed, listOf(ActionName.COMMENT), "a grid worker may only comment on a reported case")
        expectEq(s0.suggestedClass, TriageClass.SMALL, "suggested class from the timeline")
        val timeline = s0.case!!.timeline.size
        val pending = replica.pending().changes

        detail.perform(ActionName.ACCEPT) // not offered to this role, tried anyway (a stale screen)
        val s1 = detail.state.value
        expectEq(s1.error?.kind, ErrorKind.NOT_ALLOWED, "error kind")
        expect(s1.error!!.detail.contains("grid_worker may not accept")) { "message: ${s1.error}" }
        expectEq(s1.failedAction, ActionName.ACCEPT, "failed action")
        expect(!s1.busy) { "still busy" }
        expectEq(s1.case?.timeline?.size, timeline, "timeline after refusal")
        expectEq(replica.getCase(caseId).timeline.size, timeline, "stored timeline")
        expectEq(replica.getCase(caseId).status, CaseStatus.REPORTED, "stored status")
        expectEq(replica.pending().changes, pending, "pending changes")

        detail.perform(ActionName.COMMENT, ActionDraft(text = "  "))
        expectEq(detail.state.value.error?.kind, ErrorKind.INVALID_INPUT, "empty comment")
        expectEq(detail.state.value.error?.field, "text", "field")
        expectEq(replica.pending().changes, pending, "pending after an empty comment")
        detail.dismissError()
        expect(detail.state.value.error == null) { "dismissed" }
        detail.close()
    }

    test("staff triage the case; the list shows status, class and the overdue marker") {
        val worker = CaseDetailModel(replica, hub, WANG, caseId, clock).also { it.refresh() }
        val staff = CaseDetailModel(replica, hub, ZHAO, caseId, clock).also { it.refresh() }
        expect(ActionName.ACCEPT in staff.state.value.allowed && ActionName.REJECT in staff.state.value.allowed) {
            "staff actions: ${staff.state.value.allowed}"
        }
        staff.perform(ActionName.ACCEPT)
        expectEq(staff.state.value.case?.status, CaseStatus.ACCEPTED, "accepted")
        staff.perform(ActionName.TRIAGE, ActionDraft(assignee = "wang")) // class: the reporter's suggestion
        val case = staff.state.value.case!!
        expect(staff.state.value.error == null) { "${staff.state.value.error}" }
        expectEq(case.status, CaseStatus.TRIAGED, "triaged")
        expectEq(case.triageClass, TriageClass.SMALL, "class")
        expectEq(case.assignee, "wang", "assignee")
        expect(case.timeline.last().kind is ActionKind.Triage) { "timeline ${case.timeline}" }
        // The worker's screen heard the change and now offers handling.
        expect(ActionName.START in worker.state.value.allowed) { "worker actions: ${worker.state.value.allowed}" }
        expectEq(worker.state.value.case?.status, CaseStatus.TRIAGED, "worker's view")

        var listNow = now
        val list = CaseListModel(replica, hub, WANG, { listNow })
        list.refresh()
        val row = list.state.value.rows.single { it.id == caseId }
        expectEq(row.status to row.triageClass, CaseStatus.TRIAGED to TriageClass.SMALL, "row")
        expect(!row.overdue && row.deadline != null) { "$row" }
        listNow = row.deadline!! + DAY_MS
        list.setFilter(CaseListFilter.OVERDUE)
        expect(list.state.value.rows.single().let { it.id == caseId && it.overdue }) { "overdue: ${list.state.value.rows}" }
        worker.perform(ActionName.START)
        expectEq(worker.state.value.case?.status, CaseStatus.IN_PROGRESS, "started")
        worker.perform(ActionName.RESOLVE, ActionDraft(text = "联系村委会修缮屋顶"))
        expectEq(list.state.value.rows.single().status, CaseStatus.RESOLVED, "the list follows")
        worker.perform(ActionName.EVALUATE, ActionDraft(satisfied = true))
        expectEq(worker.state.value.error?.kind, ErrorKind.NOT_ALLOWED, "only a supervisor evaluates")
        list.setFilter(CaseListFilter.ALL)
        expectEq(list.state.value.rows.map { it.id }, listOf(caseId), "all cases")
        listOf(worker, staff, list).forEach { it.close() }
    }

    test("relay settings: validation and the operator's JSON") {
        val bad = RelaySettings(address = "relay", fingerprint = "sha256:12", token = "", worker = "wang", grid = GRID)
        expectEq(bad.validate().keys, setOf(RelayField.ADDRESS, RelayField.FINGERPRINT, RelayField.TOKEN), "errors")
        val fp = "sha256:" + "ab".repeat(32)
        val s = RelaySettings.fromJson(
            """{"ok":"enrolled","device":{"name":"wang-phone"},"token":"t0k"}""",
            RelaySettings.fromJson("""{"listening":"10.0.2.2:4433","fingerprint":"$fp"}""", RelaySettings(worker = "wang", grid = GRID)),
        )
        expectEq(s.validate(), emptyMap<RelayField, FieldProblem>(), "valid")
        expectEq(s.toConfig().address, "10.0.2.2:4433", "address")
        expectEq(s.toConfig().token, "t0k", "token")
    }
    hub.detach(replica)
    replica.close()
}

fun syncBarTests(root: File, relayExe: String) {
    val relay = Relay(relayExe, File(root, "relay")).start()
    val io = Executors.newSingleThreadExecutor { r -> Thread(r, "io").apply { isDaemon = true } }
    val timer = Executors.newSingleThreadScheduledExecutor { r -> Thread(r, "tick").apply { isDaemon = true } }
    Runtime.getRuntime().addShutdownHook(Thread { relay.close() })
    try {
        for (forcibly in listOf(false, true)) {
            val how = if (forcibly) "SIGKILL: the link dies silently" else "SIGTERM: the relay closes its connections"
            test("sync bar: the relay goes away ($how) and comes back on the same port") {
                val name = if (forcibly) "phone-kill" else "phone-term"
                val replica = GridsyncReplica.open(File(root, name).path, name)
                replica.setSetupIdentity("wang", "王芳", listOf(Role.GRID_WORKER), GRID)
                val hub = ChangeHub.attach(replica)
                val session = SyncSession(replica, RelaySettings(relay.address, relay.fingerprint, relay.enroll(name, GRID), "wang", GRID).toConfig())
                val bar = SyncBarModel(session, hub, io = io, timer = timer, stallAfterMs = 2_000, tickMs = 200)
                val seen = java.util.concurrent.CopyOnWriteArrayList<SyncBarState>()
                bar.state.subscribe { seen.add(it) }
                val h = replica.registerHousehold(household("李秀英", Tier.RED))
                bar.refresh()
                eventually(5_000, { "pending after a write: ${bar.state.value}" }) { bar.state.value.pending > 0 }

                bar.startLive()
                eventually(20_000, { "online and caught up: ${bar.state.value}" }) {
                    bar.state.value.let { it.online && it.pending == 0L && it.lastSync != null }
                }
                expect(bar.state.value.lastError == null) { "error while online: ${bar.state.value}" }

                relay.stop(forcibly)
                if (!forcibly) {
                    eventually(10_000, { "offline after the relay left: ${bar.state.value}" }) { !bar.state.value.online }
                }
                val form = VisitFormModel(replica, WANG, h, io = io)
                form.setNotes("信号不好，离线记录。")
                form.submit()
                eventually(5_000, { "visit saved offline: ${form.state.value}" }) { form.state.value.savedVisitId != null }
                eventually(15_000, { "offline with pending changes: ${bar.state.value}" }) {
                    bar.state.value.let { !it.online && it.pending > 0 && it.lastError != null }
                }
                if (forcibly) {
                    expect(seen.any { it.stalled && it.link == LinkState.LIVE }) { "the stall was not shown: ${seen.takeLast(5)}" }
                }
                val down = bar.state.value
                expectEq(replica.recordSyncState(form.state.value.savedVisitId!!), RecordSyncState.Pending, "visit state while down")

                val back = System.currentTimeMillis()
                relay.start()
                eventually(45_000, { "online, nothing pending, synced after the relay returned: ${bar.state.value}" }) {
                    bar.state.value.let { it.online && it.pending == 0L && (it.lastSync ?: 0) >= back }
                }
                val up = bar.state.value
                expect(up.lastError == null && !up.stalled && up.link == LinkState.LIVE) { "after return: $up" }
                expect(up.lastSync!! > (down.lastSync ?: 0)) { "last sync did not move: $down -> $up" }
                expectEq(replica.recordSyncState(form.state.value.savedVisitId!!), RecordSyncState.Acknowledged, "visit state after return")

                bar.stopLive()
                eventually(10_000, { "offline after stopLive: ${bar.state.value}" }) {
                    bar.state.value.let { !it.live && it.link == LinkState.OFFLINE && it.lastError == null }
                }
                // Sync now against a live relay: online errors stay cleared.
                bar.syncNow()
                eventually(20_000, { "sync now: ${bar.state.value}" }) { !bar.state.value.syncing }
                expect(bar.state.value.lastError == null) { "sync now failed: ${bar.state.value}" }
                bar.close()
                session.close()
                hub.detach(replica)
                replica.close()
            }
        }
    } finally {
        relay.close()
        io.shutdownNow()
        timer.shutdownNow()
    }
}
