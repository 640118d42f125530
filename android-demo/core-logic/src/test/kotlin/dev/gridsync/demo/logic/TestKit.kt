package dev.gridsync.demo.logic

import java.io.File
import java.util.concurrent.TimeUnit

/**
 * A tiny test runner (no JUnit on this machine): `test` records a pass or a failure, the
 * summary line `N passed, N failed` is printed last by [TestKit.finish].
 */
object TestKit {
    var passed = 0
        private set
    var failed = 0
        private set

    fun test(name: String, body: () -> Unit) {
        val t0 = System.nanoTime()
        try {
            body()
            passed++
            println("ok   $name (${(System.nanoTime() - t0) / 1_000_000} ms)")
        } catch (e: Throwable) {
            failed++
            println("FAIL $name: $e")
            e.printStackTrace(System.out)
        }
        System.out.flush()
    }

    fun failSetup(what: String, e: Throwable) {
        failed++
        println("FAIL $what: $e")
        e.printStackTrace(System.out)
    }

    /** Prints the summary last and exits: non-zero on any failure or when nothing ran. */
    fun finish(): Nothing {
        println("$passed passed, $failed failed")
        System.out.flush()
        System.exit(if (failed == 0 && passed > 0) 0 else 1)
        throw IllegalStateException("unreachable")
    }
}

class Failure(message: String) : AssertionError(message)

fun expect(cond: Boolean, what: () -> String) {
    if (!cond) throw Failure(what())
}

fun <T> expectEq(actual: T, expected: T, what: String = "value") {
    if (actual != expected) throw Failure("$what: expected $expected, got $actual")
}

/** Polls `cond` until it holds or `timeoutMs` passes; fails with `what()` then. */
fun eventually(timeoutMs: Long, what: () -> String, cond: () -> Boolean) {
    val until = System.currentTimeMillis() + timeoutMs
    while (!cond()) {
        if (System.currentTimeMillis() > until) throw Failure("after ${timeoutMs} ms: ${what()}")
        Thread.sleep(50)
    }
}

/**
 * A real `gridsync-relay` process with its own data directory. [stop] kills it (SIGTERM:
 * it closes its connections as it exits; SIGKILL: it vanishes like a lost signal) and
 * [start] brings it back on the same port with the same data (devices, certificate, records).
 */
class Relay(private val exe: String, val dataDir: File) : AutoCloseable {
    private var process: Process? = null
    lateinit var address: String
        private set
    lateinit var fingerprint: String
        private set

    fun start(listen: String = if (::address.isInitialized) address else "127.0.0.1:0"): Relay {
        check(process == null) { "already running" }
        dataDir.mkdirs()
        val p = ProcessBuilder(exe, "--json", "--data-dir", dataDir.path, "serve", "--listen", listen, "--http", "127.0.0.1:0")
            .redirectError(ProcessBuilder.Redirect.appendTo(File(dataDir, "relay.log")))
            .start()
        process = p
        val line = p.inputStream.bufferedReader().readLine()
            ?: error("the relay did not start: ${File(dataDir, "relay.log").readText().takeLast(2000)}")
        address = field(line, "listening")
        fingerprint = field(line, "fingerprint")
        return this
    }

    /** Enrolls a device (`device add --json`) for `scope`; returns its token. */
    fun enroll(name: String, scope: String): String {
        val p = ProcessBuilder(exe, "--json", "--data-dir", dataDir.path, "device", "add", "--name", name, "--worker", "wang", "--scope", scope, "--role", "grid_worker", "--role", "grid_leader", "--role", "community_staff", "--role", "street_staff", "--role", "supervisor")
            .redirectErrorStream(true).start()
        val out = p.inputStream.bufferedReader().readText()
        check(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0) { "device add failed: $out" }
        check(out.contains("\"ok\":\"enrolled\"")) { "device add said: $out" }
        return field(out, "token")
    }

    fun stop(forcibly: Boolean) {
        val p = process ?: return
        if (forcibly) p.destroyForcibly() else p.destroy()
        if (!p.waitFor(20, TimeUnit.SECONDS)) p.destroyForcibly().waitFor()
        process = null
    }

    override fun close() = stop(forcibly = true)

    companion object {
        fun field(json: String, key: String): String =
            Regex("\"$key\"\\s*:\\s*\"([^\"]*)\"").find(json)?.groupValues?.get(1) ?: error("no $key in $json")
    }
}
