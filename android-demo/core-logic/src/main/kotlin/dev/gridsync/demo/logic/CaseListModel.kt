package dev.gridsync.demo.logic

import java.util.concurrent.Executor
import uniffi.gridsync_ffi.CaseFilter
import uniffi.gridsync_ffi.CaseStatus
import uniffi.gridsync_ffi.CaseSummary
import uniffi.gridsync_ffi.GridsyncReplica
import uniffi.gridsync_ffi.Level
import uniffi.gridsync_ffi.TriageClass

enum class CaseListFilter { ALL, OPEN, OVERDUE }

/** One row of the case list: status, triage class and the overdue marker. */
data class CaseRow(
    val id: String,
    val title: String,
    val category: String,
    val status: CaseStatus,
    val triageClass: TriageClass?,
    val level: Level?,
    val deadline: Long?,
    val reportedAt: Long,
    /** Open and past its deadline (as the core's `overdueAt` filter counts it). */
    val overdue: Boolean,
    /** A merge invalidated an action: someone should look at the timeline. */
    val needsReview: Boolean,
)

data class CaseListState(
    val loading: Boolean = true,
    val filter: CaseListFilter = CaseListFilter.OPEN,
    val rows: List<CaseRow> = emptyList(),
    val error: UiError? = null,
)

/** True while a case still needs work or an evaluation. */
fun CaseStatus.isOpen() = this != CaseStatus.CLOSED && this != CaseStatus.REJECTED && this != CaseStatus.DUPLICATE

/** The case list of the worker's grid, newest report first, refreshed as cases change. */
class CaseListModel(
    private val replica: GridsyncReplica,
    changes: ChangeHub,
    private val me: WorkerProfile,
    private val clock: Clock = Clock.SYSTEM,
    private val io: Executor = DIRECT_EXECUTOR,
) : AutoCloseable {
    val state = StateHolder(CaseListState())
    private val reload = Coalesced(io) { load() }

    private val sub = changes.onRecords { ids, _ -> if (ids.any(::isCase)) refresh() }

    fun setFilter(f: CaseListFilter) {
        state.update { it.copy(filter = f) }
        refresh()
    }

    /** Reloads (on the executor; runs already queued are not repeated). */
    fun refresh() = reload.run()

    private fun load() {
        val now = clock.nowMs()
        val filter = state.value.filter
        val query = when (filter) {
            CaseListFilter.ALL -> CaseFilter(grid = me.grid)
            CaseListFilter.OPEN -> CaseFilter(grid = me.grid, openOnly = true)
            CaseListFilter.OVERDUE -> CaseFilter(grid = me.grid, overdueAt = now)
        }
        val result = attempt { replica.listCases(query).map { row(it, now) } }
        state.update { s ->
            if (s.filter != filter) return@update s // a newer filter's load will land
            result.fold(
                onSuccess = { rows -> s.copy(loading = false, rows = rows, error = null) },
                onFailure = { s.copy(loading = false, error = result.uiError()) },
            )
        }
    }

    override fun close() = sub.close()

    companion object {
        fun row(c: CaseSummary, now: Long) = CaseRow(
            id = c.id,
            title = c.title,
            category = c.category,
            status = c.status,
            triageClass = c.triageClass,
            level = c.level,
            deadline = c.deadline,
            reportedAt = c.reportedAt,
            overdue = c.status.isOpen() && c.deadline != null && c.deadline!! < now,
            needsReview = c.needsReview,
        )
    }
}
