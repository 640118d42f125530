package dev.gridsync.demo.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.horizontalScroll
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
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.Add
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Button
import androidx.compose.material3.ExtendedFloatingActionButton
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.Icon
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import dev.gridsync.demo.AppGraph
import dev.gridsync.demo.R
import dev.gridsync.demo.logic.ActionDraft
import dev.gridsync.demo.logic.CaseField
import dev.gridsync.demo.logic.CaseListFilter
import dev.gridsync.demo.logic.CaseRow
import dev.gridsync.demo.logic.Catalogue
import dev.gridsync.demo.logic.TriageSuggestion
import uniffi.gridsync_ffi.ActionKind
import uniffi.gridsync_ffi.ActionName
import uniffi.gridsync_ffi.TriageClass

/** The case report form 上报: category, suggested triage class, photo placeholder. */
@Composable
fun CaseReportScreen(graph: AppGraph, household: String?, onBack: () -> Unit, onReported: (String) -> Unit) {
    val model = rememberModel("report/$household") { graph.caseReport(household) }
    val s by model.state.collectAsState()
    LaunchedEffect(s.savedCaseId) { s.savedCaseId?.let(onReported) }
    Column(Modifier.fillMaxSize().verticalScroll(rememberScrollState()).padding(bottom = 16.dp)) {
        ScreenTitle(R.string.report_title, onBack)
        Column(Modifier.padding(horizontal = 16.dp)) {
            s.household?.let { Text(stringResource(R.string.report_for_household, it), style = MaterialTheme.typography.bodySmall) }
            FormField(s.title, model::setTitle, R.string.report_field_title, s.errors[CaseField.TITLE])
            Text(stringResource(R.string.report_category), style = MaterialTheme.typography.labelLarge)
            ChoiceChips(Catalogue.categories.map { it.code }, s.category, { stringResource(categoryLabel(it)) }, model::setCategory)
            s.errors[CaseField.CATEGORY]?.let { Text(stringResource(it.label()), color = MaterialTheme.colorScheme.error) }
            Text(stringResource(R.string.report_class), style = MaterialTheme.typography.labelLarge, modifier = Modifier.padding(top = 8.dp))
            ChoiceChips(listOf<TriageClass?>(null) + TriageClass.entries, s.suggestedClass, { c ->
                if (c == null) stringResource(R.string.report_class_none) else stringResource(c.label())
            }, model::setSuggestedClass)
            FormField(s.description, model::setDescription, R.string.report_description, s.errors[CaseField.DESCRIPTION], singleLine = false, minLines = 4)
            Text(stringResource(R.string.report_photos), style = MaterialTheme.typography.labelLarge)
            // Placeholder: a real app starts the camera (ActivityResultContracts.TakePicture) here.
            OutlinedButton(onClick = { model.addPhoto("placeholder-${s.photos.size + 1}.jpg") }) {
                Text(stringResource(R.string.report_add_photo))
            }
            if (s.photos.isNotEmpty()) Text(stringResource(R.string.report_photos_count, s.photos.size), style = MaterialTheme.typography.bodySmall)
            s.error?.let { ErrorBox(it, Modifier.padding(vertical = 8.dp)) }
            Button(onClick = model::submit, enabled = !s.saving, modifier = Modifier.fillMaxWidth().padding(top = 8.dp)) {
                Text(stringResource(R.string.report_submit))
            }
        }
    }
}

/** The case list: status, triage class and the overdue marker. */
@Composable
fun CaseListScreen(graph: AppGraph, onOpen: (String) -> Unit, onReport: () -> Unit) {
    val model = rememberModel("cases") { graph.caseList() }
    val s by model.state.collectAsState()
    LaunchedEffect(model) { model.refresh() }
    Column(Modifier.fillMaxSize()) {
        Row(verticalAlignment = Alignment.CenterVertically) {
            Column(Modifier.weight(1f)) { ScreenTitle(R.string.cases_title) }
            ExtendedFloatingActionButton(
                onClick = onReport,
                icon = { Icon(Icons.Filled.Add, contentDescription = null) },
                text = { Text(stringResource(R.string.household_report_case)) },
                modifier = Modifier.padding(8.dp),
            )
        }
        Row(Modifier.padding(horizontal = 16.dp)) {
            ChoiceChips(CaseListFilter.entries, s.filter, { stringResource(it.label()) }, model::setFilter)
        }
        s.error?.let { ErrorBox(it, Modifier.padding(16.dp)) }
        if (!s.loading && s.rows.isEmpty()) Text(stringResource(R.string.cases_empty), Modifier.padding(16.dp))
        LazyColumn {
            items(s.rows, key = { it.id }) { row -> CaseItem(row, onOpen) }
        }
    }
}

