import Foundation

/// The two calls of the reference server (docs/server.md, docs/openapi.yaml) the demo makes. Answers
/// carry the guide's code in the body's `Code`: the demo branches on it, not on the HTTP status.
struct DemoBackend {
    let baseURL: URL
    let apiKey: String

    struct Reply: Decodable {
        let code: Int
        let message: String?
        let reason: String?
        let captureToken: String?

        enum CodingKeys: String, CodingKey {
            case code = "Code", message = "Message", reason = "Reason", captureToken = "CaptureToken"
        }

        var summary: String {
            "Code \(code): \(message ?? "")" + (reason.map { " (\($0))" } ?? "")
        }
    }

    struct Refused: LocalizedError {
        let reply: Reply
        var errorDescription: String? { reply.summary }
    }

    /// `POST /api/kyc/session {User}`: a one-time capture token for this user.
    func captureToken(user: String) async throws -> String {
        let reply = try await post("api/kyc/session", body: ["User": user])
        guard reply.code == 200, let token = reply.captureToken else { throw Refused(reply: reply) }
        return token
    }

    /// `POST /api/kyc/enroll {User, Template, PayLoad, OverWrite}`.
    func enroll(user: String, template: String, payload: String) async throws -> Reply {
        try await post("api/kyc/enroll",
                       body: ["User": user, "Template": template, "PayLoad": payload, "OverWrite": "true"])
    }

    private func post(_ path: String, body: [String: String]) async throws -> Reply {
        var request = URLRequest(url: baseURL.appendingPathComponent(path))
        request.httpMethod = "POST"
        request.timeoutInterval = 30
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue(apiKey, forHTTPHeaderField: "X-Api-Key")
        request.httpBody = try JSONEncoder().encode(body)
        let (data, _) = try await URLSession.shared.data(for: request)
        return try JSONDecoder().decode(Reply.self, from: data)
    }
}
