// How a bank's Android/JVM backend client (OkHttp 3.13.1, from Debian) sees the server's codes.
// Run by server/tests/okhttp.rs:
//   java -cp okhttp.jar:okio.jar OkHttpCodes.java <base url> <api key> <user> <template> <payload>
// The user is already enrolled: the enroll must come back once, as HTTP 409 with "Code": 408.
// Two control servers show why the guide's numbers are not used as HTTP statuses: OkHttp sends a
// request answered with HTTP 408 twice, and turns an HTTP 407 into an exception without a body.

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ProtocolException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

public class OkHttpCodes {
    static final MediaType JSON = MediaType.get("application/json; charset=utf-8");

    static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    /** A client that counts what actually goes on the wire (a network interceptor sees every attempt). */
    static OkHttpClient counting(AtomicInteger sent) {
        return new OkHttpClient.Builder()
            .addNetworkInterceptor(chain -> {
                sent.incrementAndGet();
                return chain.proceed(chain.request());
            })
            .build();
    }

    static HttpServer control(int status, AtomicInteger seen) throws IOException {
        HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        s.createContext("/", ex -> {
            seen.incrementAndGet();
            ex.getRequestBody().readAllBytes();
            byte[] body = ("{\"Code\": " + status + "}").getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.sendResponseHeaders(status, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        s.start();
        return s;
    }

    static void check(boolean ok, String what) {
        System.out.println((ok ? "ok   " : "FAIL ") + what);
        if (!ok) System.exit(1);
    }

    public static void main(String[] args) throws Exception {
        String base = args[0], key = args[1], user = args[2], template = args[3], payload = args[4];
        String body = "{\"User\": " + quote(user) + ", \"Template\": " + quote(template)
            + ", \"PayLoad\": " + quote(payload) + "}";

        // 1. Our server: already enrolled, no OverWrite.
        AtomicInteger sent = new AtomicInteger();
        Request enroll = new Request.Builder()
            .url(base + "/api/kyc/enroll")
            .header("X-Api-Key", key)
            .post(RequestBody.create(JSON, body))
            .build();
        try (Response r = counting(sent).newCall(enroll).execute()) {
            String text = r.body().string();
            check(r.code() == 409, "smartid-server: HTTP status " + r.code() + " (409)");
            check(text.replace(" ", "").contains("\"Code\":408"), "smartid-server: body carries Code 408: " + text);
            check(sent.get() == 1, "smartid-server: request sent " + sent.get() + " time(s) (1)");
        }

        // 2. Control: a server answering HTTP 408 gets the same call twice.
        AtomicInteger seen408 = new AtomicInteger();
        HttpServer s408 = control(408, seen408);
        AtomicInteger sent408 = new AtomicInteger();
        String url408 = "http://127.0.0.1:" + s408.getAddress().getPort() + "/api/kyc/enroll";
        try (Response r = counting(sent408).newCall(
                new Request.Builder().url(url408).post(RequestBody.create(JSON, body)).build()).execute()) {
            r.body().string();
        }
        s408.stop(0);
        check(seen408.get() == 2, "control HTTP 408: OkHttp sent one call " + seen408.get() + " times (2: silent retry)");

        // 3. Control: a server answering HTTP 407 makes OkHttp throw instead of returning the body.
        AtomicInteger seen407 = new AtomicInteger();
        HttpServer s407 = control(407, seen407);
        String url407 = "http://127.0.0.1:" + s407.getAddress().getPort() + "/api/kyc/enroll";
        boolean threw = false;
        try (Response r = new OkHttpClient().newCall(
                new Request.Builder().url(url407).post(RequestBody.create(JSON, body)).build()).execute()) {
            r.body().string();
        } catch (ProtocolException e) {
            threw = true;
            System.out.println("     control HTTP 407: " + e.getMessage());
        }
        s407.stop(0);
        check(threw, "control HTTP 407: OkHttp throws ProtocolException, the body is never seen");
    }
}
