package com.smartid.sdk.android

import android.Manifest
import android.content.Context
import android.content.pm.PackageManager
import android.location.LocationListener
import android.location.LocationManager
import android.os.Build
import android.os.Bundle
import android.os.Looper
import android.os.SystemClock

/**
 * The device's coarse location for the capture's payload (the RASP location checks: mock provider,
 * accuracy, allowed regions), the Android counterpart of iOS's `SID.shared.startLocation()`.
 *
 * The SDK never asks for a location permission: the app owns that dialog and declares
 * `ACCESS_COARSE_LOCATION` (or FINE) in its own manifest if it wants location in the payload. [start]
 * does nothing without one. Only the last fix is kept, in memory; it is never logged and goes only
 * into the sealed payload.
 *
 * ```
 * if (checkSelfPermission(ACCESS_COARSE_LOCATION) == PERMISSION_GRANTED) AndroidLocation.start(this)
 * ```
 */
object AndroidLocation {
    /** One fix, as the payload needs it. */
    internal class Fix(
        val latitude: Double,
        val longitude: Double,
        val accuracyM: Double,
        val mock: Boolean,
        val elapsedRealtimeNanos: Long,
    )

    private const val MIN_TIME_MS = 60_000L
    private const val MIN_DISTANCE_M = 100f

    /** A fix older than this is not where the device is now. */
    private const val MAX_AGE_NANOS = 60L * 60 * 1_000_000_000

    @Volatile
    private var last: Fix? = null

    private val lock = Any()

    // Guarded by lock. The application's LocationManager, never an Activity.
    private var manager: LocationManager? = null
    private var listener: LocationListener? = null

    /**
     * Starts coarse updates (network provider; the passive or GPS provider when there is none) at most
     * every minute or 100 m, and takes the last known fix at once. Returns false when the app holds
     * no location permission or no provider can be used. Safe to call again (no second listener).
     */
    @JvmStatic
    fun start(context: Context): Boolean {
        val app = context.applicationContext ?: context
        if (!hasPermission(app)) return false
        val lm = app.getSystemService(Context.LOCATION_SERVICE) as? LocationManager ?: return false
        synchronized(lock) {
            if (listener != null) return true
            val l = Listener()
            for (provider in providers(lm)) {
                try {
                    lm.requestLocationUpdates(provider, MIN_TIME_MS, MIN_DISTANCE_M, l, Looper.getMainLooper())
                    manager = lm
                    listener = l
                    break
                } catch (_: SecurityException) {
                    // This provider needs FINE (passive and GPS before Android 12): try the next.
                } catch (_: IllegalArgumentException) {
                    // No such provider on this device.
                }
            }
            lastKnown(lm)
            return listener != null
        }
    }

    /** Stops the updates and forgets the last fix. */
    @JvmStatic
    fun stop() {
        synchronized(lock) {
            val l = listener
            val lm = manager
            listener = null
            manager = null
            if (l != null && lm != null) {
                try {
                    lm.removeUpdates(l)
                } catch (_: SecurityException) {
                    // The permission was withdrawn meanwhile: the updates stopped with it.
                }
            }
            last = null
        }
    }

    /** The last fix if it is recent enough (at most an hour old), else null. */
    internal fun lastFix(): Fix? {
        val fix = last ?: return null
        return fix.takeIf { SystemClock.elapsedRealtimeNanos() - it.elapsedRealtimeNanos <= MAX_AGE_NANOS }
    }

    private fun hasPermission(context: Context): Boolean =
        context.checkSelfPermission(Manifest.permission.ACCESS_COARSE_LOCATION) == PackageManager.PERMISSION_GRANTED ||
            context.checkSelfPermission(Manifest.permission.ACCESS_FINE_LOCATION) == PackageManager.PERMISSION_GRANTED

    private fun providers(lm: LocationManager): List<String> {
        val all = try {
            lm.allProviders.toSet()
        } catch (_: RuntimeException) {
            emptySet<String>()
        }
        return listOf(LocationManager.NETWORK_PROVIDER, LocationManager.PASSIVE_PROVIDER, LocationManager.GPS_PROVIDER)
            .filter { it in all }
    }

    /** The newest last-known fix of the providers the app may read. */
    private fun lastKnown(lm: LocationManager) {
        var newest: android.location.Location? = null
        for (provider in providers(lm)) {
            val l = try {
                lm.getLastKnownLocation(provider)
            } catch (_: SecurityException) {
                null
            } catch (_: IllegalArgumentException) {
                null
            } ?: continue
            if (newest == null || l.elapsedRealtimeNanos > newest.elapsedRealtimeNanos) newest = l
        }
        newest?.let { record(it) }
    }

    private fun record(l: android.location.Location) {
        // A fix without an accuracy cannot be weighed by the accuracy policy: not kept.
        if (!l.hasAccuracy()) return
        val fix = Fix(l.latitude, l.longitude, l.accuracy.toDouble(), isMock(l), l.elapsedRealtimeNanos)
        val previous = last
        if (previous == null || fix.elapsedRealtimeNanos >= previous.elapsedRealtimeNanos) last = fix
    }

    /** Location.isMock() from API 31; isFromMockProvider() (API 18, deprecated in 31) before. */
    private fun isMock(l: android.location.Location): Boolean {
        if (Build.VERSION.SDK_INT >= 31) {
            try {
                // API 31: Location.isMock().
                return android.location.Location::class.java.getMethod("isMock").invoke(l) as? Boolean ?: false
            } catch (_: ReflectiveOperationException) {
                // Fall back to the older flag below.
            }
        }
        @Suppress("DEPRECATION") // deprecated in API 31 for isMock(), which is used above when present
        return l.isFromMockProvider
    }

    /** Main-looper callbacks. The four methods are abstract in API 23 (defaults arrived in API 30). */
    private class Listener : LocationListener {
        override fun onLocationChanged(location: android.location.Location) = record(location)

        // Deprecated in API 29 (never called from then on); abstract in API 23.
        override fun onStatusChanged(provider: String?, status: Int, extras: Bundle?) = Unit

        override fun onProviderEnabled(provider: String) = Unit

        override fun onProviderDisabled(provider: String) = Unit
    }
}
