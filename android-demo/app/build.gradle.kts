// The Compose app. Its logic lives in :core-logic (plain Kotlin, tested on the JVM); this
// module only renders it. The native library is built per ABI with cargo-ndk before the
// build (task cargoNdk) into src/main/jniLibs.
plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
    alias(libs.plugins.kotlin.compose)
}

val repoRoot: File = rootProject.projectDir.parentFile

fun prop(name: String): String = (findProperty(name) as String?).orEmpty()

android {
    namespace = "dev.gridsync.demo"
    compileSdk = 35
    // The NDK cargo-ndk builds with (installed by the SDK manager: "NDK (Side by side)").
    ndkVersion = "27.2.12479018"

    defaultConfig {
        applicationId = "dev.gridsync.demo"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        ndk {
            abiFilters += listOf("arm64-v8a", "x86_64")
        }
        // Defaults for the settings screen (gradle.properties or -P).
        buildConfigField("String", "RELAY_ADDRESS", "\"${prop("gridsync.relay.address")}\"")
        buildConfigField("String", "RELAY_FINGERPRINT", "\"${prop("gridsync.relay.fingerprint")}\"")
        buildConfigField("String", "RELAY_TOKEN", "\"${prop("gridsync.relay.token")}\"")
        buildConfigField("String", "WORKER", "\"${prop("gridsync.worker")}\"")
        buildConfigField("String", "GRID", "\"${prop("gridsync.grid")}\"")
    }

    buildTypes {
        release {
            isMinifyEnabled = false
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
        }
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    buildFeatures {
        compose = true
        buildConfig = true
    }
}

kotlin {
    jvmToolchain(17)
}

// cargo ndk -t arm64-v8a -t x86_64 -o app/src/main/jniLibs build --release -p gridsync-ffi
// (run from the repository root, where the Cargo workspace is).
val cargoNdk by tasks.registering(Exec::class) {
    group = "rust"
    description = "Builds libgridsync_ffi.so for arm64-v8a and x86_64 into src/main/jniLibs."
    val jniLibs = file("src/main/jniLibs")
    workingDir = repoRoot
    outputs.dir(jniLibs)
    outputs.upToDateWhen { false } // cargo decides what is up to date
    doFirst {
        // cargo-ndk finds the NDK through ANDROID_NDK_HOME; use the one AGP resolved.
        environment("ANDROID_NDK_HOME", android.ndkDirectory.absolutePath)
    }
    commandLine(
        "cargo", "ndk", "-t", "arm64-v8a", "-t", "x86_64", "-o", jniLibs.absolutePath,
        "build", "--release", "-p", "gridsync-ffi",
    )
}

tasks.named("preBuild") {
    dependsOn(cargoNdk)
}

dependencies {
    implementation(project(":core-logic"))
    // JNA for Android: the aar carries libjnidispatch.so for every ABI.
    implementation("net.java.dev.jna:jna:${libs.versions.jna.get()}@aar")

    implementation(platform(libs.androidx.compose.bom))
    implementation(libs.androidx.compose.ui)
    implementation(libs.androidx.compose.ui.tooling.preview)
    implementation(libs.androidx.compose.material3)
    implementation(libs.androidx.compose.material.icons)
    implementation(libs.androidx.activity.compose)
    implementation(libs.androidx.navigation.compose)
    implementation(libs.androidx.lifecycle.viewmodel.compose)
    implementation(libs.androidx.lifecycle.process)
    implementation(libs.androidx.security.crypto)
    debugImplementation(libs.androidx.compose.ui.tooling)
}
