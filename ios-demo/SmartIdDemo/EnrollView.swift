import SmartId
import SwiftUI

/// The demo's one screen: the Enroll button, the current prompt, the result, and the optional backend.
struct EnrollView: View {
    let setupProblem: String?

    @StateObject private var model = EnrollModel()
    @AppStorage("backendURL") private var backendURL = ""
    @AppStorage("apiKey") private var apiKey = ""
    @AppStorage("user") private var user = "customer-0001"

    var body: some View {
        NavigationView {
            Form {
                if let setupProblem {
                    Section(header: Text("Setup")) {
                        Text(setupProblem).foregroundColor(.red)
                    }
                }
                Section {
                    Button("Enroll") {
                        model.enroll(user: user, backendURL: backendURL, apiKey: apiKey)
                    }
                    .disabled(setupProblem != nil || model.isRunning)
                    if !model.prompt.isEmpty {
                        Text(model.prompt).font(.headline)
                    }
                    Text(model.status).foregroundColor(.secondary)
                }
                if let template = model.templateBytes, let payload = model.payloadBytes {
                    Section(header: Text("Sealed capture")) {
                        Text("Template: \(template) bytes")
                        Text("Payload: \(payload) bytes")
                    }
                }
                if let backendResult = model.backendResult {
                    Section(header: Text("Backend")) {
                        Text(backendResult)
                    }
                }
                Section(header: Text("Backend (optional)"),
                        footer: Text("Empty URL: the capture is only sealed, not sent. The API key belongs to the bank's backend, never to a shipped app: this demo posts directly for testing only.")) {
                    TextField("https://server:8080", text: $backendURL)
                        .keyboardType(.URL)
                        .textInputAutocapitalization(.never)
                        .disableAutocorrection(true)
                    SecureField("X-Api-Key", text: $apiKey)
                    TextField("User", text: $user)
                        .textInputAutocapitalization(.never)
                        .disableAutocorrection(true)
                }
            }
            .navigationTitle("SmartId")
        }
        .navigationViewStyle(.stack)
    }
}
