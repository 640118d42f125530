package dev.gridsync.demo

import android.content.Context
import dev.gridsync.demo.logic.CaseDetailModel
import dev.gridsync.demo.logic.CaseListModel
import dev.gridsync.demo.logic.CaseReportModel
import dev.gridsync.demo.logic.ChangeHub
import dev.gridsync.demo.logic.DueVisitsModel
import dev.gridsync.demo.logic.HouseholdModel
import dev.gridsync.demo.logic.StateHolder
import dev.gridsync.demo.logic.SyncBarModel
import dev.gridsync.demo.logic.VisitFormModel
import dev.gridsync.demo.logic.WorkerProfile
import java.io.File
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.ScheduledExecutorService
import java.util.concurrent.ThreadFactory
import uniffi.gridsync_ffi.GridsyncReplica
import uniffi.gridsync_ffi.SyncSession

/**
 * The process's objects: the one replica, its change hub, the sync session for the current
 * settings, the executors every binding call runs on, and factories for the screens' models.
 */
class AppGraph private constructor(
    val replica: GridsyncReplica,
    val changes: ChangeHub,
    private val store: SettingsStore,
    private val isForeground: () -> Boolean,
) {
    /** Reads and writes (ms each). */
    val io: ExecutorService = Executors.newFixedThreadPool(2, daemon("gridsync-io"))

    /** Sync calls (syncOnce takes seconds; stopLive up to 5 s): kept off the read/write threads. */
    private val syncIo: ExecutorService = Executors.newSingleThreadExecutor(daemon("gridsync-sync"))
    private val timer: ScheduledExecutorService = Executors.newSingleThreadScheduledExecutor(daemon("gridsync-tick"))

    val settings = StateHolder(store.load())

    /** Null when no relay is set up. */
    val syncBar = StateHolder<SyncBarModel?>(null)
    private var session: SyncSession? = null

    val me: WorkerProfile
        get() = settings.value.let { WorkerProfile(it.relay.worker, it.role, it.relay.grid) }

    init {
        io.execute { identify(settings.value) }
        syncIo.execute { connect(settings.value) }
    }

    /** Saves new settings and reconnects with them. */
    fun save(s: AppSettings) {
        store.save(s)
        settings.set(s)
        io.execute { identify(s) }
        syncIo.execute { connect(s) }
    }

    /**
     * Tells the replica who writes on this phone until its first sync (the relay's grants
     * replace it then); without it every write fails with NotAllowed (runs on io).
     */
    private fun identify(s: AppSettings) {
        if (s.relay.worker.isBlank() || s.relay.grid.isBlank()) return
        runCatching { replica.setSetupIdentity(s.relay.worker, s.relay.worker, listOf(s.role), s.relay.grid) }
    }

    fun setForeground(fg: Boolean) {
        syncBar.value?.let { if (fg) it.startLive() else it.stopLive() }
    }

    /** Replaces the session (runs on syncIo). */
    private fun connect(s: AppSettings) {
        syncBar.value?.close()
        syncBar.set(null)
        session?.let { old ->
            runCatching { old.stopLive() }
            old.close()
        }
        session = null
        if (s.relay.validate().isNotEmpty()) return
        val next = runCatching { SyncSession(replica, s.relay.toConfig()) }.getOrNull() ?: return
        session = next
        val bar = SyncBarModel(next, changes, io = syncIo, timer = timer)
        syncBar.set(bar)
        bar.refresh()
        if (isForeground()) bar.startLive()
    }

    fun dueVisits() = DueVisitsModel(replica, changes, me, io = io)
    fun household(id: String) = HouseholdModel(replica, changes, id, io = io)
    fun visitForm(household: String) = VisitFormModel(replica, me, household, io = io)
    fun caseReport(household: String?) = CaseReportModel(replica, me, household, io = io)
    fun caseList() = CaseListModel(replica, changes, me, io = io)
    fun caseDetail(id: String) = CaseDetailModel(replica, changes, me, id, io = io)

    companion object {
        /** Opens the store under the app's private files (never external storage). */
        fun open(context: Context, isForeground: () -> Boolean): AppGraph {
            val store = SettingsStore(context)
            val replica = GridsyncReplica.open(File(context.filesDir, "gridsync").path, store.deviceId)
            return AppGraph(replica, ChangeHub.attach(replica), store, isForeground)
        }

        private fun daemon(name: String) = ThreadFactory { r -> Thread(r, name).apply { isDaemon = true } }
    }
}
