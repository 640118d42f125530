package dev.gridsync.demo.logic

import uniffi.gridsync_ffi.RelayConfig
import uniffi.gridsync_ffi.RelayTrust

enum class RelayField { ADDRESS, FINGERPRINT, TOKEN, WORKER, GRID }

/**
 * What the relay operator hands over (`gridsync-relay device add`): the relay's address and
 * certificate fingerprint and this device's token, plus who uses the handset.
 */
data class RelaySettings(
    val address: String = "",
    val fingerprint: String = "",
    val token: String = "",
    val worker: String = "",
    val grid: String = "",
) {
    /** Field errors; empty when the settings can make a session. */
    fun validate(): Map<RelayField, FieldProblem> {
        val e = mutableMapOf<RelayField, FieldProblem>()
        val a = address.trim()
        val port = a.substringAfterLast(':', "").toIntOrNull()
        when {
            a.isEmpty() -> e[RelayField.ADDRESS] = FieldProblem.REQUIRED
            !a.contains(':') || a.substringBeforeLast(':').isEmpty() || port == null || port !in 1..65535 ->
                e[RelayField.ADDRESS] = FieldProblem.OUT_OF_RANGE
        }
        val f = fingerprint.trim()
        when {
            f.isEmpty() -> e[RelayField.FINGERPRINT] = FieldProblem.REQUIRED
            !FINGERPRINT.matches(f) -> e[RelayField.FINGERPRINT] = FieldProblem.OUT_OF_RANGE
        }
        if (token.isBlank()) e[RelayField.TOKEN] = FieldProblem.REQUIRED
        Check.text(worker, 64, oneLine = true)?.let { e[RelayField.WORKER] = it }
        if (grid.isBlank()) e[RelayField.GRID] = FieldProblem.REQUIRED
        return e
    }

    /** The session's configuration (call only when [validate] is empty). */
    fun toConfig() = RelayConfig(
        address = address.trim(),
        trust = RelayTrust.Pinned(fingerprint.trim().lowercase()),
        token = token.trim(),
    )

    companion object {
        private val FINGERPRINT = Regex("(?i)sha256:[0-9a-f]{64}")
        private val FIELD = { key: String -> Regex("\"$key\"\\s*:\\s*\"([^\"]*)\"") }

        /**
         * Settings from what the operator pasted or scanned: the JSON line of
         * `gridsync-relay device add --json` (token) merged with the relay's address and
         * fingerprint (`serve --json` prints `listening` and `fingerprint`). Unknown keys are ignored.
         */
        fun fromJson(json: String, base: RelaySettings = RelaySettings()): RelaySettings {
            fun get(k: String) = FIELD(k).find(json)?.groupValues?.get(1)
            return base.copy(
                address = get("address") ?: get("listening") ?: base.address,
                fingerprint = get("fingerprint") ?: base.fingerprint,
                token = get("token") ?: base.token,
            )
        }
    }
}
