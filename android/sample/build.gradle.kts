// A minimal app showing Veil on an incoming image: scan off the main thread, show the blurred
// preview, and reveal the original only after the user confirms.
plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "app.veil.sample"
    compileSdk = 35
    defaultConfig {
        applicationId = "app.veil.sample"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    // The model ships as an asset: copy models/open-nsfw.onnx here (`make setup` fetches it).
    sourceSets["main"].assets.srcDir(File(rootDir.parentFile, "models"))
    androidResources { noCompress += "onnx" }
}

kotlin { jvmToolchain(17) }

dependencies {
    implementation(project(":veil"))
    implementation("androidx.appcompat:appcompat:1.7.0")
    implementation("androidx.lifecycle:lifecycle-runtime-ktx:2.8.7")
}
