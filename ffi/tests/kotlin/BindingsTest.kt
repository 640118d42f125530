// The Kotlin bindings of gridsync-ffi on the JVM against a real relay, as the Android app
// uses them: records, cases, callbacks, sync between two devices, and typed exceptions.
// Run by ffi/test-bindings.sh; prints "N passed, N failed" last and exits non-zero on failure.

import java.io.File
import java.nio.file.Files
import java.util.concurrent.CountDownLatch
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.TimeUnit
import uniffi.gridsync_ffi.*

const val GRID = "ankang/hanbin/laocheng/xinhua/g01"
const val DAY = 86_400_000L

var passed = 0
var failed = 0

fun test(name: String, body: () -> Unit) {
    try {
        body()
        passed++
        println("ok   $name")
    } catch (e: Throwable) {
        failed++
        println("FAIL $name: $e")
        e.printStackTrace(System.out)
    }
}

fun expect(cond: Boolean, what: () -> String) {
    if (!cond) throw AssertionError(what())
}

inline fun <reified T : Throwable> expectThrows(body: () -> Unit): T {
    try {
        body()
    } catch (e: Throwable) {
        if (e is T) return e
        throw AssertionError("expected ${T::class.simpleName}, got $e")
    }
    throw AssertionError("expected ${T::class.simpleName}, nothing was thrown")
}

/** A relay process on 127.0.0.1:0 with its own data directory. */
class Relay(private val exe: String) : AutoCloseable {
    val dataDir: File = Files.createTempDirectory("gridsync-relay").toFile()
    private val process: Process = ProcessBuilder(
        exe, "serve", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--data-dir", dataDir.path, "--json"
    ).redirectError(File(dataDir, "relay.log")).start()
    private val info: String = process.inputStream.bufferedReader().readLine()
        ?: error("the relay exited: ${File(dataDir, "relay.log").readText()}")
    val address = field(info, "listening")
    val fingerprint = field(info, "fingerprint")

    /** Enrolls a device with `gridsync-relay device add --json`; returns its token. */
    fun enroll(name: String): String {
        val p = ProcessBuilder(
            exe, "--data-dir", dataDir.path, "device", "add", "--name", name,
            "--worker", "wang", "--scope", GRID, "--json",
            "--role", "grid_worker", "--role", "grid_leader", "--role", "community_staff", "--role", "street_staff", "--role", "supervisor"
        ).start()
        val out = p.inputStream.bufferedReader().readText()
        check(p.waitFor() == 0) { "device add failed: $out" }
        return field(out, "token")
    }

    fun config(token: String) =
        RelayConfig(address = address, trust = RelayTrust.Pinned(fingerprint), token = token)

    override fun close() {
        process.destroy()
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly().waitFor()
        dataDir.deleteRecursively()
    }

    private fun field(json: String, key: String): String =
        Regex("\"$key\"\\s*:\\s*\"([^\"]*)\"").find(json)?.groupValues?.get(1)
            ?: error("no $key in $json")
}

/** Collects callbacks; they arrive on the writer's thread or a sync thread. */
class Recorder : ChangeListener {
    val changes = CopyOnWriteArrayList<Pair<List<String>, Boolean>>()
    val statuses = CopyOnWriteArrayList<SyncStatus>()
    @Volatile var remote = CountDownLatch(1)

    override fun onRecordsChanged(ids: List<String>, remote: Boolean) {
        changes.add(ids to remote)
        if (remote) this.remote.countDown()
    }

    override fun onSyncStatus(status: SyncStatus) {
        statuses.add(status)
    }
}

fun household(head: String = "李秀英", tier: Tier = Tier.RED) = NewHousehold(
    grid = GRID,
    address = Address.Rural(group = "3组", courtyard = "李家院", number = "12"),
    head = head,
    tier = tier,
    tags = listOf("留守老人"),
    contacts = listOf("wang"),
)

fun visit(household: String, at: Long) = NewVisit(
    household = household, at = at, mode = VisitMode.DOOR_TO_DOOR,
    notes = "老人身体尚可，药已按时服用，孙子周末回来。",
    followUps = listOf(FollowUp(text = "下周送药", due = at + 7 * DAY)),
    geo = GeoPoint(lat = 32.68, lon = 109.02),
)

fun staff(kind: ActionKind) =
    CaseActionInput(role = Role.COMMUNITY_STAFF, kind = kind)

/** A store that writes as worker wang in every role in [GRID] until the relay says otherwise. */
fun openStore(root: File, name: String): GridsyncReplica {
    val r = GridsyncReplica.open(File(root, name).path, name)
    r.setSetupIdentity("wang", "王芳", Role.values().toList(), GRID)
    return r
}

