package dev.gridsync.demo.logic

import uniffi.gridsync_ffi.GridsyncException

/** What the app does about an error; the UI maps each kind to a localized sentence. */
enum class ErrorKind {
    /** A form field is unacceptable (checked here or by the core); `field` says which. */
    INVALID_INPUT,
    /** The record is not on this device. */
    NOT_FOUND,
    /** The case workflow refuses the step for this role or in this status. */
    NOT_ALLOWED,
    /** The on-device store failed. */
    STORAGE,
    /** Stored or received data could not be read. */
    CORRUPT,
    /** The store was written by a newer app. */
    UPGRADE_REQUIRED,
    /** The relay refused this device: enroll again. */
    DENIED,
    /** No network or the relay is unreachable; data is safe. */
    NETWORK,
    /** Anything else (a bug). */
    UNEXPECTED,
}

/**
 * An error as a screen shows it: a kind (localized by the UI), the field at fault for form
 * errors, and the detail in the core's words (English; shown small under the localized text).
 */
data class UiError(val kind: ErrorKind, val detail: String, val field: String? = null) {
    /** A one-line English description, for logs and tests. */
    val message: String get() = buildString {
        append(kind.name.lowercase().replace('_', ' '))
        if (this@UiError.field != null) append(" [").append(this@UiError.field).append(']')
        if (detail.isNotEmpty()) append(": ").append(detail)
    }

    companion object {
        fun invalid(field: String, detail: String) = UiError(ErrorKind.INVALID_INPUT, detail, field)
    }
}

/** Maps anything a binding call throws to a [UiError]; never rethrows. */
fun Throwable.toUiError(): UiError = when (this) {
    is GridsyncException.InvalidInput -> UiError(ErrorKind.INVALID_INPUT, reason, field)
    is GridsyncException.NotFound -> UiError(ErrorKind.NOT_FOUND, "unknown $what $id")
    is GridsyncException.NotAllowed -> UiError(ErrorKind.NOT_ALLOWED, reason)
    is GridsyncException.Storage -> UiError(ErrorKind.STORAGE, reason)
    is GridsyncException.Corrupt -> UiError(ErrorKind.CORRUPT, reason)
    is GridsyncException.UpgradeRequired -> UiError(ErrorKind.UPGRADE_REQUIRED, reason)
    is GridsyncException.Denied -> UiError(ErrorKind.DENIED, reason)
    is GridsyncException.Network -> UiError(ErrorKind.NETWORK, reason)
    else -> UiError(ErrorKind.UNEXPECTED, toString())
}

/** Runs `body`, returning its value or the error as a [UiError]. */
inline fun <T> attempt(body: () -> T): Result<T> =
    try {
        Result.success(body())
    } catch (e: Exception) {
        Result.failure(UiErrorException(e.toUiError()))
    }

/** Carries a [UiError] through `Result`. */
class UiErrorException(val error: UiError) : Exception(error.message)

/** The [UiError] of a failed `Result`. */
fun Result<*>.uiError(): UiError? = exceptionOrNull()?.let { (it as? UiErrorException)?.error ?: it.toUiError() }
