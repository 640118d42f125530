package dev.gridsync.demo.logic

import java.util.concurrent.Executor
import uniffi.gridsync_ffi.FollowUp
import uniffi.gridsync_ffi.GridsyncReplica
import uniffi.gridsync_ffi.NewVisit
import uniffi.gridsync_ffi.VisitMode

enum class VisitField { WHEN, NOTES, FINDINGS, FOLLOW_UP, FOLLOW_UP_DAYS }

data class VisitFormState(
    val mode: VisitMode = VisitMode.DOOR_TO_DOOR,
    /** How many days ago the visit was made (0 = now): visits are often written up later. */
    val daysAgo: Int = 0,
    /** The diary entry 民情日记. */
    val notes: String = "",
    /** Problems found, one per line. */
    val findings: String = "",
    /** A follow-up to do, may be empty. */
    val followUp: String = "",
    /** In how many days the follow-up is due. */
    val followUpDays: String = "7",
    val errors: Map<VisitField, FieldProblem> = emptyMap(),
    /** A failure of the save itself (or the core's reason for a REJECTED field). */
    val error: UiError? = null,
    val saving: Boolean = false,
    /** Set once the visit is stored; the screen closes. */
    val savedVisitId: String? = null,
)

/**
 * The visit form: validates before anything reaches the core, then logs the visit. The due
 * list and the household history update through the change callback, not through this model.
 */
class VisitFormModel(
    private val replica: GridsyncReplica,
    private val me: WorkerProfile,
    val householdId: String,
    private val clock: Clock = Clock.SYSTEM,
    private val io: Executor = DIRECT_EXECUTOR,
) {
    val state = StateHolder(VisitFormState())

    fun setMode(m: VisitMode) = edit(null) { it.copy(mode = m) }
    fun setDaysAgo(d: Int) = edit(VisitField.WHEN) { it.copy(daysAgo = d) }
    fun setNotes(s: String) = edit(VisitField.NOTES) { it.copy(notes = s) }
    fun setFindings(s: String) = edit(VisitField.FINDINGS) { it.copy(findings = s) }
    fun setFollowUp(s: String) = edit(VisitField.FOLLOW_UP) { it.copy(followUp = s) }
    fun setFollowUpDays(s: String) = edit(VisitField.FOLLOW_UP_DAYS) { it.copy(followUpDays = s) }

    private fun edit(field: VisitField?, f: (VisitFormState) -> VisitFormState) {
        state.update { s -> f(s).copy(errors = s.errors - setOfNotNull(field), error = null) }
    }

    /** Validates and saves (on the executor). Does nothing while saving or after saving. */
    fun submit() {
        val form = state.value
        if (form.saving || form.savedVisitId != null) return
        val errors = validate(form)
        if (errors.isNotEmpty()) {
            state.update { it.copy(errors = errors) }
            return
        }
        state.update { it.copy(saving = true, error = null) }
        io.execute {
            val visit = toNewVisit(form, clock.nowMs())
            val result = attempt { replica.logVisit(visit) }
            state.update { s ->
                result.fold(
                    onSuccess = { id -> s.copy(saving = false, savedVisitId = id) },
                    onFailure = {
                        val e = result.uiError()!!
                        val field = e.field?.let(::fieldOf)
                        s.copy(
                            saving = false,
                            error = e,
                            errors = if (field != null) s.errors + (field to FieldProblem.REJECTED) else s.errors,
                        )
                    },
                )
            }
        }
    }

    private fun toNewVisit(f: VisitFormState, now: Long): NewVisit {
        val at = now - f.daysAgo * DAY_MS
        val followUps = if (f.followUp.isBlank()) {
            emptyList()
        } else {
            listOf(FollowUp(text = f.followUp.trim(), due = at + f.followUpDays.trim().toLong() * DAY_MS))
        }
        return NewVisit(
            household = householdId,
            at = at,
            mode = f.mode,
            notes = f.notes.trim(),
            findings = Check.lines(f.findings),
            followUps = followUps,
        )
    }

    companion object {
        const val MAX_NOTES = 5000
        const val MAX_LINE = 1000
        const val MAX_FINDINGS = 50
        const val MAX_DAYS_AGO = 30
        const val MAX_FOLLOW_UP_DAYS = 365

        /** Field errors of a form; empty when it may be saved. */
        fun validate(f: VisitFormState): Map<VisitField, FieldProblem> {
            val e = mutableMapOf<VisitField, FieldProblem>()
            if (f.daysAgo < 0) e[VisitField.WHEN] = FieldProblem.IN_FUTURE
            if (f.daysAgo > MAX_DAYS_AGO) e[VisitField.WHEN] = FieldProblem.OUT_OF_RANGE
            Check.text(f.notes, MAX_NOTES)?.let { e[VisitField.NOTES] = it }
            val findings = Check.lines(f.findings)
            when {
                findings.size > MAX_FINDINGS -> e[VisitField.FINDINGS] = FieldProblem.TOO_MANY
                findings.any { it.length > MAX_LINE } -> e[VisitField.FINDINGS] = FieldProblem.TOO_LONG
            }
            if (f.followUp.isNotBlank()) {
                Check.text(f.followUp, MAX_LINE)?.let { e[VisitField.FOLLOW_UP] = it }
                val days = f.followUpDays.trim().toIntOrNull()
                if (days == null || days < 0 || days > MAX_FOLLOW_UP_DAYS) {
                    e[VisitField.FOLLOW_UP_DAYS] = FieldProblem.OUT_OF_RANGE
                }
            }
            return e
        }

        /** The form field a core `InvalidInput.field` names, if any. */
        fun fieldOf(core: String): VisitField? = when (core) {
            "at" -> VisitField.WHEN
            "notes" -> VisitField.NOTES
            "findings" -> VisitField.FINDINGS
            "follow_ups", "follow_ups.text" -> VisitField.FOLLOW_UP
            "follow_ups.due" -> VisitField.FOLLOW_UP_DAYS
            else -> null
        }
    }
}
