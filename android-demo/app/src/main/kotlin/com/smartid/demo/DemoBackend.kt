package com.smartid.demo

import org.json.JSONException
import org.json.JSONObject
import java.io.ByteArrayOutputStream
import java.io.IOException
import java.io.InputStream
import java.net.HttpURLConnection
import java.net.URL

/**
 * The demo's stand-in for a bank's backend: it calls the reference server's API directly with the
 * channel's API key (docs/server.md). A real app never holds that key: its own backend does, and the
 * app only receives the capture token and sends the sealed template and payload to it.
 *
 * Blocking calls (HttpURLConnection): call them off the main thread. Nothing is logged: the template
 * and payload are biometric data.
 */
class DemoBackend(baseUrl: String, private val apiKey: String) {
    private val base = baseUrl.trim().trimEnd('/')

    /** The server's answer: `Code` and `Message` from the body (the guide's codes), and the whole body. */
    class Reply(val code: Int, val message: String, val body: JSONObject)

    /** `POST /api/kyc/session {User}`: a one-time capture token for this user (`CaptureToken`). */
    fun session(user: String): Reply = post("/api/kyc/session", JSONObject().put("User", user))

    /** `POST /api/kyc/enroll {User, Template, PayLoad, OverWrite}`. */
    fun enroll(user: String, template: String, payload: String): Reply = post(
        "/api/kyc/enroll",
        JSONObject()
            .put("User", user)
            .put("Template", template)
            .put("PayLoad", payload)
            .put("OverWrite", "true"),
    )

    private fun post(path: String, json: JSONObject): Reply {
        val connection = URL(base + path).openConnection() as HttpURLConnection
        try {
            connection.requestMethod = "POST"
            connection.connectTimeout = CONNECT_TIMEOUT_MS
            // Enrollment re-verifies the evidence frames with the server's models: allow for it.
            connection.readTimeout = READ_TIMEOUT_MS
            connection.doOutput = true
            connection.useCaches = false
            connection.setRequestProperty("Content-Type", "application/json; charset=utf-8")
            connection.setRequestProperty("Accept", "application/json")
            connection.setRequestProperty("X-Api-Key", apiKey)
            val body = json.toString().toByteArray(Charsets.UTF_8)
            connection.setFixedLengthStreamingMode(body.size)
            connection.outputStream.use { it.write(body) }
            val status = connection.responseCode
            // The server answers with a body on every status; branch on its Code (decision 0004).
            val stream = if (status >= 400) connection.errorStream else connection.inputStream
            val text = stream?.use { readAtMost(it, MAX_RESPONSE) }.orEmpty()
            val reply = try {
                JSONObject(text)
            } catch (_: JSONException) {
                JSONObject()
            }
            return Reply(reply.optInt("Code", status), reply.optString("Message", "HTTP $status"), reply)
        } finally {
            connection.disconnect()
        }
    }

    private fun readAtMost(input: InputStream, max: Int): String {
        val out = ByteArrayOutputStream()
        val buffer = ByteArray(8192)
        while (true) {
            val n = input.read(buffer)
            if (n < 0) break
            if (out.size() + n > max) throw IOException("response larger than $max bytes")
            out.write(buffer, 0, n)
        }
        return String(out.toByteArray(), Charsets.UTF_8)
    }

    private companion object {
        const val CONNECT_TIMEOUT_MS = 10_000
        const val READ_TIMEOUT_MS = 60_000
        const val MAX_RESPONSE = 1 shl 20
    }
}
