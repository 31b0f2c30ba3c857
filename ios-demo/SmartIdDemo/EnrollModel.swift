import Foundation
import SmartId

/// One enrollment: optionally a capture token from the backend, the capture (the SDK's camera screen),
/// then optionally the sealed pair posted to the backend.
@MainActor
final class EnrollModel: ObservableObject {
    @Published private(set) var prompt = ""
    @Published private(set) var status = "Ready"
    @Published private(set) var isRunning = false
    @Published private(set) var templateBytes: Int?
    @Published private(set) var payloadBytes: Int?
    @Published private(set) var backendResult: String?

    func enroll(user: String, backendURL: String, apiKey: String) {
        guard !isRunning else { return }
        isRunning = true
        templateBytes = nil
        payloadBytes = nil
        backendResult = nil
        prompt = ""
        let trimmedURL = backendURL.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmedURL.isEmpty else {
            capture(token: nil, user: user, backend: nil)
            return
        }
        guard let url = URL(string: trimmedURL), url.scheme == "https" || url.scheme == "http" else {
            finish("The backend URL is not an http(s) URL")
            return
        }
        let backend = DemoBackend(baseURL: url, apiKey: apiKey)
        status = "Asking the backend for a capture token…"
        Task {
            do {
                let token = try await backend.captureToken(user: user)
                capture(token: token, user: user, backend: backend)
            } catch {
                finish("No capture token: \(error.localizedDescription)")
            }
        }
    }

    /// The enrollment guide's call. `captureToken` (the server's challenges, accepted once) and
    /// `onGuidance` (the prompt line under the button) are the two optional links added to it.
    private func capture(token: String?, user: String, backend: DemoBackend?) {
        status = "Capturing…"
        let request = SID.shared.captureBiometric()
        if let token {
            request.captureToken(token)
        }
        request.onGuidance { @Sendable guidance in
            // Called on the capture thread (so not main-actor isolated): hop to the main queue.
            DispatchQueue.main.async { [weak self] in
                self?.prompt = SIDCaptureViewController.text(for: guidance.prompt)
            }
        }
        request
            .onSuccess(success: { [weak self] template, payload in
                // Forward both (here: show their sizes, and post them if a backend is set).
                guard let self else { return }
                self.templateBytes = template.utf8.count
                self.payloadBytes = payload.utf8.count
                guard let backend else {
                    self.finish("Sealed")
                    return
                }
                self.status = "Posting to the backend…"
                Task {
                    do {
                        let reply = try await backend.enroll(user: user, template: template, payload: payload)
                        self.backendResult = reply.summary
                        self.finish("Done")
                    } catch {
                        self.finish("The backend did not answer: \(error.localizedDescription)")
                    }
                }
            })
            .onFailure(failure: { [weak self] message, errorCode in
                // Offer a retry (5002: a challenge was not done; 5005: cancelled; 6001: the device's
                // environment is refused; docs/error-codes.md).
                self?.finish("Failed (\(errorCode)): \(message)")
            })
            .start()
    }

    private func finish(_ text: String) {
        status = text
        isRunning = false
    }
}
