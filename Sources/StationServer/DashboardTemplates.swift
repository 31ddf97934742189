import Mustache

// The dashboard's pages as Mustache templates (swift-mustache), compiled into the executable: a
// `hub` binary copied anywhere serves its pages with nothing beside it. Every `{{name}}` is
// escaped for HTML by ``HTML/escape(_:)`` (scalar by scalar: a quote followed by a combining
// mark is still a quote to a browser); `{{{body}}}` in `page` is the only unescaped slot, and it
// takes what another template of this file rendered.

enum DashboardTemplates {
    /// The content type every template declares (see ``ScalarHTML``).
    static let contentType = "HTML_SCALARS"

    /// The templates by name, compiled once.
    static let library: MustacheLibrary = {
        MustacheContentTypes.register(ScalarHTML(), named: contentType)
        var library = MustacheLibrary()
        for (name, text) in sources {
            do {
                try library.register("{{% CONTENT_TYPE: \(contentType) }}" + text, named: name)
            } catch {
                fatalError("the dashboard template \(name) does not parse: \(error)")
            }
        }
        return library
    }()

    /// Renders `view` with the template `name`, inside the page layout with `title`.
    static func page(_ name: String, title: String, _ view: Any) -> String {
        let body = render(name, view)
        return render("page", PageView(title: title, style: style, body: body))
    }

    static func render(_ name: String, _ view: Any) -> String {
        guard let text = library.render(view, withTemplate: name) else { fatalError("no dashboard template \(name)") }
        return text
    }

    struct PageView {
        var title: String
        var style: String
        var body: String
    }

    /// HTML escaping by Unicode scalar (``HTML/escape(_:)``).
    struct ScalarHTML: MustacheContentType {
        func escapeText(_ text: String) -> String { HTML.escape(text) }
    }

