import CCurl
import CCurlShim
import Foundation

enum CurlGlobal {
    static let initResult: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))
}

/// What libcurl's callbacks collect during one transfer. Passed to them as an unretained
/// userdata pointer; the request keeps it alive for the duration of curl_easy_perform.
final class Transfer {
    let limit: Int
    var body: [UInt8] = []
    var headers: [String: String] = [:]
    var lastHeaderName: String?
    var exceeded = false

    init(limit: Int) { self.limit = limit }

    static let writeCallback: curl_write_callback = { data, size, count, userdata in
        guard let userdata else { return 0 }
        let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
        let n = size * count
        guard n > 0, let data else { return n }
        if n > transfer.limit - transfer.body.count {
            transfer.exceeded = true
            return 0  // abort: CURLE_WRITE_ERROR
        }
        transfer.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: n))
        return n
    }

    static let headerCallback: curl_write_callback = { data, size, count, userdata in
        guard let userdata else { return 0 }
        let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
        let n = size * count
        guard n > 0, let data else { return n }
        let line = String(decoding: UnsafeRawBufferPointer(start: data, count: n), as: UTF8.self)
        transfer.header(line)
        return n
    }

    func header(_ rawLine: String) {
        var line = Substring(rawLine)
        while let last = line.last, last.isNewline { line = line.dropLast() }  // "\r\n" is one Character
        if line.isEmpty { return }
        if line.hasPrefix("HTTP/") {
            // A new response (after a 1xx, or any status line): forget the previous one.
            headers = [:]
            body = []
            lastHeaderName = nil
            return
        }
        if line.first == " " || line.first == "\t" {
            // Obsolete line folding: continues the previous header's value.
            if let name = lastHeaderName, let previous = headers[name] {
                headers[name] = previous + " " + line.trimmingCharacters(in: .whitespaces)
            }
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { return }
        headers[name] = value
        lastHeaderName = name
    }
}
