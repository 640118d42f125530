package dev.gridsync.demo.logic

import java.util.concurrent.Executor
import uniffi.gridsync_ffi.ActionKind
import uniffi.gridsync_ffi.ActionName
import uniffi.gridsync_ffi.Case
import uniffi.gridsync_ffi.CaseActionInput
import uniffi.gridsync_ffi.GridsyncReplica
import uniffi.gridsync_ffi.TriageClass

/** The parameters an action dialog collects; each action reads the ones it needs. */
data class ActionDraft(
    /** Reason (escalate, reject), summary (resolve), comment (evaluate, comment). */
    val text: String = "",
    /** Triage: the class; null takes the reporter's suggestion. */
    val triageClass: TriageClass? = null,
    /** Triage (optional) and assign (required). */
    val assignee: String = "",
    /** Evaluate. */
    val satisfied: Boolean = true,
    /** Escalate: the matter is beyond the current level. */
    val beyondLevel: Boolean = false,
    /** Duplicate: the case this one repeats. */
    val ofCase: String = "",
)

data class CaseDetailState(
    val loading: Boolean = true,
    val case: Case? = null,
    /** What the worker's role may do now: the screen's buttons. */
    val allowed: List<ActionName> = emptyList(),
    /** The reporter's suggested class, if the timeline has one. */
    val suggestedClass: TriageClass? = null,
    val overdue: Boolean = false,
    val busy: Boolean = false,
    /** The last action's failure (refused, invalid, …); cleared by the next action. */
    val error: UiError? = null,
    /** The action that failed, for the message ("could not accept: …"). */
    val failedAction: ActionName? = null,
)

/**
 * A case's timeline and the steps the worker's role may take. A refused step is an error
 * state (kind NOT_ALLOWED with the core's reason), never a crash, and writes nothing; the
 * case and its allowed actions are then reloaded, since another device may have moved it on.
 */
class CaseDetailModel(
    private val replica: GridsyncReplica,
    changes: ChangeHub,
    private val me: WorkerProfile,
    val caseId: String,
    private val clock: Clock = Clock.SYSTEM,
    private val io: Executor = DIRECT_EXECUTOR,
) : AutoCloseable {
    val state = StateHolder(CaseDetailState())
    private val reload = Coalesced(io) { load() }

    private val sub = changes.onRecords { ids, _ -> if (caseId in ids) refresh() }

    /** Reloads (on the executor; runs already queued are not repeated). */
    fun refresh() = reload.run()

    private fun load() {
        val result = attempt { replica.getCase(caseId) to replica.allowedActions(caseId, me.role) }
        val now = clock.nowMs()
        state.update { s ->
            result.fold(
                onSuccess = { (case, allowed) ->
                    s.copy(
                        loading = false,
                        case = case,
                        allowed = allowed,
                        suggestedClass = case.timeline.asReversed().firstNotNullOfOrNull { e ->
                            (e.kind as? ActionKind.Comment)?.let { TriageSuggestion.parse(it.text) }
                        },
                        overdue = case.status.isOpen() && case.deadline != null && case.deadline!! < now,
                    )
                },
                onFailure = { s.copy(loading = false, error = result.uiError()) },
            )
        }
    }

    /** Clears the error after the screen showed it. */
    fun dismissError() = state.update { it.copy(error = null, failedAction = null) }

    /** Takes step `name` with the dialog's `draft` (on the executor). */
    fun perform(name: ActionName, draft: ActionDraft = ActionDraft()) {
        if (state.value.busy) return
        val kind = kindOf(name, draft, state.value.suggestedClass)
        if (kind.isFailure) {
            state.update { it.copy(error = kind.uiError(), failedAction = name) }
            return
        }
        state.update { it.copy(busy = true, error = null, failedAction = null) }
        io.execute {
            val input = CaseActionInput(role = me.role, at = clock.nowMs(), kind = kind.getOrThrow())
            val result = attempt { replica.actOnCase(caseId, input) }
            state.update { s ->
                result.fold(
                    onSuccess = { case -> s.copy(busy = false, case = case) },
                    onFailure = { s.copy(busy = false, error = result.uiError(), failedAction = name) },
                )
            }
            load() // allowed actions follow the new status; after a refusal, the case may have moved on
        }
    }

    override fun close() = sub.close()

    companion object {
        /** The core's action for a button and its dialog; INVALID_INPUT when a required field is empty. */
        fun kindOf(name: ActionName, d: ActionDraft, suggested: TriageClass?): Result<ActionKind> {
            fun need(field: String, v: String) =
                if (v.isBlank()) throw UiErrorException(UiError.invalid(field, "must not be empty")) else v.trim()
            return runCatching {
                when (name) {
                    ActionName.ACCEPT -> ActionKind.Accept
                    ActionName.START -> ActionKind.Start
                    ActionName.TRIAGE -> ActionKind.Triage(
                        triageClass = d.triageClass ?: suggested
                            ?: throw UiErrorException(UiError.invalid("triage_class", "choose a class")),
                        level = null,
                        deadline = null,
                        assignee = d.assignee.trim().ifEmpty { null },
                    )
                    ActionName.ASSIGN -> ActionKind.Assign(need("assignee", d.assignee))
                    ActionName.ESCALATE -> ActionKind.Escalate(need("reason", d.text), d.beyondLevel)
                    ActionName.RESOLVE -> ActionKind.Resolve(need("summary", d.text))
                    ActionName.EVALUATE -> ActionKind.Evaluate(d.satisfied, d.text.trim())
                    ActionName.REJECT -> ActionKind.Reject(need("reason", d.text))
                    ActionName.DUPLICATE -> ActionKind.Duplicate(need("of_case", d.ofCase))
                    ActionName.COMMENT -> ActionKind.Comment(need("text", d.text))
                }
            }
        }
    }
}
