import Foundation

/// Building HTML safely: every text goes through ``escape(_:)``.
enum HTML {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }

    /// A complete page with the dashboard's style; `body` is already-escaped HTML.
    static func page(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title))</title>
        <style>
        body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f5f6f8;color:#1d2430}
        header{background:#1f4e79;color:#fff;padding:14px 24px;display:flex;justify-content:space-between;align-items:center}
        header h1{font-size:20px;margin:0} header form{margin:0}
        main{padding:16px 24px;max-width:1200px}
        section{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:14px 18px;margin:0 0 18px}
        h2{font-size:17px;margin:0 0 10px}
        table{border-collapse:collapse;width:100%;font-size:14px}
        th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eceff3;vertical-align:top}
        th{color:#5b6576;font-weight:600}
        .conflict{border:1px solid #e3c07b;border-radius:8px;padding:10px 14px;margin:0 0 12px;background:#fffaf0}
        .conflict.auto{border-color:#b9cde6;background:#f6f9fd}
        .values{display:flex;gap:10px;flex-wrap:wrap;margin:8px 0}
        .value{flex:1;min-width:200px;border:1px solid #dde1e7;border-radius:6px;padding:8px;background:#fff}
        .value.decision{border-color:#2e7d32;box-shadow:0 0 0 1px #2e7d32 inset}
        .value pre{white-space:pre-wrap;word-break:break-word;margin:4px 0;font-size:14px}
        .meta{color:#5b6576;font-size:12px}
        .tag{display:inline-block;font-size:12px;padding:1px 6px;border-radius:10px;background:#eceff3;color:#1d2430;margin-left:6px}
        header .tag{background:rgba(255,255,255,.2);color:#fff}
        .ok{color:#2e7d32} .warn{color:#b26a00} .err{color:#c62828}
        button{font-size:13px;padding:4px 10px;border-radius:5px;border:1px solid #1f4e79;background:#1f4e79;color:#fff;cursor:pointer}
        button.secondary{background:#fff;color:#1f4e79}
        input[type=text],input[type=password]{font-size:14px;padding:5px 8px;border:1px solid #c3c9d3;border-radius:5px;min-width:260px}
        .flash{padding:8px 12px;border-radius:6px;background:#e8f5e9;border:1px solid #a5d6a7;margin-bottom:14px}
        .flash.error{background:#ffebee;border-color:#ef9a9a}
        </style></head><body>
        \(body)
        </body></html>
        """
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
