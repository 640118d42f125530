package dev.gridsync.demo.logic

import uniffi.gridsync_ffi.Address
import uniffi.gridsync_ffi.GridsyncReplica
import uniffi.gridsync_ffi.Member
import uniffi.gridsync_ffi.NewHousehold
import uniffi.gridsync_ffi.NewVisit
import uniffi.gridsync_ffi.Tier
import uniffi.gridsync_ffi.VisitMode

/** A few households of each tier for a first look at the app (settings → demo data). */
object DemoData {
    /** Registers three households the worker contacts, with earlier visits; returns their ids. */
    fun seed(replica: GridsyncReplica, me: WorkerProfile, now: Long): List<String> {
        fun add(head: String, tier: Tier, tags: List<String>, number: String, members: List<Member>, lastVisitDaysAgo: Long?): String {
            val id = replica.registerHousehold(
                NewHousehold(
                    grid = me.grid,
                    address = Address.Rural(group = "三组", courtyard = "李家院", number = number),
                    head = head,
                    members = members,
                    tier = tier,
                    tags = tags,
                    contacts = listOf(me.id),
                ),
            )
            if (lastVisitDaysAgo != null) {
                replica.logVisit(
                    NewVisit(
                        household = id,
                        at = now - lastVisitDaysAgo * DAY_MS,
                        mode = VisitMode.DOOR_TO_DOOR,
                        notes = "入户了解近况，家中一切正常。",
                    ),
                )
            }
            return id
        }
        return listOf(
            add("李秀英", Tier.RED, listOf("留守老人", "独居"), "12", listOf(Member("李秀英", 1948u, "户主")), 9),
            add("王建国", Tier.YELLOW, listOf("低保"), "7", listOf(Member("王建国", 1971u, "户主"), Member("赵兰", 1973u, "配偶")), 33),
            add("刘德明", Tier.GREEN, emptyList(), "3", listOf(Member("刘德明", 1980u, "户主")), null),
        )
    }
}
