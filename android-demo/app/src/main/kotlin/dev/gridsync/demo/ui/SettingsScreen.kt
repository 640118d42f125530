package dev.gridsync.demo.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import dev.gridsync.demo.AppGraph
import dev.gridsync.demo.AppSettings
import dev.gridsync.demo.R
import dev.gridsync.demo.logic.DemoData
import dev.gridsync.demo.logic.FieldProblem
import dev.gridsync.demo.logic.RelayField
import dev.gridsync.demo.logic.RelaySettings
import dev.gridsync.demo.logic.StateHolder
import uniffi.gridsync_ffi.Role

/**
 * Relay enrollment (address, fingerprint, token from `gridsync-relay device add`), who uses
 * the phone and in which role (the role decides the case buttons), and demo data.
 */
@Composable
fun SettingsScreen(graph: AppGraph) {
    val saved by graph.settings.collectAsState()
    var relay by remember(saved) { mutableStateOf(saved.relay) }
    var role by remember(saved) { mutableStateOf(saved.role) }
    var paste by remember { mutableStateOf("") }
    var errors by remember { mutableStateOf(emptyMap<RelayField, FieldProblem>()) }
    var justSaved by remember { mutableStateOf(false) }
    val demoAdded = remember { StateHolder(0) }
    val added by demoAdded.collectAsState()

    Column(Modifier.fillMaxSize().verticalScroll(rememberScrollState()).padding(bottom = 16.dp)) {
        ScreenTitle(R.string.settings_title)
        Column(Modifier.padding(horizontal = 16.dp)) {
            Text(stringResource(R.string.settings_relay), style = MaterialTheme.typography.titleMedium)
            FormField(paste, { paste = it }, R.string.settings_paste, null, singleLine = false)
            OutlinedButton(onClick = { relay = RelaySettings.fromJson(paste, relay); paste = "" }) {
                Text(stringResource(R.string.settings_apply_paste))
            }
            FormField(relay.address, { relay = relay.copy(address = it) }, R.string.settings_address, errors[RelayField.ADDRESS])
            FormField(relay.fingerprint, { relay = relay.copy(fingerprint = it) }, R.string.settings_fingerprint, errors[RelayField.FINGERPRINT])
            FormField(relay.token, { relay = relay.copy(token = it) }, R.string.settings_token, errors[RelayField.TOKEN])

            Text(stringResource(R.string.settings_me), style = MaterialTheme.typography.titleMedium, modifier = Modifier.padding(top = 12.dp))
            FormField(relay.worker, { relay = relay.copy(worker = it) }, R.string.settings_worker, errors[RelayField.WORKER])
            FormField(relay.grid, { relay = relay.copy(grid = it) }, R.string.settings_grid, errors[RelayField.GRID])
            Text(stringResource(R.string.settings_role), style = MaterialTheme.typography.labelLarge)
            ChoiceChips(Role.entries, role, { stringResource(it.label()) }) { role = it }

            Row(Modifier.padding(top = 12.dp), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                Button(onClick = {
                    errors = relay.validate()
                    // Saved even when the relay part is incomplete: the app works offline without one.
                    graph.save(AppSettings(relay, role))
                    justSaved = true
                }) { Text(stringResource(R.string.save)) }
                OutlinedButton(onClick = {
                    graph.io.execute {
                        runCatching { DemoData.seed(graph.replica, graph.me, System.currentTimeMillis()) }
                            .onSuccess { ids -> demoAdded.set(ids.size) }
                    }
                }) { Text(stringResource(R.string.settings_demo_data)) }
            }
            if (justSaved) Text(stringResource(R.string.settings_saved), style = MaterialTheme.typography.bodySmall)
            if (added > 0) Text(stringResource(R.string.settings_demo_added, added), style = MaterialTheme.typography.bodySmall)
        }
    }
}
