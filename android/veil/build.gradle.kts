// Veil's Android library: the Rust core (built with cargo-ndk for each ABI), the Kotlin
// bindings (generated at build time with the workspace's uniffi-bindgen, never committed) and
// the idiomatic Kotlin layer in src/main/kotlin (shared with the host-JVM tests in tests/kotlin).
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

val workspace: File = rootDir.parentFile
val cargoProfile = (findProperty("veil.cargoProfile") as String?) ?: "release"
val jniLibsDir = layout.buildDirectory.dir("rustJniLibs")
val generatedKotlin = layout.buildDirectory.dir("generated/uniffi/kotlin")

android {
    namespace = "app.veil"
    compileSdk = 35
    ndkVersion = "27.2.12479018"
    defaultConfig {
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    sourceSets["main"].jniLibs.srcDir(jniLibsDir)
    sourceSets["main"].java.srcDir(generatedKotlin)
}

kotlin { jvmToolchain(17) }

dependencies {
    // JNA's Android AAR carries libjnidispatch.so for every ABI.
    implementation("net.java.dev.jna:jna:5.17.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.10.2")
}

// The shared library for every ABI the app ships, with the workspace's Cargo profile
// (release: thin LTO, unwinding kept so panics come out as VeilException.Internal).
val cargoNdk by tasks.registering(Exec::class) {
    workingDir = workspace
    val profileArgs = if (cargoProfile == "release") listOf("--release") else emptyList()
    commandLine(
        listOf("cargo", "ndk", "-t", "arm64-v8a", "-t", "armeabi-v7a", "-t", "x86_64",
            "-o", jniLibsDir.get().asFile.path, "build", "-p", "veil-ffi") + profileArgs,
    )
    inputs.dir(File(workspace, "core/src"))
    inputs.dir(File(workspace, "bindings/src"))
    outputs.dir(jniLibsDir)
}

// Kotlin bindings from the host build of the same crate (the metadata is the same on every
// target), with the workspace's own uniffi-bindgen so the UniFFI versions always match.
val generateBindings by tasks.registering(Exec::class) {
    workingDir = workspace
    val hostLib = if (System.getProperty("os.name").startsWith("Mac")) "libveil_ffi.dylib" else "libveil_ffi.so"
    doFirst {
        project.exec { workingDir = workspace; commandLine("cargo", "build", "-p", "veil-ffi", "-p", "uniffi-bindgen") }
    }
    commandLine(
        "cargo", "run", "-q", "-p", "uniffi-bindgen", "--", "generate", "--no-format",
        "--library", "target/debug/$hostLib", "--language", "kotlin",
        "--out-dir", generatedKotlin.get().asFile.path,
    )
    inputs.dir(File(workspace, "bindings/src"))
    inputs.file(File(workspace, "bindings/uniffi.toml"))
    outputs.dir(generatedKotlin)
}

tasks.named("preBuild") { dependsOn(cargoNdk, generateBindings) }
