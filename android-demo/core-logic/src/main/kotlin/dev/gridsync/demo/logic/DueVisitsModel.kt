package dev.gridsync.demo.logic

import java.util.concurrent.Executor
import uniffi.gridsync_ffi.DueVisit
import uniffi.gridsync_ffi.GridsyncReplica
import uniffi.gridsync_ffi.Tier

/** How pressing a due visit is. */
enum class Urgency {
    /** At least one whole day past due. */
    OVERDUE,
    /** Due now or within the next 24 hours. */
    DUE,
    /** Due later within the horizon. */
    UPCOMING,
}

/** One row of "who must I visit": the household, its tier colour and how late it is. */
data class DueRow(
    val household: String,
    val head: String,
    val tier: Tier,
    val dueAt: Long,
    val lastVisit: Long?,
    val daysOverdue: Long,
    val urgency: Urgency,
)

data class DueVisitsState(
    val loading: Boolean = true,
    val rows: List<DueRow> = emptyList(),
    val error: UiError? = null,
) {
    val overdueCount: Int get() = rows.count { it.urgency == Urgency.OVERDUE }
}

/** Red before yellow before green. */
fun Tier.priority(): Int = when (this) {
    Tier.RED -> 0
    Tier.YELLOW -> 1
    Tier.GREEN -> 2
}

/**
 * The worker's visit list: households the worker contacts that are overdue or due within
 * `horizonDays`, refreshed whenever a household or visit changes (here or from the relay).
 *
 * Order: overdue first, then due, then upcoming. Within overdue and due, red 连心户 come
 * before yellow 关心户 before green 放心户 (a red household three days late is more pressing
 * than a green one thirty days late), then the most overdue first; upcoming ones by due date.
 * The core's `dueVisits` orders by due date alone; the tier-first order is this screen's.
 */
class DueVisitsModel(
    private val replica: GridsyncReplica,
    changes: ChangeHub,
    private val me: WorkerProfile,
    private val clock: Clock = Clock.SYSTEM,
    private val io: Executor = DIRECT_EXECUTOR,
    val horizonDays: UInt = 1u,
) : AutoCloseable {
    val state = StateHolder(DueVisitsState())
    private val reload = Coalesced(io) { load() }

    private val sub = changes.onRecords { ids, _ ->
        if (ids.any { isHousehold(it) || isVisit(it) }) refresh()
    }

    /** Reloads (on the executor; runs already queued are not repeated). */
    fun refresh() = reload.run()

    private fun load() {
        val now = clock.nowMs()
        val result = attempt { replica.dueVisits(me.id, now, horizonDays) }
        state.update { s ->
            result.fold(
                onSuccess = { list -> DueVisitsState(loading = false, rows = order(list, now)) },
                onFailure = { s.copy(loading = false, error = result.uiError()) },
            )
        }
    }

    override fun close() = sub.close()

    companion object {
        /** Rows for `due` in the screen's order (see the class comment). */
        fun order(due: List<DueVisit>, now: Long): List<DueRow> =
            due.map { d ->
                val urgency = when {
                    d.daysOverdue >= 1 -> Urgency.OVERDUE
                    d.dueAt < now + DAY_MS -> Urgency.DUE
                    else -> Urgency.UPCOMING
                }
                DueRow(d.household, d.head, d.tier, d.dueAt, d.lastVisit, d.daysOverdue, urgency)
            }.sortedWith(
                compareBy<DueRow> { it.urgency.ordinal }
                    .thenBy { if (it.urgency == Urgency.UPCOMING) it.dueAt else it.tier.priority().toLong() }
                    .thenBy { if (it.urgency == Urgency.UPCOMING) it.tier.priority().toLong() else it.dueAt }
                    .thenBy { it.household },
            )
    }
}
