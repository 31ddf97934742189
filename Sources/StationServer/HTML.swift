import Foundation

/// Building HTML safely: every text goes through ``escape(_:)`` (the dashboard's templates too).
enum HTML {
    /// `text` with `&`, `<`, `>`, `"` and `'` escaped. By Unicode scalar, not by Character:
    /// a quote followed by a combining mark is one Character to Swift (not equal to `"`) but
    /// still a quote to a browser, and would end an attribute.
    static func escape(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out.append(contentsOf: "&amp;".unicodeScalars)
            case "<": out.append(contentsOf: "&lt;".unicodeScalars)
            case ">": out.append(contentsOf: "&gt;".unicodeScalars)
            case "\"": out.append(contentsOf: "&quot;".unicodeScalars)
            case "'": out.append(contentsOf: "&#39;".unicodeScalars)
            default: out.append(scalar)
            }
        }
        return String(out)
    }

    /// Parses an `application/x-www-form-urlencoded` body.
    static func form(_ body: [UInt8]) -> [String: String] {
        var result: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ") }
            guard let key = parts.first?.removingPercentEncoding else { continue }
            result[key] = parts.count > 1 ? (parts[1].removingPercentEncoding ?? "") : ""
        }
        return result
    }
}
