package dev.gridsync.demo

import android.app.Application
import androidx.lifecycle.DefaultLifecycleObserver
import androidx.lifecycle.LifecycleOwner
import androidx.lifecycle.ProcessLifecycleOwner
import dev.gridsync.demo.logic.StateHolder

/**
 * Opens the store once per process (off the main thread) and keeps live sync running while
 * the app is in the foreground.
 */
class GridsyncApplication : Application() {
    /** Null until the store is open. */
    val graph = StateHolder<AppGraph?>(null)

    @Volatile
    private var foreground = false

    override fun onCreate() {
        super.onCreate()
        ProcessLifecycleOwner.get().lifecycle.addObserver(object : DefaultLifecycleObserver {
            override fun onStart(owner: LifecycleOwner) {
                foreground = true
                graph.value?.setForeground(true)
            }

            override fun onStop(owner: LifecycleOwner) {
                foreground = false
                graph.value?.setForeground(false)
            }
        })
        Thread({ graph.set(AppGraph.open(this) { foreground }) }, "gridsync-open").start()
    }
}
