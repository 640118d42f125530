@file:OptIn(ExperimentalMaterial3Api::class)

package dev.gridsync.demo.ui

import android.text.format.DateUtils
import androidx.annotation.StringRes
import androidx.compose.foundation.background
import androidx.compose.foundation.horizontalScroll
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.size
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.shape.CircleShape
import androidx.compose.foundation.shape.RoundedCornerShape
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.automirrored.filled.ArrowBack
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.FilterChip
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import dev.gridsync.demo.R
import dev.gridsync.demo.logic.FieldProblem
import dev.gridsync.demo.logic.UiError
import java.text.DateFormat
import java.util.Date
import uniffi.gridsync_ffi.Address
import uniffi.gridsync_ffi.Tier

/** A screen title with an optional back arrow. */
@Composable
fun ScreenTitle(@StringRes title: Int, onBack: (() -> Unit)? = null) {
    Row(Modifier.fillMaxWidth().padding(horizontal = 8.dp, vertical = 4.dp), verticalAlignment = Alignment.CenterVertically) {
        if (onBack != null) {
            IconButton(onClick = onBack) {
                Icon(Icons.AutoMirrored.Filled.ArrowBack, contentDescription = stringResource(R.string.back))
            }
        }
        Text(stringResource(title), style = MaterialTheme.typography.titleLarge, modifier = Modifier.padding(start = 8.dp))
    }
}

/** The coloured dot of a household's tier. */
@Composable
fun TierDot(tier: Tier) {
    Box(Modifier.size(14.dp).background(tier.color(), CircleShape))
}

/** A small coloured label (tier, status, class, overdue). */
@Composable
fun Tag(text: String, color: Color = MaterialTheme.colorScheme.secondaryContainer, textColor: Color = MaterialTheme.colorScheme.onSecondaryContainer) {
    Text(
        text,
        color = textColor,
        style = MaterialTheme.typography.labelSmall,
        modifier = Modifier.background(color, RoundedCornerShape(4.dp)).padding(horizontal = 6.dp, vertical = 2.dp),
    )
}

/** An error: the localized sentence for its kind, and the core's detail underneath. */
@Composable
fun ErrorBox(error: UiError, modifier: Modifier = Modifier, @StringRes prefix: Int? = null, prefixArg: String = "") {
    Column(
        modifier.fillMaxWidth().background(MaterialTheme.colorScheme.errorContainer, RoundedCornerShape(8.dp)).padding(12.dp),
    ) {
        val head = stringResource(error.kind.label())
        Text(
            if (prefix != null) stringResource(R.string.error_after, stringResource(prefix, prefixArg), head) else head,
            color = MaterialTheme.colorScheme.onErrorContainer,
            style = MaterialTheme.typography.bodyMedium,
        )
        if (error.detail.isNotBlank()) {
            Text(error.detail, color = MaterialTheme.colorScheme.onErrorContainer, style = MaterialTheme.typography.bodySmall)
        }
    }
}

/** A text field with its validation problem. */
@Composable
fun FormField(
    value: String,
    onChange: (String) -> Unit,
    @StringRes label: Int,
    problem: FieldProblem?,
    modifier: Modifier = Modifier,
    singleLine: Boolean = true,
    minLines: Int = 1,
    number: Boolean = false,
) {
    OutlinedTextField(
        value = value,
        onValueChange = onChange,
        label = { Text(stringResource(label)) },
        isError = problem != null,
        supportingText = if (problem != null) { { Text(stringResource(problem.label())) } } else null,
        singleLine = singleLine,
        minLines = minLines,
        keyboardOptions = if (number) KeyboardOptions(keyboardType = KeyboardType.Number) else KeyboardOptions.Default,
        modifier = modifier.fillMaxWidth().padding(vertical = 4.dp),
    )
}

/** One choice of several, as a scrollable row of chips. */
@Composable
fun <T> ChoiceChips(options: List<T>, selected: T?, label: @Composable (T) -> String, onSelect: (T) -> Unit) {
    Row(Modifier.horizontalScroll(rememberScrollState()), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
        for (o in options) {
            FilterChip(selected = o == selected, onClick = { onSelect(o) }, label = { Text(label(o)) })
        }
    }
}

@Composable
fun addressText(a: Address): String = when (a) {
    is Address.Rural -> stringResource(R.string.address_rural, a.group, a.courtyard, a.number)
    is Address.Urban -> stringResource(R.string.address_urban, a.building, a.unit, a.room)
}

fun formatDate(ms: Long): String = DateFormat.getDateInstance(DateFormat.MEDIUM).format(Date(ms))

fun formatDateTime(ms: Long): String = DateFormat.getDateTimeInstance(DateFormat.MEDIUM, DateFormat.SHORT).format(Date(ms))

/** "5 minutes ago", localized by the platform. */
fun formatAgo(ms: Long, now: Long = System.currentTimeMillis()): String =
    DateUtils.getRelativeTimeSpanString(ms, now, DateUtils.MINUTE_IN_MILLIS).toString()