/** `bench [N]`: the Kotlin side of the FFI call-cost benchmark (see ffi/bench/). */
fun bench(n: Int) {
    val dir = Files.createTempDirectory("gridsync-bench").toFile()
    val r = GridsyncReplica.open(dir.path, "bench-kotlin")
    val h = r.registerHousehold(household())
    fun timed(label: String, f: (Int) -> Unit) {
        repeat(2000) { f(it) } // JIT warm-up
        val us = DoubleArray(n) { i ->
            val t = System.nanoTime()
            f(2000 + i)
            (System.nanoTime() - t) / 1000.0
        }
        us.sort()
        println("%-40s n=%-6d median %9.2f µs  p90 %9.2f µs  mean %9.2f µs".format(
            label, n, us[n / 2], us[n * 9 / 10], us.average()))
    }
    val t0 = 1_760_000_000_000L
    timed("kotlin ffi log_visit") { r.logVisit(visit(h, t0 + it * 60_000L)) }
    timed("kotlin ffi get_household (read)") { r.getHousehold(h) }
    timed("kotlin ffi device (no store access)") { r.device() }
    r.close()
    dir.deleteRecursively()
}

fun main(args: Array<String>) {
    if (args.firstOrNull() == "bench") return bench(args.getOrNull(1)?.toInt() ?: 2000)
    val exe = System.getenv("GRIDSYNC_RELAY") ?: error("set GRIDSYNC_RELAY to gridsync-relay")
    val root = Files.createTempDirectory("gridsync-kotlin").toFile()
    try {
        Relay(exe).use { relay -> run(root, relay) }
    } catch (e: Throwable) {
        failed++
        println("FAIL setting up: $e")
    } finally {
        root.deleteRecursively()
    }
    println("$passed passed, $failed failed")
    System.exit(if (failed == 0 && passed > 0) 0 else 1)
}

