package dev.gridsync.demo.ui

import androidx.compose.foundation.background
import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.size
import androidx.compose.foundation.layout.statusBarsPadding
import androidx.compose.foundation.shape.CircleShape
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.Refresh
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import dev.gridsync.demo.R
import dev.gridsync.demo.logic.SyncBarModel
import uniffi.gridsync_ffi.LinkState

/** The sync bar: link, pending count, last sync, last error, and "sync now". */
@Composable
fun SyncBar(model: SyncBarModel?, onSetUp: () -> Unit) {
    val bg = MaterialTheme.colorScheme.surfaceVariant
    if (model == null) {
        Text(
            stringResource(R.string.sync_not_configured),
            style = MaterialTheme.typography.bodySmall,
            modifier = Modifier.fillMaxWidth().background(bg).statusBarsPadding().clickable(onClick = onSetUp).padding(12.dp),
        )
        return
    }
    val s by model.state.collectAsState()
    Column(Modifier.fillMaxWidth().background(bg).statusBarsPadding().padding(horizontal = 12.dp, vertical = 6.dp)) {
        Row(verticalAlignment = Alignment.CenterVertically, horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            val (text, color) = when {
                s.stalled -> R.string.sync_stalled to OverdueColor
                s.online -> R.string.sync_online to OnlineColor
                s.link == LinkState.CONNECTING -> R.string.sync_connecting to OfflineColor
                else -> R.string.sync_offline to OfflineColor
            }
            Box(Modifier.size(10.dp).background(color, CircleShape))
            Text(stringResource(text), style = MaterialTheme.typography.labelLarge)
            Text(
                if (s.pending > 0) stringResource(R.string.sync_pending, s.pending.toInt()) else stringResource(R.string.sync_all_synced),
                style = MaterialTheme.typography.labelMedium,
            )
            Text(
                s.lastSync?.let { stringResource(R.string.sync_last, formatAgo(it)) } ?: stringResource(R.string.sync_never),
                style = MaterialTheme.typography.labelSmall,
                modifier = Modifier.weight(1f),
            )
            if (s.syncing) {
                CircularProgressIndicator(Modifier.size(20.dp), strokeWidth = 2.dp)
            } else {
                IconButton(onClick = { model.syncNow() }, enabled = !s.online) {
                    Icon(Icons.Filled.Refresh, contentDescription = stringResource(R.string.sync_now))
                }
            }
        }
        s.lastError?.let { e ->
            Text(
                stringResource(e.kind.label()) + " · " + e.detail,
                color = MaterialTheme.colorScheme.error,
                style = MaterialTheme.typography.bodySmall,
                maxLines = 2,
            )
        }
    }
}