@Composable
private fun CaseItem(row: CaseRow, onOpen: (String) -> Unit) {
    ListItem(
        headlineContent = { Text(row.title) },
        supportingContent = {
            val category = storedCategoryLabel(row.category)?.let { stringResource(it) } ?: row.category
            Text(category + " · " + formatDate(row.reportedAt) + (row.deadline?.let { " · " + stringResource(R.string.case_deadline, formatDate(it)) } ?: ""))
        },
        trailingContent = {
            Column(horizontalAlignment = Alignment.End, verticalArrangement = Arrangement.spacedBy(2.dp)) {
                Tag(stringResource(row.status.label()))
                row.triageClass?.let { Tag(stringResource(it.label())) }
                if (row.overdue) Tag(stringResource(R.string.case_overdue), color = OverdueColor, textColor = MaterialTheme.colorScheme.surface)
                if (row.needsReview) Tag(stringResource(R.string.case_needs_review))
            }
        },
        modifier = Modifier.clickable { onOpen(row.id) },
    )
    HorizontalDivider()
}

/** A case: what was reported, where it stands, its timeline, and the buttons the role may press. */
@Composable
fun CaseDetailScreen(graph: AppGraph, id: String, onBack: () -> Unit) {
    val model = rememberModel("case/$id") { graph.caseDetail(id).also { it.refresh() } }
    val s by model.state.collectAsState()
    var dialog by remember { mutableStateOf<ActionName?>(null) }
    Column(Modifier.fillMaxSize()) {
        ScreenTitle(R.string.cases_title, onBack)
        val c = s.case
        LazyColumn(Modifier.padding(horizontal = 16.dp)) {
            item {
                s.error?.let { e ->
                    ErrorBox(
                        e, Modifier.padding(vertical = 8.dp).clickable { model.dismissError() },
                        prefix = s.failedAction?.let { R.string.case_action_failed },
                        prefixArg = s.failedAction?.let { stringResource(it.label()) }.orEmpty(),
                    )
                }
            }
            if (c != null) {
                item {
                    Text(c.title, style = MaterialTheme.typography.headlineSmall)
                    Row(horizontalArrangement = Arrangement.spacedBy(4.dp), modifier = Modifier.padding(vertical = 4.dp)) {
                        Tag(stringResource(c.status.label()))
                        c.triageClass?.let { Tag(stringResource(it.label())) }
                        if (s.overdue) Tag(stringResource(R.string.case_overdue), color = OverdueColor, textColor = MaterialTheme.colorScheme.surface)
                        if (c.needsReview) Tag(stringResource(R.string.case_needs_review))
                    }
                    Text(storedCategoryLabel(c.category)?.let { stringResource(it) } ?: c.category)
                    if (c.description.isNotBlank()) Text(c.description, Modifier.padding(vertical = 4.dp))
                    c.level?.let { Text(stringResource(R.string.case_level, stringResource(it.label()))) }
                    c.assignee?.let { Text(stringResource(R.string.case_assignee, it)) }
                    c.deadline?.let { Text(stringResource(R.string.case_deadline, formatDateTime(it)), color = if (s.overdue) OverdueColor else MaterialTheme.colorScheme.onSurface) }
                    if (c.escalations > 0u) Text(stringResource(R.string.case_escalations, c.escalations.toInt()))
                    s.suggestedClass?.let { Text(stringResource(R.string.case_suggested, stringResource(it.label()))) }

                    Text(stringResource(R.string.case_actions), style = MaterialTheme.typography.titleMedium, modifier = Modifier.padding(top = 12.dp))
                    if (s.allowed.isEmpty()) Text(stringResource(R.string.case_no_actions))
                    Row(Modifier.horizontalScroll(rememberScrollState()).padding(vertical = 4.dp), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                        for (a in s.allowed) {
                            if (a == ActionName.ACCEPT || a == ActionName.START) {
                                Button(onClick = { model.perform(a) }, enabled = !s.busy) { Text(stringResource(a.label())) }
                            } else {
                                OutlinedButton(onClick = { dialog = a }, enabled = !s.busy) { Text(stringResource(a.label())) }
                            }
                        }
                    }
                    Text(stringResource(R.string.case_timeline), style = MaterialTheme.typography.titleMedium, modifier = Modifier.padding(top = 12.dp))
                }
                items(c.timeline.asReversed(), key = { it.id }) { e ->
                    val suggestion = (e.kind as? ActionKind.Comment)?.let { TriageSuggestion.parse(it.text) }
                    ListItem(
                        headlineContent = {
                            Text(stringResource(R.string.case_entry, formatDateTime(e.at), stringResource(e.kind.label()), stringResource(e.role.label())))
                        },
                        supportingContent = {
                            Column {
                                Text(e.actor)
                                val detail = when (val k = e.kind) {
                                    is ActionKind.Comment -> if (suggestion != null) stringResource(R.string.case_suggested, stringResource(suggestion.label())) else k.text
                                    is ActionKind.Triage -> stringResource(k.triageClass.label())
                                    is ActionKind.Resolve -> k.summary
                                    is ActionKind.Escalate -> k.reason
                                    is ActionKind.Reject -> k.reason
                                    is ActionKind.Evaluate -> stringResource(if (k.satisfied) R.string.field_satisfied else R.string.field_not_satisfied) + " " + k.comment
                                    is ActionKind.Assign -> k.assignee
                                    is ActionKind.Duplicate -> k.ofCase
                                    else -> ""
                                }
                                if (detail.isNotBlank()) Text(detail)
                                e.problem?.let { Text(stringResource(R.string.case_problem, it), color = MaterialTheme.colorScheme.error) }
                            }
                        },
                    )
                }
            }
        }
    }
    dialog?.let { a ->
        ActionDialog(a, s.suggestedClass, onDismiss = { dialog = null }) { draft ->
            dialog = null
            model.perform(a, draft)
        }
    }
}

