import Foundation

/// Writing to the terminal: stdout for results, stderr for errors, hints and progress.
public enum Terminal {
    /// The running program's name (`station`, `hub`), for messages.
    public static let program = (CommandLine.arguments.first.map { ($0 as NSString).lastPathComponent }) ?? "station"

    public static func printError(_ message: String) {
        FileHandle.standardError.write(Data("\(program): error: \(message)\n".utf8))
    }

    /// A warning on stderr: something the user should act on, the command still succeeded.
    public static func warn(_ message: String) {
        FileHandle.standardError.write(Data("\(program): warning: \(message)\n".utf8))
    }

    public static func hint(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    /// Whether stderr is a terminal (progress bars only then).
    public static var stderrIsTerminal: Bool { isatty(2) == 1 }
    /// Whether stdout is a terminal.
    public static var stdoutIsTerminal: Bool { isatty(1) == 1 }

    /// Width of the terminal, or 100 when not a terminal.
    public static var width: Int {
        var size = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 20 { return Int(size.ws_col) }
        return 100
    }
}

/// A progress bar on stderr, drawn only when stderr is a terminal.
public struct ProgressBar {
    public let total: Int
    public let label: String
    public let enabled = Terminal.stderrIsTerminal
    private var lastDrawn = -1

    public init(total: Int, label: String) {
        self.total = max(total, 1)
        self.label = label
    }

    public mutating func update(_ done: Int) {
        guard enabled else { return }
        let percent = min(100, done * 100 / total)
        guard percent != lastDrawn else { return }
        lastDrawn = percent
        let width = 30
        let filled = percent * width / 100
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(percent)% \(done)/\(total)".utf8))
    }

    public func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
    }
}
