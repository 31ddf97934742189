import Testing

@testable import StationServer

@Suite("Dashboard templates")
struct DashboardTemplateTests {
    @Test("Escaping is by scalar: a quote followed by a combining mark is still escaped, in the templates too")
    func aQuoteWithACombiningMarkIsEscaped() {
        let hostile = "x\"\u{301} onmouseover=alert(1) <\u{301}script>&'"
        let escaped = HTML.escape(hostile)
        #expect(!escaped.unicodeScalars.contains("\"") && !escaped.unicodeScalars.contains("<") && !escaped.unicodeScalars.contains("'"))
        #expect(escaped == "x&quot;\u{301} onmouseover=alert(1) &lt;\u{301}script&gt;&amp;&#39;")
        let page = Dashboard.loginPage(error: hostile)
        #expect(page.contains(escaped) && !page.contains(hostile))
    }

    @Test("Every template parses and the page wraps what it renders")
    func everyTemplateRenders() {
        #expect(Set(DashboardTemplates.sources.keys) == ["page", "login", "refused", "dashboard"])
        let refused = DashboardTemplates.page("refused", title: "t <1>", [String: String]())
        #expect(refused.hasPrefix("<!DOCTYPE html>") && refused.contains("<title>t &lt;1&gt;</title>") && refused.contains("id=\"refused\""))
    }
}
