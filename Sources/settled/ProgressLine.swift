import Foundation
import SettleRuntime

/// A one-line progress display on standard error: redrawn in place on a terminal, a plain line every few
/// seconds otherwise (so logs of a long replay in CI still show it moving).
final class ProgressLine: @unchecked Sendable {
    // @unchecked Sendable: all state is behind `lock`.
    private let lock = NSLock()
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private var lastPlain = Date.distantPast
    private var drawn = false

    func update(fraction: Double, _ text: String) {
        lock.lock()
        defer { lock.unlock() }
        if isTerminal {
            let width = 30
            let filled = Int((max(0, min(1, fraction)) * Double(width)).rounded())
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            FileHandle.standardError.write(Data("\r\u{1B}[K\(bar) \(String(format: "%5.1f", fraction * 100))% \(text)".utf8))
            drawn = true
        } else if Date().timeIntervalSince(lastPlain) >= 2 || fraction >= 1 {
            lastPlain = Date()
            FileHandle.standardError.write(Data("progress \(String(format: "%.1f", fraction * 100))% \(text)\n".utf8))
        }
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
        drawn = false
    }
}
