package dev.gridsync.demo.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import dev.gridsync.demo.AppGraph
import dev.gridsync.demo.R
import dev.gridsync.demo.logic.DueRow
import dev.gridsync.demo.logic.Urgency
import dev.gridsync.demo.logic.VisitField
import uniffi.gridsync_ffi.VisitMode

/** Today's due visits: red, yellow and green households, overdue first. */
@Composable
fun DueVisitsScreen(graph: AppGraph, onOpen: (String) -> Unit) {
    val model = rememberModel("due") { graph.dueVisits() }
    val s by model.state.collectAsState()
    LaunchedEffect(model) { model.refresh() } // the date moves on while the app sleeps
    Column(Modifier.fillMaxSize()) {
        ScreenTitle(R.string.due_title)
        if (s.overdueCount > 0) {
            Text(
                stringResource(R.string.due_overdue_count, s.overdueCount),
                color = OverdueColor,
                modifier = Modifier.padding(horizontal = 16.dp),
            )
        }
        s.error?.let { ErrorBox(it, Modifier.padding(16.dp)) }
        if (!s.loading && s.rows.isEmpty()) {
            Text(stringResource(R.string.due_empty), Modifier.padding(16.dp))
        }
        LazyColumn {
            items(s.rows, key = { it.household }) { row -> DueItem(row, onOpen) }
        }
    }
}

@Composable
private fun DueItem(row: DueRow, onOpen: (String) -> Unit) {
    ListItem(
        leadingContent = { TierDot(row.tier) },
        headlineContent = { Text(row.head) },
        supportingContent = {
            Text(row.lastVisit?.let { stringResource(R.string.due_last_visit, formatDate(it)) } ?: stringResource(R.string.due_never))
        },
        trailingContent = {
            Column(horizontalAlignment = Alignment.End) {
                Tag(stringResource(row.tier.label()), color = row.tier.color(), textColor = MaterialTheme.colorScheme.surface)
                when (row.urgency) {
                    Urgency.OVERDUE -> Text(stringResource(R.string.due_overdue_days, row.daysOverdue.toInt()), color = OverdueColor)
                    Urgency.DUE -> Text(stringResource(R.string.due_now))
                    Urgency.UPCOMING -> Text(stringResource(R.string.due_upcoming, formatDate(row.dueAt)))
                }
            }
        },
        modifier = Modifier.clickable { onOpen(row.household) },
    )
    HorizontalDivider()
}

/** A household: who lives there, its tier history and its visits (民情日记). */
@Composable
fun HouseholdScreen(graph: AppGraph, id: String, onBack: () -> Unit, onLogVisit: () -> Unit, onReportCase: () -> Unit) {
    val model = rememberModel("household/$id") { graph.household(id).also { it.refresh() } }
    val s by model.state.collectAsState()
    Column(Modifier.fillMaxSize()) {
        ScreenTitle(R.string.household_title, onBack)
        s.error?.let { ErrorBox(it, Modifier.padding(16.dp)) }
        val h = s.household ?: return@Column
        LazyColumn(Modifier.padding(horizontal = 16.dp)) {
            item {
                Row(verticalAlignment = Alignment.CenterVertically, horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                    TierDot(h.tier)
                    Text(h.head, style = MaterialTheme.typography.headlineSmall)
                    Tag(stringResource(h.tier.label()), color = h.tier.color(), textColor = MaterialTheme.colorScheme.surface)
                }
                Text(addressText(h.address))
                if (h.phone.isNotBlank()) Text(stringResource(R.string.household_phone, h.phone))
                if (h.tags.isNotEmpty()) {
                    Row(Modifier.padding(vertical = 4.dp), horizontalArrangement = Arrangement.spacedBy(4.dp)) {
                        h.tags.forEach { Tag(it) }
                    }
                }
                if (s.unsynced) Text(stringResource(R.string.household_unsynced), style = MaterialTheme.typography.bodySmall)
                Row(Modifier.padding(vertical = 8.dp), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                    Button(onClick = onLogVisit) { Text(stringResource(R.string.household_log_visit)) }
                    OutlinedButton(onClick = onReportCase) { Text(stringResource(R.string.household_report_case)) }
                }
                if (h.members.isNotEmpty()) {
                    Text(stringResource(R.string.household_members), style = MaterialTheme.typography.titleMedium)
                    h.members.forEach { m -> Text(stringResource(R.string.member_line, m.name, m.relation, m.birthYear.toInt())) }
                }
                Text(stringResource(R.string.household_tier_history), style = MaterialTheme.typography.titleMedium, modifier = Modifier.padding(top = 8.dp))
                h.tierHistory.forEach { c ->
                    Text(stringResource(R.string.household_tier_change, formatDate(c.at), stringResource(c.tier.label()), c.reason.ifBlank { c.by }))
                }
                Text(stringResource(R.string.household_visits), style = MaterialTheme.typography.titleMedium, modifier = Modifier.padding(top = 8.dp))
                if (s.visits.isEmpty()) Text(stringResource(R.string.household_no_visits))
            }
            items(s.visits, key = { it.id }) { v ->
                ListItem(
                    headlineContent = { Text(formatDateTime(v.at) + " · " + stringResource(v.mode.label())) },
                    supportingContent = {
                        Text(v.worker + if (v.openFollowUps > 0u) " · " + stringResource(R.string.visit_open_follow_ups, v.openFollowUps.toInt()) else "")
                    },
                )
            }
        }
    }
}

/** The visit form; validation is the model's, the screen shows its field problems. */
@Composable
fun VisitFormScreen(graph: AppGraph, household: String, onDone: () -> Unit) {
    val model = rememberModel("visit/$household") { graph.visitForm(household) }
    val s by model.state.collectAsState()
    LaunchedEffect(s.savedVisitId) { if (s.savedVisitId != null) onDone() }
    Column(Modifier.fillMaxSize().verticalScroll(rememberScrollState()).padding(bottom = 16.dp)) {
        ScreenTitle(R.string.visit_title, onDone)
        Column(Modifier.padding(horizontal = 16.dp)) {
            Text(stringResource(R.string.visit_mode), style = MaterialTheme.typography.labelLarge)
            ChoiceChips(VisitMode.entries, s.mode, { stringResource(it.label()) }, model::setMode)
            FormField(
                s.daysAgo.toString(), { model.setDaysAgo(it.toIntOrNull() ?: 0) },
                R.string.visit_days_ago, s.errors[VisitField.WHEN], number = true,
            )
            FormField(s.notes, model::setNotes, R.string.visit_notes, s.errors[VisitField.NOTES], singleLine = false, minLines = 5)
            FormField(s.findings, model::setFindings, R.string.visit_findings, s.errors[VisitField.FINDINGS], singleLine = false, minLines = 2)
            FormField(s.followUp, model::setFollowUp, R.string.visit_follow_up, s.errors[VisitField.FOLLOW_UP])
            if (s.followUp.isNotBlank()) {
                FormField(s.followUpDays, model::setFollowUpDays, R.string.visit_follow_up_days, s.errors[VisitField.FOLLOW_UP_DAYS], number = true)
            }
            s.error?.let { ErrorBox(it, Modifier.padding(vertical = 8.dp)) }
            Button(onClick = model::submit, enabled = !s.saving, modifier = Modifier.fillMaxWidth().padding(top = 8.dp)) {
                Text(stringResource(R.string.save))
            }
        }
    }
}
