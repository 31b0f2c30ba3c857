plugins {
    id("com.android.application") version "8.7.3" apply false
    // The AAR's classes are compiled by kotlinc 2.4.20 (scripts/kotlin-env.sh): an older Kotlin cannot
    // read their metadata, so the app's Kotlin must be at least this version.
    id("org.jetbrains.kotlin.android") version "2.4.20" apply false
}
