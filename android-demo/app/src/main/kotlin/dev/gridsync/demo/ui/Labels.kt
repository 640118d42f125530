package dev.gridsync.demo.ui

import androidx.annotation.StringRes
import dev.gridsync.demo.R
import dev.gridsync.demo.logic.CaseListFilter
import dev.gridsync.demo.logic.Catalogue
import dev.gridsync.demo.logic.ErrorKind
import dev.gridsync.demo.logic.FieldProblem
import uniffi.gridsync_ffi.ActionKind
import uniffi.gridsync_ffi.ActionName
import uniffi.gridsync_ffi.CaseStatus
import uniffi.gridsync_ffi.Level
import uniffi.gridsync_ffi.Role
import uniffi.gridsync_ffi.Tier
import uniffi.gridsync_ffi.TriageClass
import uniffi.gridsync_ffi.VisitMode

// Every enum the screens show, as a string resource (Chinese in values/, English in values-en/).

@StringRes
fun Tier.label() = when (this) {
    Tier.RED -> R.string.tier_red
    Tier.YELLOW -> R.string.tier_yellow
    Tier.GREEN -> R.string.tier_green
}

@StringRes
fun VisitMode.label() = when (this) {
    VisitMode.DOOR_TO_DOOR -> R.string.mode_door_to_door
    VisitMode.PHONE -> R.string.mode_phone
    VisitMode.COURTYARD_MEETING -> R.string.mode_courtyard_meeting
}

@StringRes
fun CaseStatus.label() = when (this) {
    CaseStatus.REPORTED -> R.string.status_reported
    CaseStatus.ACCEPTED -> R.string.status_accepted
    CaseStatus.TRIAGED -> R.string.status_triaged
    CaseStatus.IN_PROGRESS -> R.string.status_in_progress
    CaseStatus.RESOLVED -> R.string.status_resolved
    CaseStatus.CLOSED -> R.string.status_closed
    CaseStatus.REJECTED -> R.string.status_rejected
    CaseStatus.DUPLICATE -> R.string.status_duplicate
}

@StringRes
fun TriageClass.label() = when (this) {
    TriageClass.BIG -> R.string.class_big
    TriageClass.SMALL -> R.string.class_small
    TriageClass.PRIVATE -> R.string.class_private
}

@StringRes
fun Level.label() = when (this) {
    Level.GRID -> R.string.level_grid
    Level.COMMUNITY -> R.string.level_community
    Level.STREET -> R.string.level_street
}

@StringRes
fun Role.label() = when (this) {
    Role.GRID_WORKER -> R.string.role_grid_worker
    Role.GRID_LEADER -> R.string.role_grid_leader
    Role.COMMUNITY_STAFF -> R.string.role_community_staff
    Role.STREET_STAFF -> R.string.role_street_staff
    Role.SUPERVISOR -> R.string.role_supervisor
}

@StringRes
fun ActionName.label() = when (this) {
    ActionName.ACCEPT -> R.string.action_accept
    ActionName.TRIAGE -> R.string.action_triage
    ActionName.ASSIGN -> R.string.action_assign
    ActionName.START -> R.string.action_start
    ActionName.ESCALATE -> R.string.action_escalate
    ActionName.RESOLVE -> R.string.action_resolve
    ActionName.EVALUATE -> R.string.action_evaluate
    ActionName.REJECT -> R.string.action_reject
    ActionName.DUPLICATE -> R.string.action_duplicate
    ActionName.COMMENT -> R.string.action_comment
}

@StringRes
fun ActionKind.label() = when (this) {
    is ActionKind.Report -> R.string.action_report
    is ActionKind.Accept -> R.string.action_accept
    is ActionKind.Triage -> R.string.action_triage
    is ActionKind.Assign -> R.string.action_assign
    is ActionKind.Start -> R.string.action_start
    is ActionKind.Escalate -> R.string.action_escalate
    is ActionKind.Resolve -> R.string.action_resolve
    is ActionKind.Evaluate -> R.string.action_evaluate
    is ActionKind.Reject -> R.string.action_reject
    is ActionKind.Duplicate -> R.string.action_duplicate
    is ActionKind.Comment -> R.string.action_comment
}

@StringRes
fun ErrorKind.label() = when (this) {
    ErrorKind.INVALID_INPUT -> R.string.error_invalid_input
    ErrorKind.NOT_FOUND -> R.string.error_not_found
    ErrorKind.NOT_ALLOWED -> R.string.error_not_allowed
    ErrorKind.STORAGE -> R.string.error_storage
    ErrorKind.CORRUPT -> R.string.error_corrupt
    ErrorKind.UPGRADE_REQUIRED -> R.string.error_upgrade_required
    ErrorKind.DENIED -> R.string.error_denied
    ErrorKind.NETWORK -> R.string.error_network
    ErrorKind.UNEXPECTED -> R.string.error_unexpected
}

@StringRes
fun FieldProblem.label() = when (this) {
    FieldProblem.REQUIRED -> R.string.problem_required
    FieldProblem.TOO_LONG -> R.string.problem_too_long
    FieldProblem.ONE_LINE -> R.string.problem_one_line
    FieldProblem.IN_FUTURE -> R.string.problem_in_future
    FieldProblem.OUT_OF_RANGE -> R.string.problem_out_of_range
    FieldProblem.TOO_MANY -> R.string.problem_too_many
    FieldProblem.REJECTED -> R.string.problem_rejected
}

@StringRes
fun CaseListFilter.label() = when (this) {
    CaseListFilter.ALL -> R.string.filter_all
    CaseListFilter.OPEN -> R.string.filter_open
    CaseListFilter.OVERDUE -> R.string.filter_overdue
}

/** A catalogue category by its code; categories from elsewhere are shown as stored. */
@StringRes
fun categoryLabel(code: String): Int = when (code) {
    "dispute" -> R.string.category_dispute
    "sanitation" -> R.string.category_sanitation
    "facilities" -> R.string.category_facilities
    "safety" -> R.string.category_safety
    "hardship" -> R.string.category_hardship
    "roads" -> R.string.category_roads
    "services" -> R.string.category_services
    else -> R.string.category_other
}

/** The label of a stored category, or null when it is not in this app's catalogue. */
@StringRes
fun storedCategoryLabel(stored: String): Int? = Catalogue.byStored(stored)?.let { categoryLabel(it.code) }
