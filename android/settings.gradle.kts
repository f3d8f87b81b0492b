// Veil's Android library (android/veil) and a minimal sample app (android/sample).
// Needs the Android SDK and NDK, Rust with the Android targets, and cargo-ndk:
//   rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android
//   cargo install cargo-ndk
// then: ./gradlew :sample:installDebug
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

rootProject.name = "veil-android"
include(":veil", ":sample")
