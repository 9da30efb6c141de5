import Foundation
import Testing

/// The http source behind Debian's nginx terminating TLS, configured as docs/http.md says
/// (`client_max_body_size` at least `max_body_bytes`, HTTP/1.1 keep-alive to cjmd): SDK
/// requests over HTTPS are stored, and the answers pass through unchanged.
@Suite(
    .enabled(
        if: ProcessInfo.processInfo.environment["CJM_TEST_DATABASE_URL"] != nil
            && FileManager.default.isExecutableFile(atPath: "/usr/sbin/nginx")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"),
        "needs nginx and openssl (scripts/ensure-deps.sh --tests)"))
struct NginxProxyTests {
    /// An nginx in a temporary directory, proxying `https://127.0.0.1:port` to `upstream`.
    final class Nginx {
        let directory: URL
        let port = freeTCPPort()
        let process = Process()

        init(upstream: String) throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("cjmd-nginx-\(UUID().uuidString)")
            for sub in ["", "temp"] {
                try FileManager.default.createDirectory(
                    at: directory.appendingPathComponent(sub), withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o777])
            }
            let path = directory.path
            #expect(
                try Self.run(
                    "/usr/bin/openssl",
                    [
                        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", "\(path)/key.pem", "-out",
                        "\(path)/cert.pem",
                    ]) == 0)
            let configuration = """
                worker_processes 1;
                daemon off;
                pid \(path)/nginx.pid;
                error_log \(path)/error.log warn;
                events { worker_connections 64; }
                http {
                    access_log off;
                    client_body_temp_path \(path)/temp/body;
                    proxy_temp_path \(path)/temp/proxy;
                    fastcgi_temp_path \(path)/temp/fastcgi;
                    uwsgi_temp_path \(path)/temp/uwsgi;
                    scgi_temp_path \(path)/temp/scgi;
                    upstream cjmd {
                        server \(upstream);
                        keepalive 16;
                    }
                    server {
                        listen 127.0.0.1:\(port) ssl;
                        ssl_certificate \(path)/cert.pem;
                        ssl_certificate_key \(path)/key.pem;
                        # At least the source's max_body_bytes, or nginx answers 413 itself.
                        client_max_body_size 8m;
                        location / {
                            proxy_pass http://cjmd;
                            proxy_http_version 1.1;
                            proxy_set_header Connection "";
                            proxy_read_timeout 30s;
                        }
                    }
                }
                """
            try configuration.write(
                to: directory.appendingPathComponent("nginx.conf"), atomically: true, encoding: .utf8)
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/nginx")
            process.arguments = ["-p", path, "-c", "\(path)/nginx.conf"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        var certificate: String { directory.appendingPathComponent("cert.pem").path }

        deinit {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
            try? FileManager.default.removeItem(at: directory)
        }

        static func run(_ path: String, _ arguments: [String]) throws -> Int32 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    @Test func sdkRequestsOverTLSThroughNginxAreStored() throws {
        let (daemon, base) = try HTTPSourceTests.daemon(maxBodyBytes: "8MiB")
        defer { _ = daemon.terminate() }
        let nginx = try Nginx(upstream: String(base.dropFirst("http://".count)))
        let url = "https://127.0.0.1:\(nginx.port)/v1/batch"
        let batch = HTTPSourceTests.segmentBatch(customers: 0..<30, tag: "tls")
        var answer = HTTPPost.Answer(status: 0, body: "", headers: "")
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            answer = try HTTPPost.send(
                url, body: batch.body, headers: [], gzip: true, user: HTTPSourceTests.key,
                extraArguments: ["--cacert", nginx.certificate])
            if answer.status != 0, answer.status != 502 { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(answer.status == 200, "\(answer.body)")
        #expect(answer.body == #"{"success": true}"#)
        #expect(try HTTPSourceTests.count(daemon, "SELECT count(*) FROM cjm.events") == batch.events)
        // cjmd's own answers pass through: a wrong key is still a 401 with its JSON body.
        let refused = try HTTPPost.send(
            url, body: batch.body, user: "wrong", extraArguments: ["--cacert", nginx.certificate])
        #expect(refused.status == 401)
        #expect(refused.body.contains(#""code": "unauthorized""#))
        // A repeat over the same proxy is a duplicate.
        let again = try HTTPPost.send(
            url, body: batch.body, gzip: true, user: HTTPSourceTests.key,
            extraArguments: ["--cacert", nginx.certificate])
        #expect(again.status == 200)
        #expect(try HTTPSourceTests.count(daemon, "SELECT count(*) FROM cjm.events") == batch.events)
    }
}