fun run(root: File, relay: Relay) {
    val now = System.currentTimeMillis()
    val a = openStore(root, "phone-a")
    val rec = Recorder()
    a.addListener(rec)
    lateinit var h: String
    lateinit var c: String

    test("register a household and log visits") {
        h = a.registerHousehold(household())
        val v1 = a.logVisit(visit(h, now - 20 * DAY))
        val v2 = a.logVisit(visit(h, now - 10 * DAY))
        expect(a.visitsOf(h, 10u).map { it.id } == listOf(v2, v1)) { "visits ${a.visitsOf(h, 10u)}" }
        expect(a.getVisit(v1).followUps.single().text == "下周送药") { "follow-up" }
    }
    test("change callbacks name the records written") {
        expect(rec.changes.take(3).all { !it.second && it.first.size == 1 }) { "${rec.changes}" }
        expect(rec.changes[0].first == listOf(h)) { "${rec.changes}" }
    }
    test("due visits") {
        val due = a.dueVisits("wang", now, 0u)
        expect(due.map { it.household } == listOf(h)) { "$due" }
        // Due by its tier 3 days ago, but the first visit's follow-up is open since 13 days ago.
        expect(due[0].daysOverdue == 13L && due[0].tier == Tier.RED) { "$due" }
        expect(due[0].followUp?.text == "下周送药" && due[0].followUp?.index == 0u) { "$due" }
    }
    // The duplicate stays retired: phone-b below lists only the household kept.
    test("a household registered twice is retired") {
        val twice = a.registerHousehold(household())
        a.retireHousehold(twice, h, "登记了两次")
        expect(a.listHouseholds(null).none { it.id == twice }) { "retired household listed" }
        expect(a.getHousehold(twice).retired?.duplicateOf == h) { "retirement" }
        expectThrows<GridsyncException.InvalidInput> { a.logVisit(visit(twice, now)) }
    }
    test("report a case, accept and triage it") {
        c = a.reportCase(NewCase(
            grid = GRID, role = Role.GRID_WORKER, household = h,
            title = "楼道堆放杂物", description = "三楼楼道堆放纸箱，影响通行。",
            category = "环境卫生", at = now,
        ))
        expect(ActionName.ACCEPT in a.allowedActions(c, Role.COMMUNITY_STAFF)) { "allowed" }
        expect(a.actOnCase(c, staff(ActionKind.Accept)).status == CaseStatus.ACCEPTED) { "accept" }
        val case = a.actOnCase(c, staff(ActionKind.Triage(
            triageClass = TriageClass.SMALL, level = null, deadline = null, assignee = "wang")))
        expect(case.status == CaseStatus.TRIAGED && case.level == Level.COMMUNITY) { "$case" }
        expect(case.timeline.last().kind is ActionKind.Triage) { "${case.timeline}" }
        expect(a.listCases(CaseFilter(openOnly = true)).map { it.id } == listOf(c)) { "list" }
    }
    test("a step the role may not take is GridsyncException.NotAllowed") {
        val e = expectThrows<GridsyncException.NotAllowed> {
            a.actOnCase(c, CaseActionInput(role = Role.GRID_WORKER,
                kind = ActionKind.Evaluate(satisfied = true, comment = "好")))
        }
        expect(e.reason.contains("grid_worker may not evaluate")) { e.reason }
        expect(e.message!!.contains("may not")) { "${e.message}" }
    }
    test("an empty head of household is GridsyncException.InvalidInput") {
        val e = expectThrows<GridsyncException.InvalidInput> {
            a.registerHousehold(household(head = " "))
        }
        expect(e.field == "head" && e.reason.contains("empty")) { "${e.message}" }
        val nf = expectThrows<GridsyncException.NotFound> {
            a.getHousehold("h-0123456789abcdef0123456789abcdef")
        }
        expect(nf.what == "household") { "${nf.message}" }
    }

    val sessionA = SyncSession(a, relay.config(relay.enroll("phone-a")))
    test("sync once pushes everything") {
        val pending = a.pending().changes
        val report = sessionA.syncOnce()
        expect(report.acknowledged == pending && report.refused.isEmpty()) { "$report, $pending" }
        expect(a.pending().changes == 0uL) { "pending ${a.pending()}" }
        expect(a.recordSyncState(h) == RecordSyncState.Acknowledged) { "record state" }
        expect(a.pending().refused == 0uL && a.refused().isEmpty()) { "nothing refused" }
        expect(rec.statuses.isNotEmpty() && rec.statuses.last().state == LinkState.OFFLINE) {
            "${rec.statuses}"
        }
    }

    val b = openStore(root, "phone-b")
    val recB = Recorder()
    b.addListener(recB)
    val sessionB = SyncSession(b, relay.config(relay.enroll("phone-b")))
    test("a second device syncs and sees the household") {
        val report = sessionB.syncOnce()
        expect(report.caughtUp && report.documentsChanged >= 4uL) { "$report" }
        expect(b.listHouseholds(null).map { it.head } == listOf("李秀英")) { "households" }
        expect(b.getCase(c).status == CaseStatus.TRIAGED) { "case" }
        expect(recB.remote.count == 0L) { "no remote callback" }
    }
    test("live sync carries a change from A to B") {
        recB.remote = CountDownLatch(1)
        sessionB.startLive()
        sessionA.startLive()
        Thread.sleep(500)
        a.changeTier(h, Tier.YELLOW, "子女返乡照料")
        expect(recB.remote.await(15, TimeUnit.SECONDS)) { "B heard nothing" }
        val until = System.currentTimeMillis() + 5000
        while (b.getHousehold(h).tier != Tier.YELLOW && System.currentTimeMillis() < until) {
            Thread.sleep(50)
        }
        expect(b.getHousehold(h).tier == Tier.YELLOW) { "tier on B" }
        sessionA.stopLive()
        sessionB.stopLive()
        expect(!sessionA.isLive()) { "still live" }
    }
    test("two offline tier changes conflict until one is chosen") {
        a.changeTier(h, Tier.RED, "独居老人摔伤")
        b.changeTier(h, Tier.GREEN, "子女返乡照料")
        for (s in listOf(sessionA, sessionB, sessionA)) s.syncOnce()
        for (r in listOf(a, b)) {
            val conflicts = r.householdConflicts(h)
            expect(conflicts.map { it.field } == listOf(HouseholdField.TIER)) { "$conflicts" }
            val tiers = conflicts[0].values.map { (it as FieldValue.Colour).value }
            expect(tiers.toSet() == setOf(Tier.RED, Tier.GREEN)) { "$tiers" }
        }
        val choice = b.householdConflicts(h)[0].values.indexOf(FieldValue.Colour(Tier.RED))
        b.resolveConflict(h, HouseholdField.TIER, choice.toUInt())
        sessionB.syncOnce()
        sessionA.syncOnce()
        for (r in listOf(a, b)) {
            expect(r.householdConflicts(h).isEmpty()) { "still in conflict" }
            expect(r.getHousehold(h).tier == Tier.RED) { "tier ${r.getHousehold(h).tier}" }
        }
    }
    test("an unknown token is GridsyncException.Denied") {
        val x = openStore(root, "phone-x")
        SyncSession(x, relay.config("not-a-token")).use { s ->
            expectThrows<GridsyncException.Denied> { s.syncOnce() }
        }
        x.close()
    }
    test("an encrypted store opens only with its key, rekeys and erases (WrongKey, Erased)") {
        val path = File(root, "phone-key").path
        val key = ByteArray(32) { 7 }
        val next = ByteArray(32) { 9 }
        val e = GridsyncReplica.openEncrypted(path, "phone-key", key)
        e.setSetupIdentity("wang", "王芳", Role.values().toList(), GRID)
        val id = e.registerHousehold(household(head = "欧阳春花"))
        e.rekey(next)
        e.close()
        expectThrows<GridsyncException.WrongKey> {
            GridsyncReplica.openEncrypted(path, "phone-key", key)
        }
        val again = GridsyncReplica.openEncrypted(path, "phone-key", next)
        expect(again.getHousehold(id).head == "欧阳春花") { "household after rekey" }
        again.erase()
        expectThrows<GridsyncException.Erased> { again.getHousehold(id) }
        expect(!File(path).exists()) { "files left after erase" }
        again.close()
    }
    sessionA.close()
    sessionB.close()
    a.close()
    b.close()
}
