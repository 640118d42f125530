package dev.gridsync.demo

import android.content.Context
import android.content.SharedPreferences
import androidx.security.crypto.EncryptedSharedPreferences
import androidx.security.crypto.MasterKey
import dev.gridsync.demo.logic.RelaySettings
import java.util.UUID
import uniffi.gridsync_ffi.Role

/** What the settings screen edits: the relay enrollment and who uses the phone, in which role. */
data class AppSettings(val relay: RelaySettings, val role: Role)

/** Settings in EncryptedSharedPreferences: the device token is a credential. */
class SettingsStore(context: Context) {
    private val prefs: SharedPreferences = EncryptedSharedPreferences.create(
        context,
        "gridsync-settings",
        MasterKey.Builder(context).setKeyScheme(MasterKey.KeyScheme.AES256_GCM).build(),
        EncryptedSharedPreferences.PrefKeyEncryptionScheme.AES256_SIV,
        EncryptedSharedPreferences.PrefValueEncryptionScheme.AES256_GCM,
    )

    /** This installation's stable device id, made on first use (the store is opened for it). */
    val deviceId: String
        get() = prefs.getString(DEVICE, null) ?: ("android-" + UUID.randomUUID().toString().take(8)).also {
            prefs.edit().putString(DEVICE, it).apply()
        }

    fun load() = AppSettings(
        relay = RelaySettings(
            address = prefs.getString(ADDRESS, null) ?: BuildConfig.RELAY_ADDRESS,
            fingerprint = prefs.getString(FINGERPRINT, null) ?: BuildConfig.RELAY_FINGERPRINT,
            token = prefs.getString(TOKEN, null) ?: BuildConfig.RELAY_TOKEN,
            worker = prefs.getString(WORKER, null) ?: BuildConfig.WORKER,
            grid = prefs.getString(GRID, null) ?: BuildConfig.GRID,
        ),
        role = prefs.getString(ROLE, null)?.let { r -> Role.entries.firstOrNull { it.name == r } } ?: Role.GRID_WORKER,
    )

    fun save(s: AppSettings) {
        prefs.edit()
            .putString(ADDRESS, s.relay.address.trim())
            .putString(FINGERPRINT, s.relay.fingerprint.trim())
            .putString(TOKEN, s.relay.token.trim())
            .putString(WORKER, s.relay.worker.trim())
            .putString(GRID, s.relay.grid.trim())
            .putString(ROLE, s.role.name)
            .apply()
    }

    private companion object {
        const val DEVICE = "device"
        const val ADDRESS = "relay.address"
        const val FINGERPRINT = "relay.fingerprint"
        const val TOKEN = "relay.token"
        const val WORKER = "worker"
        const val GRID = "grid"
        const val ROLE = "role"
    }
}
