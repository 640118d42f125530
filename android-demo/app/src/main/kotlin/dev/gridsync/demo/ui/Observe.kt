package dev.gridsync.demo.ui

import android.os.Handler
import android.os.Looper
import androidx.compose.runtime.Composable
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.State
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewmodel.compose.viewModel
import dev.gridsync.demo.logic.StateHolder

private val mainHandler = Handler(Looper.getMainLooper())

/**
 * A core-logic [StateHolder] as Compose state. Models set their state on background threads;
 * every change is posted to the main thread, which reads the latest value (so a late post can
 * never bring back an older one).
 */
@Composable
fun <T> StateHolder<T>.collectAsState(): State<T> {
    val holder = this
    val state = remember(holder) { mutableStateOf(holder.value) }
    DisposableEffect(holder) {
        val sub = holder.subscribe { mainHandler.post { state.value = holder.value } }
        onDispose { sub.close() }
    }
    return state
}

/** Keeps a model across configuration changes, scoped to the navigation entry; closes it when the entry goes. */
class ModelHolder<M : Any>(val model: M) : ViewModel() {
    override fun onCleared() {
        (model as? AutoCloseable)?.close()
    }
}

@Composable
fun <M : Any> rememberModel(key: String, create: () -> M): M {
    val holder: ModelHolder<*> = viewModel(key = key) { ModelHolder(create()) }
    @Suppress("UNCHECKED_CAST")
    return holder.model as M
}