/** Collects what an action needs (reason, summary, class, assignee …). */
@Composable
private fun ActionDialog(action: ActionName, suggested: TriageClass?, onDismiss: () -> Unit, onConfirm: (ActionDraft) -> Unit) {
    var draft by remember { mutableStateOf(ActionDraft(triageClass = suggested)) }
    AlertDialog(
        onDismissRequest = onDismiss,
        title = { Text(stringResource(action.label())) },
        text = {
            Column {
                when (action) {
                    ActionName.TRIAGE -> {
                        Text(stringResource(R.string.field_class), style = MaterialTheme.typography.labelLarge)
                        ChoiceChips(TriageClass.entries, draft.triageClass, { stringResource(it.label()) }) { draft = draft.copy(triageClass = it) }
                        FormField(draft.assignee, { draft = draft.copy(assignee = it) }, R.string.field_assignee, null)
                    }
                    ActionName.ASSIGN -> FormField(draft.assignee, { draft = draft.copy(assignee = it) }, R.string.field_assignee, null)
                    ActionName.DUPLICATE -> FormField(draft.ofCase, { draft = draft.copy(ofCase = it) }, R.string.field_of_case, null)
                    ActionName.EVALUATE -> {
                        Row(verticalAlignment = Alignment.CenterVertically) {
                            Text(stringResource(R.string.field_satisfied), Modifier.weight(1f))
                            Switch(checked = draft.satisfied, onCheckedChange = { draft = draft.copy(satisfied = it) })
                        }
                        FormField(draft.text, { draft = draft.copy(text = it) }, R.string.field_comment, null, singleLine = false)
                    }
                    ActionName.ESCALATE -> {
                        FormField(draft.text, { draft = draft.copy(text = it) }, R.string.field_reason, null, singleLine = false)
                        Row(verticalAlignment = Alignment.CenterVertically) {
                            Text(stringResource(R.string.field_beyond_level), Modifier.weight(1f))
                            Switch(checked = draft.beyondLevel, onCheckedChange = { draft = draft.copy(beyondLevel = it) })
                        }
                    }
                    ActionName.REJECT -> FormField(draft.text, { draft = draft.copy(text = it) }, R.string.field_reason, null, singleLine = false)
                    ActionName.RESOLVE -> FormField(draft.text, { draft = draft.copy(text = it) }, R.string.field_summary, null, singleLine = false)
                    ActionName.COMMENT -> FormField(draft.text, { draft = draft.copy(text = it) }, R.string.field_text, null, singleLine = false)
                    ActionName.ACCEPT, ActionName.START -> {}
                }
            }
        },
        confirmButton = { TextButton(onClick = { onConfirm(draft) }) { Text(stringResource(R.string.ok)) } },
        dismissButton = { TextButton(onClick = onDismiss) { Text(stringResource(R.string.cancel)) } },
        modifier = Modifier.fillMaxWidth(),
    )
}