    static let sources: [String: String] = [
        "page": """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}}</title>
        <style>
        {{{style}}}
        </style></head><body>
        {{{body}}}
        </body></html>
        """,
        "login": """
        <header><h1>StationSync hub</h1></header>
        <main><section><h2>Sign in</h2>
        {{#error}}<div class="flash error" id="login-error">{{.}}</div>{{/error}}
        <form method="post" action="/ui/login">
        <p>Operator token (made with <code>hub token add NAME --operator</code>):</p>
        <p><input type="password" name="token" id="token" autocomplete="off" autofocus> <button type="submit" id="sign-in">Sign in</button></p>
        </form></section></main>
        """,
        "refused": """
        <header><h1>StationSync hub</h1></header><main><section><h2>Refused</h2><p class="err" id="refused">This request did not come from the dashboard's own page. <a href="/ui">Back to the dashboard</a></p></section></main>
        """,
        "dashboard": """
        <header><h1>StationSync hub <span class="tag">{{node}}</span></h1>
        <form method="post" action="/ui/logout"><input type="hidden" name="csrf" value="{{csrf}}"><span>{{operatorName}}</span> <button class="secondary" type="submit">Sign out</button></form></header><main>
        {{#flash}}<div class="flash" id="flash">{{.}}</div>{{/flash}}
        <section id="stations"><h2>Stations</h2><p class="meta">Sorted <a id="sort-stations" href="{{sortLink}}">{{sortLabel}}</a> instead.</p><table><tr><th>Station</th><th>Last sync</th><th>Behind</th><th>Pushed here</th><th>Clock</th></tr>
        {{#stations}}
        <tr class="station" data-station="{{name}}"><td>{{name}}</td><td>{{lastSeen}}</td><td class="{{behindClass}}">{{behind}}</td><td>{{pushed}}</td><td class="{{clockClass}} clock">{{clock}}</td></tr>
        {{/stations}}
        </table><p class="meta">The hub's change feed is at #{{lastSequence}}.</p></section>
        {{#hasWriters}}
        <section id="writers"><h2>Station databases</h2><p class="meta">One database writes as each station; another one pushing as it is refused until it takes over (<code>station sync --take-over</code>).</p>
        <table><tr><th>Station</th><th>Database (writer)</th><th>Status</th><th>Since</th><th>Why</th><th>Refused pushes</th></tr>
        {{#writers}}
        <tr class="writer" data-writer="{{writer}}" data-status="{{status}}"><td>{{node}}</td><td>{{writer}}</td><td class="{{statusClass}}">{{status}}</td><td>{{since}}</td><td>{{why}}</td><td>{{refusals}}</td></tr>
        {{/writers}}
        </table></section>
        {{/hasWriters}}
        <section id="conflicts"><h2>Open conflicts ({{openCount}})</h2>
        <form method="get" action="/ui" id="conflict-filter" class="filter">
        <select name="collection" id="filter-collection"><option value="">every collection</option>{{#filterCollections}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/filterCollections}}</select>
        <select name="station" id="filter-station"><option value="">any station</option>{{#filterStations}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/filterStations}}</select>
        <select name="policy" id="filter-policy"><option value="">any policy</option>{{#filterPolicies}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/filterPolicies}}</select>
        <select name="age" id="filter-age"><option value="">any age</option>{{#filterAges}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/filterAges}}</select>
        <button type="submit" class="secondary" id="apply-filter">Filter</button>{{#filtered}} <a href="/ui" id="clear-filter">show all {{allOpenCount}}</a>{{/filtered}}
        </form>
        {{#acceptAll}}<form method="post" action="/ui/conflicts/accept-all" id="accept-all"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="collection" value="{{collection}}"><input type="hidden" name="station" value="{{station}}"><input type="hidden" name="policy" value="{{policy}}"><input type="hidden" name="age" value="{{age}}"><button type="submit">Accept every automatic decision in this filter ({{count}})</button></form>{{/acceptAll}}
        {{#pageNote}}<p class="meta" id="page-note">{{.}}{{#previousPage}} · <a href="{{.}}" id="previous-page">previous</a>{{/previousPage}}{{#nextPage}} · <a href="{{.}}" id="next-page">next</a>{{/nextPage}}</p>{{/pageNote}}
        {{^conflicts}}<p class="ok">No open conflicts{{#filtered}} in this filter{{/filtered}}.</p>{{/conflicts}}
        {{#conflicts}}
        <div class="conflict{{#automatic}} auto{{/automatic}}" id="conflict-{{conflictID}}" data-conflict="{{conflictID}}">
        <div><strong>{{collection}}/{{recordID}}</strong> · field <strong>{{field}}</strong><span class="tag">{{policy}}</span><span class="tag">{{kind}}</span><span class="meta"> id {{conflictID}}</span></div>
        <div class="meta">{{rule}}</div><div class="values">
        {{#values}}
        <div class="value{{#isDecision}} decision{{/isDecision}}" data-index="{{index}}"><div class="meta">[{{index}}] from <strong>{{station}}</strong>{{#author}} by <strong class="author">{{.}}</strong>{{/author}} · write {{dot}} · {{time}}{{#decisionNote}} · <strong>{{.}}</strong>{{/decisionNote}}</div>
        <pre>{{text}}</pre>
        {{#writable}}<form method="post" action="/ui/conflicts/{{conflictID}}/resolve"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="action" value="choose"><input type="hidden" name="index" value="{{index}}"><button type="submit" class="secondary">Keep this</button></form>{{/writable}}
        </div>
        {{/values}}
        </div>
        {{#writable}}
        <form method="post" action="/ui/conflicts/{{conflictID}}/resolve" style="display:inline"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="action" value="accept"><button type="submit">{{acceptLabel}}</button></form>
        {{#valueHint}}<form method="post" action="/ui/conflicts/{{conflictID}}/resolve" style="display:inline"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="action" value="value"><input type="text" name="value" placeholder="{{.}}"> <button type="submit" class="secondary">Write this value</button></form>{{/valueHint}}
        {{/writable}}
        {{^writable}}<p class="meta">Your token may not write {{collection}}: resolve it with an operator token that may.</p>{{/writable}}
        </div>
        {{/conflicts}}
        </section>
        <section id="resolved"><h2>Recently resolved</h2>
        {{^resolved}}<p class="meta">None yet.</p>{{/resolved}}
        {{#hasResolved}}<table><tr><th>Record</th><th>Field</th><th>How</th><th>By</th><th>When</th><th>Kept</th></tr>
        {{#resolved}}
        <tr class="resolved" data-conflict="{{conflictID}}"><td>{{collection}}/{{recordID}}</td><td>{{field}}</td><td>{{how}}</td><td>{{by}}</td><td>{{time}}</td><td>{{kept}}</td></tr>
        {{/resolved}}
        </table>{{/hasResolved}}
        </section>
        <section id="collections"><h2>Records per collection</h2><table><tr><th>Collection</th><th>Records</th><th>Deleted</th></tr>
        {{#collections}}
        <tr data-collection="{{name}}"><td>{{name}}</td><td>{{alive}}</td><td>{{deleted}}</td></tr>
        {{/collections}}
        </table></section></main>
        """,
    ]

    static let style = """
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
        form.filter{display:flex;gap:8px;flex-wrap:wrap;align-items:center;margin:0 0 10px}
        select{font-size:13px;padding:4px 6px;border:1px solid #c3c9d3;border-radius:5px}
        #accept-all{margin:0 0 10px}
        """
}
