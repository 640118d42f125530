package dev.gridsync.demo.logic

import java.util.concurrent.Executor
import java.util.concurrent.ScheduledExecutorService
import java.util.concurrent.ScheduledFuture
import java.util.concurrent.TimeUnit
import uniffi.gridsync_ffi.LinkState
import uniffi.gridsync_ffi.SyncSession
import uniffi.gridsync_ffi.SyncStatus

data class SyncBarState(
    /** The session's link state as the core reports it. */
    val link: LinkState = LinkState.OFFLINE,
    /** Connected and exchanging: link SYNCING or LIVE and not [stalled]. */
    val online: Boolean = false,
    /** The app asked for live sync (foreground). */
    val live: Boolean = false,
    /** A "sync now" is running. */
    val syncing: Boolean = false,
    /** Local changes the relay has not acknowledged ("3 waiting"). */
    val pending: Long = 0,
    /** When the relay last acknowledged or delivered something (ms). */
    val lastSync: Long? = null,
    /** The link claims to be up but nothing was acknowledged for a while (a silently dead link). */
    val stalled: Boolean = false,
    /** Why the last attempt failed, while it matters (cleared once the link works again). */
    val lastError: UiError? = null,
)

/**
 * The sync bar: offline/online, pending count, last sync and the last error, from
 * `SyncSession.status()` and the `onSyncStatus` callbacks, with a "sync now" and live sync.
 *
 * The core clears `lastError` once a sync works again and drops LIVE within about 20 s of
 * a silently dead link (keep-alives every 5 s). The bar still guards both, for an older core
 * and for the seconds in between:
 * - it shows `lastError` only while the link is down (live) and it is not the one that was
 *   already there while the link was up, or when the last "sync now" failed;
 * - when changes wait unacknowledged for [stallAfterMs] while the link says LIVE/SYNCING,
 *   the bar shows it offline ([SyncBarState.stalled]) and restarts live sync, which
 *   reconnects as soon as the relay answers again.
 */
