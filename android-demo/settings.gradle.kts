// gridsync Android demo: a Compose app (app/) over a platform-free Kotlin layer (core-logic/)
// that wraps the uniffi bindings of gridsync-ffi. See README.md.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "gridsync-android-demo"
include(":core-logic", ":app")
