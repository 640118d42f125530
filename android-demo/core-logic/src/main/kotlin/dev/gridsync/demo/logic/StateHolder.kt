package dev.gridsync.demo.logic

import java.util.concurrent.CopyOnWriteArrayList

/**
 * A value that can be watched: the one observable every model exposes.
 *
 * No coroutines, no Android: listeners are plain functions called on the thread that set the
 * value (models set it from their background executor or from a gridsync callback thread).
 * The Compose layer turns it into `State<T>` and hops to the main thread itself.
 */
class StateHolder<T>(initial: T) {
    private val listeners = CopyOnWriteArrayList<(T) -> Unit>()
    private val lock = Any()

    @Volatile
    var value: T = initial
        private set

    /** Replaces the value with `f(value)` atomically and tells the listeners when it changed. */
    fun update(f: (T) -> T): T {
        val next: T
        synchronized(lock) {
            val prev = value
            next = f(prev)
            if (next == prev) return next
            value = next
        }
        for (l in listeners) l(next)
        return next
    }

    /** Sets the value. */
    fun set(v: T) {
        update { v }
    }

    /** Calls `listener` with the current value now and with every change; close the result to stop. */
    fun subscribe(listener: (T) -> Unit): AutoCloseable {
        listeners.add(listener)
        listener(value)
        return AutoCloseable { listeners.remove(listener) }
    }
}