class SyncBarModel(
    private val session: SyncSession,
    changes: ChangeHub,
    private val clock: Clock = Clock.SYSTEM,
    /** Runs the blocking session calls (syncOnce, stopLive, status); never the UI thread. */
    private val io: Executor,
    /** Drives the stall check; null disables it (no timer thread). */
    private val timer: ScheduledExecutorService? = null,
    val stallAfterMs: Long = 20_000,
    tickMs: Long = 1_000,
) : AutoCloseable {
    val state = StateHolder(SyncBarState())
    private val reread = Coalesced(io) { apply(session.status()) }

    private val lock = Any()
    private var status: SyncStatus? = null
    private var liveWanted = false
    private var syncError: UiError? = null
    private var waitingSince: Long? = null // LIVE/SYNCING with pending > 0 and no progress since
    private var progressMark: Pair<Long, Long?>? = null // (pending, lastSync) when the wait started
    private var stalled = false
    private var stallError: UiError? = null // kept until the relay acknowledges again
    private var restarting = false // a restart or an ended-live check is queued
    private var upError: String? = null // the core's lastError when the link was last up: stale

    private val subs = listOf(
        changes.onStatus { s -> apply(s) },
        // The pending count is not in any callback between syncs: read it after local writes.
        changes.onRecords { _, remote -> if (!remote) refresh() },
    )
    private val tick: ScheduledFuture<*>? =
        timer?.scheduleWithFixedDelay({ runCatching { check() } }, tickMs, tickMs, TimeUnit.MILLISECONDS)

    /** Reads the status now (on the executor). */
    fun refresh() = reread.run()

    /** Foreground: stay connected (returns at once). */
    fun startLive() = io.execute {
        val e = runCatching { session.startLive() }.exceptionOrNull()
        synchronized(lock) {
            liveWanted = e == null
            syncError = e?.toUiError()
        }
        apply(session.status())
    }

    /** Background: disconnect (waits up to 5 s on the executor). */
    fun stopLive() = io.execute {
        synchronized(lock) { liveWanted = false }
        runCatching { session.stopLive() }.onFailure { e -> synchronized(lock) { syncError = e.toUiError() } }
        apply(session.status())
    }

    /** Sync now: push everything, pull until caught up (blocks the executor for the exchange). */
    fun syncNow() {
        state.update { it.copy(syncing = true) }
        io.execute {
            val result = attempt { session.syncOnce() }
            synchronized(lock) { syncError = result.uiError() }
            state.update { it.copy(syncing = false) }
            apply(session.status())
        }
    }

    private fun apply(s: SyncStatus) {
        val now = clock.nowMs()
        synchronized(lock) {
            status = s
            val up = s.state == LinkState.LIVE || s.state == LinkState.SYNCING
            val pending = s.pendingChanges.toLong()
            val mark = progressMark
            val progress = mark != null && (pending < mark.first || s.lastSync != mark.second)
            if (up) upError = s.lastError
            when {
                !up -> {
                    waitingSince = null
                    progressMark = null
                    stalled = false
                }
                pending == 0L -> {
                    waitingSince = null
                    progressMark = null
                    stalled = false
                    stallError = null
                }
                mark == null || progress -> {
                    // Started waiting for acknowledgements, or the relay acknowledged something.
                    if (progress) stallError = null
                    waitingSince = now
                    progressMark = pending to s.lastSync
                    stalled = false
                }
            }
        }
        publish()
    }

    /** The timer's check: a stalled link, or live sync that ended by itself (Denied). */
    private fun check() {
        val now = clock.nowMs()
        var restart = false
        var ended = false
        var newlyStalled = false
        synchronized(lock) {
            val since = waitingSince
            if (since != null && !stalled && now - since >= stallAfterMs) {
                stalled = true
                newlyStalled = true
                stallError = UiError(ErrorKind.NETWORK, "no acknowledgement from the relay for ${stallAfterMs / 1000} s")
                if (liveWanted && !restarting) {
                    restart = true
                    restarting = true
                }
            }
            if (liveWanted && !restarting && !session.isLive()) {
                ended = true
                restarting = true
            }
        }
        if (newlyStalled) publish()
        if (restart) {
            io.execute {
                runCatching { session.stopLive() }
                val again = synchronized(lock) { liveWanted }
                if (again) runCatching { session.startLive() }
                synchronized(lock) {
                    restarting = false
                    waitingSince = null
                    progressMark = null
                }
                apply(session.status())
            }
        }
        if (ended) {
            io.execute {
                val e = runCatching { session.stopLive() }.exceptionOrNull()
                synchronized(lock) {
                    liveWanted = false
                    restarting = false
                    if (e != null) syncError = e.toUiError()
                }
                apply(session.status())
            }
        }
    }

    private fun publish() {
        val next = synchronized(lock) {
            val s = status ?: return
            val up = (s.state == LinkState.LIVE || s.state == LinkState.SYNCING) && !stalled
            val error = when {
                stalled -> stallError
                liveWanted && !up -> stallError ?: s.lastError?.takeIf { it != upError }?.let(::statusError) ?: syncError
                liveWanted -> null
                else -> syncError
            }
            SyncBarState(
                link = s.state,
                online = up,
                live = liveWanted,
                pending = s.pendingChanges.toLong(),
                lastSync = s.lastSync,
                stalled = stalled,
                lastError = error,
            )
        }
        state.update { next.copy(syncing = it.syncing) }
    }

    override fun close() {
        tick?.cancel(false)
        subs.forEach { it.close() }
    }

    companion object {
        /** The core's status error text as a [UiError]. */
        fun statusError(text: String): UiError =
            if (text.startsWith("access denied")) UiError(ErrorKind.DENIED, text) else UiError(ErrorKind.NETWORK, text)
    }
}
