package dev.gridsync.demo.logic

import java.util.concurrent.Executor
import uniffi.gridsync_ffi.GridsyncReplica
import uniffi.gridsync_ffi.Household
import uniffi.gridsync_ffi.RecordSyncState
import uniffi.gridsync_ffi.VisitSummary

data class HouseholdState(
    val loading: Boolean = true,
    val household: Household? = null,
    /** Newest first. */
    val visits: List<VisitSummary> = emptyList(),
    /** True while this household has changes the relay has not acknowledged. */
    val unsynced: Boolean = false,
    val error: UiError? = null,
)

/** A household with its tier history and visit history (the 民情日记 of that household). */
class HouseholdModel(
    private val replica: GridsyncReplica,
    changes: ChangeHub,
    val householdId: String,
    private val io: Executor = DIRECT_EXECUTOR,
    private val historyLimit: UInt = 50u,
) : AutoCloseable {
    val state = StateHolder(HouseholdState())
    private val reload = Coalesced(io) { load() }

    // A visit's id does not say which household it belongs to; reloading is cheap.
    private val sub = changes.onRecords { ids, _ ->
        if (ids.any { it == householdId || isVisit(it) }) refresh()
    }

    /** Reloads (on the executor; runs already queued are not repeated). */
    fun refresh() = reload.run()

    private fun load() {
        val result = attempt {
            val h = replica.getHousehold(householdId)
            val visits = replica.visitsOf(householdId, historyLimit)
            // Pending, or refused by the relay (kept here until discarded): not on the relay.
            val unsynced = replica.recordSyncState(householdId) != RecordSyncState.Acknowledged
            HouseholdState(loading = false, household = h, visits = visits, unsynced = unsynced)
        }
        state.update { s -> result.getOrElse { s.copy(loading = false, error = result.uiError()) } }
    }

    override fun close() = sub.close()
}
