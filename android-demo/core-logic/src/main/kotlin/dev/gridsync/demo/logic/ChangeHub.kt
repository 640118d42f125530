package dev.gridsync.demo.logic

import java.util.concurrent.CopyOnWriteArrayList
import uniffi.gridsync_ffi.ChangeListener
import uniffi.gridsync_ffi.GridsyncReplica
import uniffi.gridsync_ffi.SyncStatus

/**
 * The app's one [ChangeListener] on the replica, fanning callbacks out to the models.
 *
 * Callbacks arrive on the writer's thread or a sync thread and must return quickly: every
 * subscriber only updates a value or posts work to its executor. Exceptions from a
 * subscriber are contained here so one model cannot starve the others.
 */
class ChangeHub private constructor() : ChangeListener {
    private val records = CopyOnWriteArrayList<(List<String>, Boolean) -> Unit>()
    private val statuses = CopyOnWriteArrayList<(SyncStatus) -> Unit>()
    private var handle: ULong? = null

    /** Hears record changes: ids (`h-…`, `v-…`, `c-…`) and whether they came from the relay. */
    fun onRecords(f: (ids: List<String>, remote: Boolean) -> Unit): AutoCloseable {
        records.add(f)
        return AutoCloseable { records.remove(f) }
    }

    /** Hears sync status updates. */
    fun onStatus(f: (SyncStatus) -> Unit): AutoCloseable {
        statuses.add(f)
        return AutoCloseable { statuses.remove(f) }
    }

    override fun onRecordsChanged(ids: List<String>, remote: Boolean) {
        for (f in records) runCatching { f(ids, remote) }
    }

    override fun onSyncStatus(status: SyncStatus) {
        for (f in statuses) runCatching { f(status) }
    }

    /** Unregisters from the replica. */
    fun detach(replica: GridsyncReplica) {
        handle?.let { replica.removeListener(it) }
        handle = null
    }

    companion object {
        /** A hub registered on `replica` (once per process, like the replica). */
        fun attach(replica: GridsyncReplica): ChangeHub {
            val hub = ChangeHub()
            hub.handle = replica.addListener(hub)
            return hub
        }
    }
}

/** True when `id` names a household (`h-…`). */
fun isHousehold(id: String) = id.startsWith("h-")

/** True when `id` names a visit (`v-…`). */
fun isVisit(id: String) = id.startsWith("v-")

/** True when `id` names a case (`c-…`). */
fun isCase(id: String) = id.startsWith("c-")
