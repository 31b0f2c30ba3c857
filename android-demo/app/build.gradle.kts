import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

// The SDK's AAR, as scripts/build-aar.sh writes it: $CARGO_TARGET_DIR/smartid-aar/smartid-<version>.aar,
// the version being the workspace's (Cargo.toml). Override with -PsmartidAar=/path/to/smartid.aar.
val repoRoot: File = rootDir.parentFile
val smartidVersion: String = Regex("""(?m)^version\s*=\s*"([^"]+)"""")
    .find(repoRoot.resolve("Cargo.toml").takeIf { it.isFile }?.readText().orEmpty())
    ?.groupValues?.get(1) ?: "0.1.0"
val cargoTargetDir: String = System.getenv("CARGO_TARGET_DIR") ?: repoRoot.resolve("target").path
val smartidAar: String = providers.gradleProperty("smartidAar").orNull
    ?: "$cargoTargetDir/smartid-aar/smartid-$smartidVersion.aar"

android {
    namespace = "com.smartid.demo"
    compileSdk = 35

    defaultConfig {
        applicationId = "com.smartid.demo"
        minSdk = 23
        targetSdk = 35
        versionCode = 1
        versionName = "1.0"
    }

    buildFeatures {
        buildConfig = false
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    sourceSets["main"].java.srcDirs("src/main/kotlin")

    androidResources {
        // The models are read whole from assets: storing them uncompressed avoids inflating 9.5 MB.
        noCompress += "onnx"
    }
}

kotlin {
    compilerOptions {
        jvmTarget.set(JvmTarget.JVM_17)
    }
}

dependencies {
    implementation(files(smartidAar))
    // What the AAR's classes need at run time (its POM declares the same): JNA with its Android
    // native libraries, and coroutines for the suspend form of the capture.
    implementation("net.java.dev.jna:jna:5.13.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.8.1")
}
