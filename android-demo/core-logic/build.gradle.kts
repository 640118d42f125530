// The platform-free layer: plain Kotlin/JVM over the uniffi bindings (no android.*), so the
// app's logic is tested on a workstation or CI JVM against the host build of gridsync-ffi.
//
// The bindings are generated before compileKotlin from the host debug library:
//   cargo build -p gridsync-ffi --lib && cargo build -p gridsync-ffi-bindgen
//   target/debug/uniffi-bindgen generate target/debug/libgridsync_ffi.so --language kotlin ...
// (the metadata uniffi reads is the same for every target, so these bindings also serve the
// Android .so files the app ships).
import org.gradle.internal.os.OperatingSystem

plugins {
    alias(libs.plugins.kotlin.jvm)
}

val generatedBindings = layout.buildDirectory.dir("generated/uniffi/kotlin")

kotlin {
    jvmToolchain(17)
    sourceSets.named("main") {
        kotlin.srcDir(generatedBindings)
    }
}

val repoRoot: File = rootProject.projectDir.parentFile
val cargoTarget: File = System.getenv("CARGO_TARGET_DIR")?.let(::File) ?: File(repoRoot, "target")
val hostLib: File = File(
    cargoTarget,
    "debug/" + when {
        OperatingSystem.current().isMacOsX -> "libgridsync_ffi.dylib"
        OperatingSystem.current().isWindows -> "gridsync_ffi.dll"
        else -> "libgridsync_ffi.so"
    },
)
// Two cargo invocations, as in ffi/build-bindings.sh: the bindgen's `cli` feature must not be
// unified into the library's uniffi dependency. Cargo itself decides what is up to date.
val cargoBuildHostLibrary by tasks.registering(Exec::class) {
    group = "rust"
    description = "Builds the host debug gridsync-ffi library (bindgen input, JVM tests)."
    workingDir = repoRoot
    commandLine("cargo", "build", "-p", "gridsync-ffi", "--lib")
}

val cargoBuildBindgen by tasks.registering(Exec::class) {
    group = "rust"
    description = "Builds uniffi-bindgen."
    workingDir = repoRoot
    commandLine("cargo", "build", "-p", "gridsync-ffi-bindgen")
    mustRunAfter(cargoBuildHostLibrary)
}

val generateUniffiBindings by tasks.registering(Exec::class) {
    group = "rust"
    description = "Generates the Kotlin bindings (package uniffi.gridsync_ffi) into build/generated/uniffi."
    dependsOn(cargoBuildHostLibrary, cargoBuildBindgen)
    val out = generatedBindings.get().asFile
    inputs.file(hostLib)
    outputs.dir(out)
    workingDir = repoRoot
    doFirst { out.deleteRecursively() }
    commandLine(
        File(cargoTarget, "debug/uniffi-bindgen").path, "generate", hostLib.path,
        "--language", "kotlin", "--out-dir", out.path, "--no-format",
    )
}

tasks.named("compileKotlin") {
    dependsOn(generateUniffiBindings)
}

dependencies {
    // The app brings JNA as the Android aar (with libjnidispatch.so per ABI); the JVM tests
    // use the plain jar. Declaring the jar here as `implementation` would clash in the app.
    compileOnly(libs.jna)
    testImplementation(libs.jna)
}

// The tests are a plain-Kotlin runner (no JUnit): android-demo/test-jvm.sh runs the same
// program in CI. Here: `./gradlew :core-logic:jvmTest` (or `check`).
val cargoBuildRelay by tasks.registering(Exec::class) {
    group = "rust"
    description = "Builds gridsync-relay for the JVM tests."
    workingDir = repoRoot
    commandLine("cargo", "build", "-p", "gridsync-server")
    mustRunAfter(cargoBuildBindgen)
}

val jvmTest by tasks.registering(JavaExec::class) {
    group = "verification"
    description = "Runs the core-logic tests on the JVM against the host library and a real relay."
    dependsOn(cargoBuildRelay, tasks.named("testClasses"))
    classpath = sourceSets["test"].runtimeClasspath
    mainClass.set("dev.gridsync.demo.logic.LogicTestsKt")
    jvmArgs("-Djna.library.path=${hostLib.parentFile.path}")
    environment("GRIDSYNC_RELAY", File(cargoTarget, "debug/gridsync-relay").path)
}

tasks.named("check") {
    dependsOn(jvmTest)
}
