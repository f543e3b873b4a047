import Transport

/// Recognises the ways providers say "that `eth_getLogs` range is too big", and the range they suggest.
///
/// Seen in the wild: `query returned more than 10000 results. Try with this block range [0x…, 0x…].`
/// (geth-style providers, code -32005), `Log response size exceeded. You can make eth_getLogs requests with up to
/// a 2K block range …` (-32602/-32000), `block range is too wide`, `exceed maximum block range: 5000`,
/// `response size should not greater than …`, timeouts and oversized bodies at the transport.
enum LogRangeAdvice: Equatable {
    /// Shrink to this inclusive range the provider proposed.
    case suggested(from: UInt64, to: UInt64)
    /// Shrink (halve) the range.
    case shrink
    /// Not a range problem.
    case none

    init(_ error: RPCError) {
        switch error {
        case .server(let code, let message, _):
            let lower = message.lowercased()
            if let range = Self.suggestedRange(in: message) {
                self = .suggested(from: range.0, to: range.1)
            } else if code == -32005 || lower.contains("more than") || lower.contains("too many") || lower.contains("range")
                        || lower.contains("response size") || lower.contains("limit exceeded") || lower.contains("query timeout") {
                self = .shrink
            } else {
                self = .none
            }
        case .transport(let transport):
            self = (transport.code == .timedOut || transport.code == .responseTooLarge) ? .shrink : .none
        case .malformedResponse:
            self = .none
        }
    }

    /// Parses `[0xA, 0xB]` (hex) from an error message.
    static func suggestedRange(in message: String) -> (UInt64, UInt64)? {
        guard let open = message.firstIndex(of: "["), let close = message[open...].firstIndex(of: "]") else { return nil }
        let parts = message[message.index(after: open)..<close].split(separator: ",").map { $0.trimmingSpaces() }
        guard parts.count == 2, parts.allSatisfy({ $0.hasPrefix("0x") }),
              let from = UInt64(parts[0].dropFirst(2), radix: 16), let to = UInt64(parts[1].dropFirst(2), radix: 16), from <= to
        else { return nil }
        return (from, to)
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}
