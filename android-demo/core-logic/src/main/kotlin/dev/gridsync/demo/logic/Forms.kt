package dev.gridsync.demo.logic

/** What is wrong with a form field; the UI maps each to a localized sentence. */
enum class FieldProblem {
    /** Empty. */
    REQUIRED,
    /** Longer than the core accepts (the limit is in the form's `limits`). */
    TOO_LONG,
    /** Must be one line. */
    ONE_LINE,
    /** A time in the future where only the past makes sense. */
    IN_FUTURE,
    /** Not a whole number, or outside the allowed range. */
    OUT_OF_RANGE,
    /** Too many entries. */
    TOO_MANY,
    /** The core refused it (its reason is in the form's `error.detail`). */
    REJECTED,
}

/** Text checks shared by the forms; they mirror the core's so most errors never reach it. */
internal object Check {
    fun text(s: String, max: Int, required: Boolean = true, oneLine: Boolean = false): FieldProblem? {
        val t = s.trim()
        return when {
            required && t.isEmpty() -> FieldProblem.REQUIRED
            t.codePointCount(0, t.length) > max -> FieldProblem.TOO_LONG
            oneLine && t.contains('\n') -> FieldProblem.ONE_LINE
            else -> null
        }
    }

    /** Non-empty trimmed lines. */
    fun lines(s: String): List<String> = s.lines().map { it.trim() }.filter { it.isNotEmpty() }
}
