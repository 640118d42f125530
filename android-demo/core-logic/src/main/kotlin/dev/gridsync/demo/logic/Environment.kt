package dev.gridsync.demo.logic

import java.util.concurrent.Executor
import uniffi.gridsync_ffi.Role

/** One day in milliseconds. */
const val DAY_MS: Long = 86_400_000L

/** Who uses the app: the worker id written into every record, the role cases are acted in, the grid. */
data class WorkerProfile(val id: String, val role: Role, val grid: String)

/** The wall clock, replaceable in tests. */
fun interface Clock {
    fun nowMs(): Long

    companion object {
        val SYSTEM = Clock { System.currentTimeMillis() }
    }
}

/**
 * Runs a model's binding calls on the caller's thread. Every binding call blocks, so the app
 * gives models a background executor instead; tests use this one to stay deterministic.
 */
val DIRECT_EXECUTOR = Executor { it.run() }

/**
 * Runs `body` on `io`, at most one queued run at a time: a burst of change callbacks (a sync
 * delivering hundreds of records) costs one reload, not hundreds.
 */
class Coalesced(private val io: Executor, private val body: () -> Unit) {
    private val queued = java.util.concurrent.atomic.AtomicBoolean(false)

    fun run() {
        if (queued.compareAndSet(false, true)) {
            io.execute {
                queued.set(false)
                body()
            }
        }
    }
}
