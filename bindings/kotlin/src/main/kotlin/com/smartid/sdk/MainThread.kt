package com.smartid.sdk

import java.util.concurrent.Executor

/**
 * The Android main thread as an [Executor], found by reflection so this file compiles and runs on a
 * plain JVM too (where there is none).
 */
internal object MainThread {
    val executor: Executor? by lazy {
        try {
            val looperClass = Class.forName("android.os.Looper")
            val looper = looperClass.getMethod("getMainLooper").invoke(null) ?: return@lazy null
            val handler = Class.forName("android.os.Handler").getConstructor(looperClass).newInstance(looper)
            val post = handler.javaClass.getMethod("post", Runnable::class.java)
            Executor { r -> post.invoke(handler, r) }
        } catch (_: ReflectiveOperationException) {
            null
        } catch (_: LinkageError) {
            null
        }
    }
}
