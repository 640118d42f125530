package dev.gridsync.demo.logic

import uniffi.gridsync_ffi.TriageClass

/**
 * A kind of matter from the community's triage catalogue 分流清单. `stored` is what goes
 * into the case (the catalogue's own name, shared by every device); `code` keys the UI label.
 */
data class CaseCategory(val code: String, val stored: String, val defaultClass: TriageClass?)

/**
 * The demo's catalogue. A real deployment gets it from the community (the core does not
 * carry one yet); only the default class differs between communities.
 */
object Catalogue {
    val categories: List<CaseCategory> = listOf(
        CaseCategory("dispute", "邻里纠纷", TriageClass.PRIVATE),
        CaseCategory("sanitation", "环境卫生", TriageClass.SMALL),
        CaseCategory("facilities", "公共设施", TriageClass.SMALL),
        CaseCategory("safety", "安全隐患", TriageClass.SMALL),
        CaseCategory("hardship", "困难帮扶", TriageClass.SMALL),
        CaseCategory("roads", "道路交通", TriageClass.BIG),
        CaseCategory("services", "政务服务", TriageClass.BIG),
        CaseCategory("other", "其他", null),
    )

    fun byStored(stored: String): CaseCategory? = categories.firstOrNull { it.stored == stored }

    fun byCode(code: String): CaseCategory? = categories.firstOrNull { it.code == code }
}

/**
 * The reporter's suggested triage class, kept as a timeline comment until the core's report
 * carries one: `[triage:small] …`. Comments are allowed to every role in every status.
 */
object TriageSuggestion {
    private const val PREFIX = "[triage:"

    fun comment(c: TriageClass): String = "$PREFIX${c.name.lowercase()}]"

    /** The class a comment suggests, or null when it is an ordinary comment. */
    fun parse(text: String): TriageClass? {
        if (!text.startsWith(PREFIX)) return null
        val name = text.substring(PREFIX.length).substringBefore(']')
        return TriageClass.entries.firstOrNull { it.name.equals(name, ignoreCase = true) }
    }
}
