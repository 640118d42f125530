package dev.gridsync.demo.logic

import java.util.concurrent.Executor
import uniffi.gridsync_ffi.ActionKind
import uniffi.gridsync_ffi.CaseActionInput
import uniffi.gridsync_ffi.GridsyncReplica
import uniffi.gridsync_ffi.NewCase
import uniffi.gridsync_ffi.TriageClass

enum class CaseField { TITLE, DESCRIPTION, CATEGORY }

data class CaseReportState(
    val title: String = "",
    val description: String = "",
    /** A [CaseCategory.code]. */
    val category: String? = null,
    /** What the reporter thinks the matter is; preset from the category. */
    val suggestedClass: TriageClass? = null,
    /** The household concerned, if the report was started from one. */
    val household: String? = null,
    /**
     * Photos taken for the report (local file paths). Placeholder: the core's `NewCase` has no
     * attachments yet, so they stay on the handset and are not synced.
     */
    val photos: List<String> = emptyList(),
    val errors: Map<CaseField, FieldProblem> = emptyMap(),
    val error: UiError? = null,
    val saving: Boolean = false,
    val savedCaseId: String? = null,
)

/** The case report form 上报: validates, reports, and records the suggested triage class. */
class CaseReportModel(
    private val replica: GridsyncReplica,
    private val me: WorkerProfile,
    household: String? = null,
    private val clock: Clock = Clock.SYSTEM,
    private val io: Executor = DIRECT_EXECUTOR,
) {
    val state = StateHolder(CaseReportState(household = household))

    fun setTitle(s: String) = edit(CaseField.TITLE) { it.copy(title = s) }
    fun setDescription(s: String) = edit(CaseField.DESCRIPTION) { it.copy(description = s) }
    fun setSuggestedClass(c: TriageClass?) = edit(null) { it.copy(suggestedClass = c) }
    fun addPhoto(path: String) = edit(null) { it.copy(photos = it.photos + path) }
    fun removePhoto(path: String) = edit(null) { it.copy(photos = it.photos - path) }

    /** Picks a category; the suggested class follows the catalogue's default. */
    fun setCategory(code: String) = edit(CaseField.CATEGORY) {
        it.copy(category = code, suggestedClass = Catalogue.byCode(code)?.defaultClass ?: it.suggestedClass)
    }

    private fun edit(field: CaseField?, f: (CaseReportState) -> CaseReportState) {
        state.update { s -> f(s).copy(errors = s.errors - setOfNotNull(field), error = null) }
    }

    fun submit() {
        val form = state.value
        if (form.saving || form.savedCaseId != null) return
        val errors = validate(form)
        if (errors.isNotEmpty()) {
            state.update { it.copy(errors = errors) }
            return
        }
        state.update { it.copy(saving = true, error = null) }
        io.execute {
            val result = attempt {
                val id = replica.reportCase(
                    NewCase(
                        grid = me.grid,
                        role = me.role,
                        household = form.household,
                        title = form.title.trim(),
                        description = form.description.trim(),
                        category = Catalogue.byCode(form.category!!)!!.stored,
                        at = clock.nowMs(),
                    ),
                )
                form.suggestedClass?.let { c ->
                    // Best effort: the case is reported even if the note cannot be added.
                    runCatching {
                        replica.actOnCase(
                            id,
                            CaseActionInput(role = me.role, kind = ActionKind.Comment(TriageSuggestion.comment(c))),
                        )
                    }
                }
                id
            }
            state.update { s ->
                result.fold(
                    onSuccess = { id -> s.copy(saving = false, savedCaseId = id) },
                    onFailure = {
                        val e = result.uiError()!!
                        val field = when (e.field) {
                            "title" -> CaseField.TITLE
                            "description" -> CaseField.DESCRIPTION
                            "category" -> CaseField.CATEGORY
                            else -> null
                        }
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

    companion object {
        const val MAX_TITLE = 100
        const val MAX_DESCRIPTION = 5000

        fun validate(f: CaseReportState): Map<CaseField, FieldProblem> {
            val e = mutableMapOf<CaseField, FieldProblem>()
            Check.text(f.title, MAX_TITLE, oneLine = true)?.let { e[CaseField.TITLE] = it }
            Check.text(f.description, MAX_DESCRIPTION, required = false)?.let { e[CaseField.DESCRIPTION] = it }
            if (f.category == null || Catalogue.byCode(f.category) == null) e[CaseField.CATEGORY] = FieldProblem.REQUIRED
            return e
        }
    }
}
