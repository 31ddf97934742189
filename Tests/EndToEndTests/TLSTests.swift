import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `hub serve --tls-cert --tls-key` and `station sync --ca-file`: HTTPS with certificates made
/// in the test by the `openssl` command-line tool (skipped when it is not installed).
@Suite("HTTPS", .enabled(if: TLSFixture.openssl != nil, "the openssl command-line tool is not installed: HTTPS tests skipped"))
struct TLSTests {
    @Test(
        "Sync over HTTPS works with --ca-file; without it, with a CA that did not sign the certificate, or over http:// it fails and changes nothing")
    func syncOverHTTPS() async throws {
        try await withCluster(["hotline"], startHub: false) { cluster in
            let certs = try await TLSFixture.make(in: cluster.dir)
            let hub = try await TLSFixture.serveHub(cluster, cert: certs.serverCert, key: certs.serverKey)
            let station = cluster["hotline"]
            try await station.put("residents", "res-0001", ["fullName": "Li Na", "neighbourhood": "East"])
            let https = "https://127.0.0.1:\(hub.port)"
            let hubBefore = try await cluster.hubDB.changes()

            // The system's trust store does not know this CA: verification fails, nothing moves.
            let untrusted = try await station.trySync(peer: https)
            #expect(!untrusted.succeeded, "sync trusted an unknown CA without --ca-file:\n\(untrusted)")
            #expect(TLSFixture.mentionsTLS(untrusted.stderr), "the failure should name the certificate/TLS problem:\n\(untrusted)")

            // A CA that did not sign the server's certificate is no better.
            let wrongCA = try await station.trySync(peer: https, extra: ["--ca-file", certs.otherCA])
            #expect(!wrongCA.succeeded, "sync accepted a certificate its --ca-file did not sign:\n\(wrongCA)")
            #expect(TLSFixture.mentionsTLS(wrongCA.stderr), "the failure should name the certificate/TLS problem:\n\(wrongCA)")

            // Plain HTTP to the HTTPS port fails cleanly (no hang, no crash).
            let plain = try await station.trySync(peer: "http://127.0.0.1:\(hub.port)")
            #expect(!plain.succeeded && !plain.signaled, "plain http to the https port:\n\(plain)")
            #expect(plain.stderr.contains("error"), "\(plain)")

            #expect(try await cluster.hubDB.changes() == hubBefore, "a failed TLS sync changed the hub's data")
            #expect(try await cluster.hubDB.find("residents", "res-0001") == nil)

            // With the right CA it syncs and the record reaches the hub.
            let ok = try await station.trySync(peer: https, extra: ["--ca-file", certs.ca])
            try #require(ok.succeeded, "sync with --ca-file failed:\n\(ok)")
            let summary = SyncSummary(raw: try JSON.object(ok.stdout))
            #expect(summary.pushed == 1, "\(summary)")
            let atHub = try #require(try await cluster.hubDB.find("residents", "res-0001"), "the record did not reach the hub")
            #expect(atHub.fields["fullName"] as? String == "Li Na", "\(atHub)")

            // The hub also answers to its DNS name.
            let byName = try await station.trySync(peer: "https://localhost:\(hub.port)", extra: ["--ca-file", certs.ca])
            #expect(byName.succeeded, "sync via https://localhost failed:\n\(byName)")
        }
    }

    @Test("hub serve refuses --tls-cert without --tls-key, and a missing or non-PEM file, with one clear line")
    func serveRejectsBadTLSOptions() async throws {
        try await withCluster([], startHub: false) { cluster in
            let certs = try await TLSFixture.make(in: cluster.dir)
            let db = cluster.hub.db
            let alone = try await cluster.hub.run(["serve", "--db", db, "--listen", "127.0.0.1:0", "--tls-cert", certs.serverCert])
            #expect(!alone.succeeded && alone.stderr.contains("--tls-key"), "\(alone)")

            let missing = try await cluster.hub.run(
                ["serve", "--db", db, "--listen", "127.0.0.1:0", "--tls-cert", cluster.path("nope.pem"), "--tls-key", certs.serverKey])
            #expect(missing.status == 1 && !missing.signaled, "\(missing)")
            #expect(missing.stderr.contains("nope.pem") && missing.stderr.contains("does not exist"), "\(missing)")

            let notPEM = try await cluster.hub.run(
                ["serve", "--db", db, "--listen", "127.0.0.1:0", "--tls-cert", certs.extensions, "--tls-key", certs.serverKey])
            #expect(notPEM.status == 1 && notPEM.stderr.contains("no valid PEM certificate"), "\(notPEM)")
            for result in [missing, notPEM] {
                #expect(!result.stdout.contains("listening on"), "\(result)")
            }
        }
    }
}

/// Certificates made with `openssl`, and `hub serve` over HTTPS.
enum TLSFixture {
    static let openssl: String? = {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        return (dirs + ["/usr/bin", "/usr/local/bin"]).map { $0 + "/openssl" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    struct Files {
        var ca: String
        var otherCA: String
        var serverCert: String
        var serverKey: String
        var extensions: String
    }

    /// A CA, a server certificate for 127.0.0.1 and localhost signed by it, and a second,
    /// unrelated CA.
    static func make(in dir: String) async throws -> Files {
        let files = Files(
            ca: dir + "/ca.pem", otherCA: dir + "/other-ca.pem", serverCert: dir + "/server.pem", serverKey: dir + "/server.key",
            extensions: dir + "/server.ext")
        try
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
            .write(toFile: files.extensions, atomically: true, encoding: .utf8)
        try await run(
            dir,
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                "-subj", "/CN=StationSync Test CA",
            ])
        try await run(
            dir,
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other-ca.key", "-out", "other-ca.pem", "-days", "2",
                "-subj", "/CN=StationSync Other CA",
            ])
        try await run(dir, ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"])
        try await run(
            dir,
            [
                "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "server.pem", "-days", "2", "-extfile", "server.ext",
            ])
        return files
    }

    private static func run(_ dir: String, _ arguments: [String]) async throws {
        let result = try await Command.run(try #require(openssl), arguments, directory: dir, timeout: 60)
        try #require(result.succeeded, "openssl failed:\n\(result)")
    }

    /// `hub serve --tls-cert --tls-key --listen 127.0.0.1:0`, waited for until it prints
    /// `listening on https://127.0.0.1:PORT` (the harness's health check speaks plain HTTP).
    static func serveHub(_ cluster: Cluster, cert: String, key: String) async throws -> (process: ManagedProcess, port: Int) {
        let process = try cluster.launch(
            "hub-tls", executable: try Binaries.hub,
            ["serve", "--db", cluster.hub.db, "--listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key])
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let out = process.stdout
            if let range = out.range(of: "listening on https://127.0.0.1:") {
                let digits = out[range.upperBound...].prefix { $0.isNumber }
                if out[range.upperBound...].dropFirst(digits.count).first?.isNewline == true, let port = Int(digits) {
                    return (process, port)
                }
            }
            if !process.isRunning { throw HarnessError("\(process.command) exited before listening:\n\(process.result)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        await process.stop(with: SIGKILL)
        throw HarnessError("\(process.command) printed no `listening on https://` line within 30 s:\n\(process.result)")
    }

    static func mentionsTLS(_ stderr: String) -> Bool {
        let text = stderr.lowercased()
        return text.contains("certificate") || text.contains("tls") || text.contains("ssl")
    }
}
